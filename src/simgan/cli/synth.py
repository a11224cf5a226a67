"""`simgan synth ...`: render synthetic datasets with the built-in simulators."""

from __future__ import annotations

import argparse
import sys
import time

from simgan.cli._common import (
    add_output,
    add_overwrite,
    add_quiet,
    add_seed,
    add_subcommands,
    option_values,
    parse_size,
    positive_int,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan synth eyes|digits`."""
    s = add_subcommands(
        sub, "synth", help="render a synthetic dataset (eyes, digits)", metavar="KIND"
    )

    q = s.add_parser(
        "eyes",
        help="grayscale eye patches with exact gaze, landmark and head-pose labels",
        description="Procedural eye patches in the style of UnityEyes: the iris moves and "
        "foreshortens with gaze, the eyelids follow it. Gaze in the MPIIGaze normalized "
        "frame, default pitch -35..15 and yaw -35..35 degrees. The same seed gives the same "
        "file, byte for byte in its images and labels.",
    )
    _count_out_seed(q)
    q.add_argument("--size", type=parse_size, default=(35, 55), help="HEIGHTxWIDTH (default 35x55)")
    _add_range(q, "--pitch-range", "gaze pitch range in degrees, up is positive (default -35 15)")
    _add_range(
        q,
        "--yaw-range",
        "gaze yaw range in degrees, toward the image's left is positive (default -35 35)",
    )
    q.add_argument(
        "--chunk", type=positive_int, default=4096, help="images per write (default 4096)"
    )
    q.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="render threads (default: the free cores, the CPUs less the 1-minute load)",
    )
    add_quiet(q)
    add_overwrite(q)
    q.set_defaults(func=cmd_eyes)

    q = s.add_parser(
        "digits",
        help="8x8 digits rendered from fonts, processed like the UCI scans",
    )
    _count_out_seed(q)
    add_overwrite(q)
    q.set_defaults(func=cmd_digits)


def _count_out_seed(q: argparse.ArgumentParser) -> None:
    q.add_argument("--count", type=positive_int, required=True, help="number of images")
    add_output(q, help="dataset file to write (.h5)")
    add_seed(q, help="random stream (default 0)")


def _add_range(q: argparse.ArgumentParser, option: str, help: str) -> None:
    """An optional LO HI pair of degrees (None when not given)."""
    q.add_argument(option, type=float, nargs=2, metavar=("LO", "HI"), default=None, help=help)


def cmd_eyes(args: argparse.Namespace) -> int:
    """Render synthetic eyes into a dataset file, with a progress bar on a terminal."""
    from simgan.atomic import check_output_path
    from simgan.data.eyes import PITCH_RANGE_DEG, YAW_RANGE_DEG, write_synthetic_eyes

    check_output_path(args.out, args.overwrite)  # fail before any rendering
    bar = None
    if not args.quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=args.count, unit="img", desc="synth eyes")

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    start = time.perf_counter()
    try:
        path = write_synthetic_eyes(
            args.out,
            args.count,
            **option_values(args, "seed", "size", "overwrite", "chunk", "workers"),
            pitch_range=tuple(args.pitch_range or PITCH_RANGE_DEG),
            yaw_range=tuple(args.yaw_range or YAW_RANGE_DEG),
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    h, w = args.size
    print(
        f"wrote {path}: {args.count} eyes {h}x{w}, seed {args.seed}, "
        f"{seconds:.1f} s ({args.count / max(seconds, 1e-9):.0f} images/s)"
    )
    return 0


def cmd_digits(args: argparse.Namespace) -> int:
    """Render synthetic digits into a dataset file."""
    from simgan.atomic import check_output_path
    from simgan.data.digits import write_synthetic_digits

    check_output_path(args.out, args.overwrite)
    path = write_synthetic_digits(args.out, args.count, seed=args.seed, overwrite=args.overwrite)
    print(f"wrote {path}: {args.count} synthetic digits, seed {args.seed}")
    return 0
