"""`simgan refine`: refine a dataset file with a trained run; labels copied untouched.

Under torchrun (`torchrun --nproc_per_node=K -m simgan refine ...`) each process refines a
contiguous shard and rank 0 joins the parts into --out.
"""

from __future__ import annotations

import argparse

from simgan.cli._common import add_checkpoint, add_overwrite, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("refine", help="refine a synthetic dataset with a trained refiner")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run folder (or checkpoint .pt) to refine with")
    src.add_argument(
        "--model", help="exported refiner (.onnx or TorchScript, see simgan export) to refine with"
    )
    p.add_argument("--input", required=True, help="synthetic dataset file (.h5)")
    p.add_argument("--out", required=True, help="refined dataset file to write (.h5)")
    p.add_argument("--png", metavar="DIR", help="also write every refined image as a PNG here")
    p.add_argument("--batch-size", type=positive_int, default=1024)
    p.add_argument(
        "--chunk", type=positive_int, default=16384, help="images read and written at a time"
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    add_checkpoint(p)
    add_overwrite(p)
    p.set_defaults(func=cmd_refine)


def cmd_refine(args: argparse.Namespace) -> int:
    import time

    from simgan.atomic import check_output_path
    from simgan.refine import (
        load_any_refiner,
        load_refiner,
        refine_file,
        refine_file_distributed,
    )
    from simgan.training import distributed, refiner_checkpoint

    check_output_path(args.out, args.overwrite)
    env, device = distributed.setup(_device(args))
    try:
        if args.model:
            refiner = load_any_refiner(args.model, device)
            channels, source = refiner.channels, args.model
        else:
            source = refiner_checkpoint(args.run, args.checkpoint)
            refiner, _, channels = load_refiner(source, device)
        kwargs = dict(
            channels=channels,
            batch_size=args.batch_size,
            chunk=args.chunk,
            overwrite=args.overwrite,
            png_dir=args.png,
            device=device,
            refined_by=str(source),
        )
        t0 = time.perf_counter()
        if env.enabled:
            n = refine_file_distributed(refiner, args.input, args.out, env, **kwargs)
            n = int(distributed.sum_over_ranks(n, env))
        else:
            n = refine_file(refiner, args.input, args.out, **kwargs)
        dt = time.perf_counter() - t0
    finally:
        distributed.teardown(env)
    if env.is_main:
        procs = f" by {env.world_size} processes" if env.enabled else ""
        print(
            f"refined {n} images with {source} into {args.out}{procs} in {dt:.1f} s "
            f"({n / dt:.0f} images/s)"
        )
    return 0


def _device(args: argparse.Namespace):
    """--device, with 'auto' meaning CPU for an ONNX model unless onnxruntime can use CUDA."""
    from simgan.device import resolve_device
    from simgan.optional import onnxruntime_has_cuda

    if args.device == "auto" and args.model and str(args.model).lower().endswith(".onnx"):
        return resolve_device("auto" if onnxruntime_has_cuda() else "cpu")
    return resolve_device(args.device)
