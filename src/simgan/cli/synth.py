"""`simgan synth ...`: render synthetic datasets with the built-in simulators."""

from __future__ import annotations

import argparse
import sys
import time

from simgan.cli._common import add_overwrite, parse_size, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="render a synthetic dataset (eyes, digits)")
    s = p.add_subparsers(dest="synth_command", metavar="KIND", required=True)

    q = s.add_parser(
        "eyes",
        help="grayscale eye patches with exact gaze, landmark and head-pose labels",
        description="Procedural eye patches in the style of UnityEyes: the iris moves and "
        "foreshortens with gaze, the eyelids follow it. Gaze in the MPIIGaze normalized "
        "frame, default pitch -35..15 and yaw -35..35 degrees. The same seed gives the same "
        "file, byte for byte in its images and labels.",
    )
    q.add_argument("--count", type=positive_int, required=True, help="number of images")
    q.add_argument("-o", "--out", required=True, help="dataset file to write (.h5)")
    q.add_argument("--seed", type=int, default=0, help="random stream (default 0)")
    q.add_argument("--size", type=parse_size, default=(35, 55), help="HEIGHTxWIDTH (default 35x55)")
    q.add_argument(
        "--pitch-range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=None,
        help="gaze pitch range in degrees, up is positive (default -35 15)",
    )
    q.add_argument(
        "--yaw-range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=None,
        help="gaze yaw range in degrees, toward the image's left is positive (default -35 35)",
    )
    q.add_argument(
        "--chunk", type=positive_int, default=4096, help="images per write (default 4096)"
    )
    q.add_argument("--workers", type=positive_int, default=None, help="render threads")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    add_overwrite(q)
    q.set_defaults(func=cmd_eyes)

    q = s.add_parser(
        "digits",
        help="8x8 digits rendered from fonts, processed like the UCI scans",
    )
    q.add_argument("--count", type=positive_int, required=True, help="number of images")
    q.add_argument("-o", "--out", required=True, help="dataset file to write (.h5)")
    q.add_argument("--seed", type=int, default=0, help="random stream (default 0)")
    add_overwrite(q)
    q.set_defaults(func=cmd_digits)


def cmd_eyes(args: argparse.Namespace) -> int:
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
            seed=args.seed,
            size=args.size,
            overwrite=args.overwrite,
            chunk=args.chunk,
            pitch_range=tuple(args.pitch_range or PITCH_RANGE_DEG),
            yaw_range=tuple(args.yaw_range or YAW_RANGE_DEG),
            workers=args.workers,
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
    from simgan.atomic import check_output_path
    from simgan.data.digits import write_synthetic_digits

    check_output_path(args.out, args.overwrite)
    path = write_synthetic_digits(args.out, args.count, seed=args.seed, overwrite=args.overwrite)
    print(f"wrote {path}: {args.count} synthetic digits, seed {args.seed}")
    return 0
