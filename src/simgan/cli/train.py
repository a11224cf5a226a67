"""`simgan train`: train a refiner on a synthetic and a real dataset file."""

from __future__ import annotations

import argparse
import os

from simgan.cli._common import add_overrides, add_quiet


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan train`."""
    p = sub.add_parser(
        "train",
        help="train a refiner (SimGAN) on synthetic + unlabeled real images",
        description="Pretrain R, pretrain D, then alternate K_g refiner and K_d discriminator "
        "updates. Each run gets its own numbered folder under --out. Several GPUs or nodes: "
        "torchrun --nproc_per_node=K -m simgan train ... (train.batch_size is the global "
        "batch; see docs/scaling.md).",
    )
    p.add_argument(
        "--synthetic",
        help="synthetic dataset file (.h5); with --resume, default: the run's own",
    )
    p.add_argument(
        "--real",
        help="real dataset file (.h5), labels unused; with --resume, default: the run's own",
    )
    p.add_argument("--out", default="runs", help="folder for run folders (default: runs)")
    p.add_argument(
        "--config",
        help="preset (eyes, eyes-sgd, hands, digits, tiny) or YAML (default: eyes; with "
        "--resume, the run's own config)",
    )
    add_overrides(p)
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="continue a run folder (or checkpoint file) with its own config and data; "
        "--set may change train.steps, log.*, device and perf.*",
    )
    p.add_argument("--resize", action="store_true", help="resize synthetic images to the real size")
    p.add_argument("--dry-run", action="store_true", help="check inputs and config, train nothing")
    add_quiet(p, help="no progress bar or log lines")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or resume, or dry-run) a refiner; print its run folder."""
    from simgan.cli._common import require
    from simgan.config import load_config
    from simgan.training import train
    from simgan.training.resume import resume_inputs

    overrides = list(args.overrides)
    if args.resize:
        overrides.append("train.resize=true")
    synthetic, real = args.synthetic, args.real
    if args.resume:
        # the run's own config (overrides on top) and data, unless given
        cfg, synthetic, real = resume_inputs(args.resume, overrides, synthetic, real)
        if args.config is not None:
            cfg = load_config(args.config, overrides)
    else:
        require(
            synthetic is not None and real is not None,
            "--synthetic FILE and --real FILE are required (or --resume RUN to continue a run)",
        )
        # absolute, so that a later --resume finds them from any folder
        synthetic, real = os.path.abspath(synthetic), os.path.abspath(real)
        cfg = load_config(args.config or "eyes", overrides)
    if args.quiet:
        from dataclasses import replace

        cfg = replace(cfg, log=replace(cfg.log, progress=False))
    run = train(
        cfg,
        synthetic,
        real,
        args.out,
        resume=args.resume,
        dry_run=args.dry_run,
        echo=not args.quiet,
    )
    if run is not None and os.environ.get("RANK", "0") == "0":  # torchrun: rank 0 speaks
        print(f"run folder: {run}")
    return 0
