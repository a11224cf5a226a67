"""`simgan data ...`: look into dataset files (info, preview) and fetch built-in real data."""

from __future__ import annotations

import argparse

import numpy as np

from simgan.cli._common import (
    add_json,
    add_output,
    add_overwrite,
    add_seed,
    add_subcommands,
    positive_int,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan data info|preview|digits-real`."""
    s = add_subcommands(sub, "data", help="inspect dataset files; built-in real data")

    q = s.add_parser("info", help="counts, shapes and label ranges of a dataset file")
    q.add_argument("file")
    add_json(q)
    q.set_defaults(func=cmd_info)

    q = s.add_parser("preview", help="draw a grid of images from a dataset file as PNG")
    q.add_argument("file")
    add_output(q, help="PNG to write")
    q.add_argument("--count", type=positive_int, default=64, help="images to draw (default 64)")
    q.add_argument("--cols", type=positive_int, default=8, help="grid columns (default 8)")
    q.add_argument("--random", action="store_true", help="random images instead of the first")
    add_seed(q)
    q.add_argument("--scale", type=int, default=0, help="zoom factor (default: automatic)")
    add_overwrite(q)
    q.set_defaults(func=cmd_preview)

    q = s.add_parser(
        "digits-real",
        help="write scikit-learn's 1,797 real handwritten digits (8x8, labelled) as a dataset",
    )
    add_output(q, help="dataset file to write (.h5)")
    add_overwrite(q)
    q.set_defaults(func=cmd_digits_real)


def cmd_info(args: argparse.Namespace) -> int:
    """Print what a dataset file holds (text or JSON)."""
    from simgan.data.info import describe, format_info

    info = describe(args.file)
    if args.json:
        print_json(info)
    else:
        print(format_info(info))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    """Draw images of a dataset file as one PNG grid."""
    from simgan.atomic import check_output_path
    from simgan.data.dataset import DatasetReader
    from simgan.viz import auto_scale, make_grid, save_png

    check_output_path(args.out, args.overwrite)
    with DatasetReader(args.file) as r:
        n = min(args.count, len(r))
        if args.random:
            idx = np.sort(np.random.default_rng(args.seed).choice(len(r), n, replace=False))
            images, _ = r.read_indices(idx)
        else:
            images, _ = r.read(0, n, labels=False)
    h, w = images.shape[1:3]
    scale = args.scale or auto_scale(h, w)
    save_png(make_grid(images, ncol=args.cols), args.out, scale=scale, overwrite=args.overwrite)
    print(f"wrote {args.out}: {n} images, {h}x{w}, zoom {scale}x")
    return 0


def cmd_digits_real(args: argparse.Namespace) -> int:
    """Write scikit-learn's real digits as a dataset file."""
    from simgan.data.digits import write_real_digits

    path = write_real_digits(args.out, overwrite=args.overwrite)
    print(f"wrote {path}: 1797 real digits, 8x8 UCI counts stored as 0..255, labels 0-9")
    return 0
