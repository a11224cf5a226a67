"""`simgan refine`: refine a dataset file with a trained run; labels copied untouched."""

from __future__ import annotations

import argparse

from simgan.cli._common import add_overwrite, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("refine", help="refine a synthetic dataset with a trained refiner")
    p.add_argument("--run", required=True, help="run folder (or checkpoint .pt) to refine with")
    p.add_argument("--input", required=True, help="synthetic dataset file (.h5)")
    p.add_argument("--out", required=True, help="refined dataset file to write (.h5)")
    p.add_argument("--png", metavar="DIR", help="also write every refined image as a PNG here")
    p.add_argument("--batch-size", type=positive_int, default=1024)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    add_overwrite(p)
    p.set_defaults(func=cmd_refine)


def cmd_refine(args: argparse.Namespace) -> int:
    import time

    from simgan.atomic import check_output_path
    from simgan.refine import load_refiner, refine_file
    from simgan.train import resolve_device

    check_output_path(args.out, args.overwrite)
    device = resolve_device(args.device)
    refiner, _, channels = load_refiner(args.run, device)
    t0 = time.perf_counter()
    n = refine_file(
        refiner,
        args.input,
        args.out,
        channels=channels,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        png_dir=args.png,
        device=device,
        refined_by=str(args.run),
    )
    dt = time.perf_counter() - t0
    print(f"refined {n} images into {args.out} in {dt:.1f} s ({n / dt:.0f} images/s)")
    return 0
