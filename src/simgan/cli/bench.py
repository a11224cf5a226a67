"""`simgan bench ...`: benchmarks that print one JSON object each (with --json).

Each benchmark lives in its own module with `register_bench(subparsers)`; to add one, append
its dotted module name to BENCH_MODULES (see simgan/bench/__init__.py for the contract).
"""

from __future__ import annotations

import argparse
import importlib

BENCH_MODULES: tuple[str, ...] = (
    "simgan.speed.suite",
    "simgan.experiments.digits_benchmark",
    "simgan.experiments.domain_gap_benchmark",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmarks (speed, ...) printing medians and ratios as JSON",
        description="Benchmarks measured side by side in one process; --json prints one object.",
    )
    s = p.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    for name in BENCH_MODULES:
        importlib.import_module(name).register_bench(s)
