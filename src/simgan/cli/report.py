"""`simgan report RUN -o report.html`: a self-contained HTML page about one training run."""

from __future__ import annotations

import argparse

from simgan.cli._common import add_output, add_overwrite


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan report`."""
    p = sub.add_parser(
        "report",
        help="write one self-contained HTML page about a run (curves, samples, metrics)",
        description="Config, loss and discriminator-accuracy curves, sample grids at several "
        "steps, real images and the metrics of RUN/metrics.json ('simgan eval all'), in one "
        "HTML file with every image embedded.",
    )
    p.add_argument("run", help="a run folder made by simgan train")
    add_output(p, help="output file (report.html)", default="report.html")
    p.add_argument("--real", help="also show a grid of these real images (.h5 dataset file)")
    add_overwrite(p)
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of a run."""
    from simgan.report import write_report

    path = write_report(args.run, args.out, real=args.real, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0
