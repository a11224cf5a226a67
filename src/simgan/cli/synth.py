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
from simgan.errors import SimganError

FIT_IMAGES = 3000  # real patches the --like fit measures (a random subset of larger sets)
FIT_RENDERS = 200  # eyes rendered for each profile the fit tries


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
        "frame. The defaults are calibrated to MPIIGaze's normalized patches (both eye "
        "sides, equalized, gaze pitch -20..0 and yaw -12..12 degrees); --like fits them to "
        "your own unlabeled real set, --profile reuses a fit. The same seed and profile give "
        "the same file, byte for byte in its images and labels.",
    )
    _count_out_seed(q)
    q.add_argument(
        "--size",
        type=parse_size,
        default=None,
        help="HEIGHTxWIDTH (default 35x55, or the --like set's size)",
    )
    q.add_argument("--profile", metavar="FILE", default=None, help="eye profile JSON to draw from")
    q.add_argument(
        "--like",
        metavar="REAL.h5",
        default=None,
        help="fit the profile to this unlabeled real dataset first (simgan import ...); "
        "prints the fitted settings and the distance before and after",
    )
    q.add_argument(
        "--save-profile",
        metavar="FILE",
        default=None,
        help="where --like saves the fitted profile (default: OUT with .profile.json)",
    )
    q.add_argument(
        "--fit-evaluations",
        type=positive_int,
        default=400,
        help="renders of 200 eyes the --like fit may try (default 400: 2-3 minutes)",
    )
    q.add_argument(
        "--fit-metric",
        choices=("kid", "statistics"),
        default="kid",
        help="what the --like fit minimises: kid (default) the measured statistics plus "
        "KID to the real set, each relative to the start; statistics alone (faster)",
    )
    q.add_argument(
        "--no-check",
        action="store_true",
        help="with --like: skip the two-sample test and KID before and after the fit",
    )
    _add_range(q, "--pitch-range", "gaze pitch range in degrees, up is positive (default -20 0)")
    _add_range(
        q,
        "--yaw-range",
        "gaze yaw range in degrees, toward the image's left is positive (default -12 12)",
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
    from simgan.data.eyes import DEFAULT_PROFILE, DEFAULT_SIZE, load_profile, write_synthetic_eyes

    check_output_path(args.out, args.overwrite)  # fail before any rendering
    profile = load_profile(args.profile) if args.profile else DEFAULT_PROFILE
    size = args.size
    if args.like:
        profile, size = _fit_like(args, profile)
    size = size or DEFAULT_SIZE
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
            size=size,
            profile=profile,
            **option_values(args, "seed", "overwrite", "chunk", "workers"),
            pitch_range=args.pitch_range,
            yaw_range=args.yaw_range,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    h, w = size
    print(
        f"wrote {path}: {args.count} eyes {h}x{w}, seed {args.seed}, "
        f"{seconds:.1f} s ({args.count / max(seconds, 1e-9):.0f} images/s)"
    )
    return 0


def _fit_like(args: argparse.Namespace, start_profile):
    """Fit the profile to the --like set; print and save it. Returns (profile, size)."""
    from pathlib import Path

    from simgan.atomic import check_output_path
    from simgan.data.eyes import fit_profile, render_eyes, save_profile
    from simgan.evaluate.realism import kid_distance_to
    from simgan.evaluate.run_eval import draw

    saved = Path(args.save_profile or Path(args.out).with_suffix(".profile.json"))
    check_output_path(saved, args.overwrite)
    real = draw(args.like, FIT_IMAGES, args.seed).images
    h, w = real.shape[1:3]
    if args.size is not None and tuple(args.size) != (h, w):
        raise SimganError(
            f"--like {args.like} holds {h}x{w} patches but --size is "
            f"{args.size[0]}x{args.size[1]}: the fit renders at the real set's size; "
            f"leave out --size, or import the real set at the size you want"
        )
    if real.shape[-1] != 1:
        raise SimganError(f"--like {args.like}: the eye simulator draws grayscale; got color")

    def say(*a) -> None:
        print(*a, flush=True)

    def tell(*a) -> None:  # progress: not with --quiet
        if not args.quiet:
            print(*a, flush=True)

    tell(f"fitting the eye profile to {len(real)} patches of {args.like} ({h}x{w}) ...")
    image_distance = kid_distance_to(real, seed=args.seed) if args.fit_metric == "kid" else None
    result = fit_profile(
        real,
        start_profile,
        count=FIT_RENDERS,
        evaluations=args.fit_evaluations,
        image_distance=image_distance,
        progress=lambda k, d: tell(
            f"  pass {k}: objective {d:.3f} (start {1 + bool(image_distance)})"
        ),
    )
    summary = result.summary()
    if not args.no_check:
        for when, prof in (("before", start_profile), ("after", result.profile)):
            fake, _ = render_eyes(len(real), args.seed, (h, w), profile=prof)  # OUT's first
            summary[f"c2st_{when}"], summary[f"kid_{when}"] = _distances(real, fake, args.seed)
    fitted = result.profile.to_dict()
    say(
        f"fitted: gaze pitch {_pair(fitted['pitch_range'])}, yaw {_pair(fitted['yaw_range'])}"
        f" deg; right-eye share {fitted['mirror_share']:.2f}; equalize {fitted['equalize']}; "
        f"jpeg quality {fitted['jpeg_quality'] or 'none'}"
    )
    for name, r in fitted["ranges"].items():
        if tuple(r) != start_profile.range_of(name):
            old = start_profile.range_of(name)
            say(f"  {name}: {_pair(old)} -> {_pair(r)}")
    say(f"statistics distance {summary['distance_before']} -> {summary['distance_after']}")
    if image_distance is not None:
        before, after = summary["image_distance_before"], summary["image_distance_after"]
        say(f"KID of the fit's renders {before:.5f} -> {after:.5f}")
    if not args.no_check:
        say(
            f"two-sample test {summary['c2st_before']:.1%} -> {summary['c2st_after']:.1%}, "
            f"KID {summary['kid_before']:.5f} -> {summary['kid_after']:.5f}"
        )
    save_profile(result.profile, saved, overwrite=args.overwrite, like=str(args.like), **summary)
    say(f"saved the profile to {saved} (reuse: --profile {saved})")
    return result.profile, (h, w)


def _pair(r) -> str:
    return f"{r[0]:.3g}..{r[1]:.3g}"


def _distances(real, fake, seed: int) -> tuple[float, float]:
    """Two-sample test accuracy and KID of fake against real (uint8 (N, H, W, 1))."""
    from simgan.evaluate.realism import c2st, kid

    acc = c2st(real, fake, seed=seed)["c2st_accuracy"]
    return round(float(acc), 4), round(float(kid(real, fake, seed=seed)["kid"]), 6)


def cmd_digits(args: argparse.Namespace) -> int:
    """Render synthetic digits into a dataset file."""
    from simgan.atomic import check_output_path
    from simgan.data.digits import write_synthetic_digits

    check_output_path(args.out, args.overwrite)
    path = write_synthetic_digits(args.out, args.count, seed=args.seed, overwrite=args.overwrite)
    print(f"wrote {path}: {args.count} synthetic digits, seed {args.seed}")
    return 0
