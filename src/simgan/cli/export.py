"""`simgan export`: write a run's refiner as ONNX or TorchScript, verified against PyTorch."""

from __future__ import annotations

import argparse

from simgan.cli._common import add_checkpoint, add_output, add_overwrite


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan export`."""
    p = sub.add_parser(
        "export",
        help="export a trained refiner to ONNX or TorchScript for deployment",
        description="Export the refiner of a run (dynamic batch, height and width), then check "
        "that the file reproduces PyTorch's outputs on random inputs of two sizes.",
    )
    p.add_argument("--run", required=True, help="run folder (or checkpoint .pt) to export")
    p.add_argument(
        "--format",
        choices=("onnx", "torchscript"),
        help="file format (default: from the suffix of -o: .onnx, or .pt for TorchScript)",
    )
    add_output(p, help="file to write, e.g. refiner.onnx")
    add_checkpoint(p)
    add_overwrite(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Export a run's refiner and print how closely the file matches PyTorch."""
    from simgan.atomic import check_output_path
    from simgan.export import TOLERANCE, export_run

    check_output_path(args.out, args.overwrite)
    path, max_diff = export_run(
        args.run, args.out, args.format, overwrite=args.overwrite, checkpoint=args.checkpoint
    )
    print(
        f"wrote {path}; max |PyTorch - exported| on random inputs: {max_diff:.2e} "
        f"(tolerance {TOLERANCE:g})"
    )
    return 0
