"""`simgan demo`: the whole method on built-in data, no download (digits by default)."""

from __future__ import annotations

import argparse

from simgan.cli._common import (
    add_consistency,
    add_json,
    add_overrides,
    add_seed,
    option_values,
    parse_size,
    positive_int,
    print_json,
)

HELP = "run S+U learning end to end on built-in data (digits) and print the result"
DESCRIPTION = (
    "digits (default): refine font-rendered digits towards scikit-learn's real handwritten "
    "digits and compare classifiers trained on raw vs refined synthetic digits."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan demo`."""
    p = sub.add_parser("demo", help=HELP, description=DESCRIPTION)
    p.add_argument("domain", nargs="?", default="digits", choices=["digits", "eyes"])
    p.add_argument("--real", help="eyes: real eye images (.h5 dataset, .npz or image folder)")
    p.add_argument("--size", type=parse_size, default=(35, 55), help="eyes: HxW (default 35x55)")
    p.add_argument("--out", default="runs", help="folder for the demo folder (default: runs)")
    p.add_argument(
        "--count",
        type=positive_int,
        help="synthetic images (digits 20000; eyes 20000 on a GPU, 4000 on a CPU)",
    )
    add_consistency(p, "digits: ")
    add_seed(p)
    add_overrides(p, "train.steps=500")
    add_json(p, help="print the results as one JSON object")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the digits or the eyes demo; --json prints its results as one object."""
    import torch

    from simgan.errors import SimganError
    from simgan.experiments.digits_demo import run_digits_demo
    from simgan.experiments.eyes_demo import run_eyes_demo

    if args.count is None:
        args.count = 4000 if args.domain == "eyes" and not torch.cuda.is_available() else 20000
    options = option_values(args, "count", "seed", "overrides") | {"echo": not args.json}
    if args.domain == "digits":
        if args.consistency is not None:
            options["consistency"] = args.consistency
        results = run_digits_demo(args.out, **options)
    elif args.consistency is not None:
        raise SimganError(
            "--consistency is a digits option; for eyes give a gaze estimator as "
            "--set loss.label_model=FILE --set loss.lambda_label=W"
        )
    elif not args.real:
        raise SimganError(
            "simgan demo eyes needs --real PATH: real eye images (.h5, .npz or a "
            "folder), e.g. ../shared/data/real/mpiigaze_p00_36x60"
        )
    else:
        results = run_eyes_demo(args.real, args.out, size=args.size, **options)
    if args.json:
        print_json(results)
    return 0
