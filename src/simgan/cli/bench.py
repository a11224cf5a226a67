"""`simgan bench speed|digits|domain-gap`: benchmarks that print one JSON object each (--json).

The measuring is the library's (simgan.speed.suite.run_speed, and simgan.experiments'
run_bench_digits and run_bench_domain_gap, each with a format_summary for the text output);
this module holds their parsers and the cmd_* functions that call them. To add a benchmark,
write its run function there, then here a function adding its options (with
func=cmd_NAME, args -> exit code, printing the JSON or the summary) and a row of
BENCHMARKS; see simgan/speed/__init__.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from simgan.cli._common import (
    add_consistency,
    add_device,
    add_json,
    add_overrides,
    non_negative_int,
    option_values,
    positive_int,
    print_json,
)
from simgan.experiments.budgets import MIN_ESTIMATOR_STEPS

DEFAULT_SEEDS = "0,1,2"


# -- argparse types -----------------------------------------------------------------------------


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1,2' -> (0, 1, 2); argparse type for --seeds."""
    try:
        seeds = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of seeds like 0,1,2") from None
    if not seeds:
        raise argparse.ArgumentTypeError("--seeds needs at least one seed, e.g. 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"'{text}': repeated seed")
    return seeds


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """'16,64' -> (16, 64); argparse type for --batch-sizes (each at least 2)."""
    try:
        sizes = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list like 16,64") from None
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError(f"'{text}': batch sizes must be >= 2")
    return sizes


# -- speed --------------------------------------------------------------------------------------


def _add_speed(p: argparse.ArgumentParser) -> None:
    add_json(p, help="print one JSON object (default: text)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test (< 1 min)")
    p.add_argument("--batch-sizes", type=parse_batch_sizes, help="e.g. 64,256 (default 16,64)")
    p.add_argument("--repeats", type=int, help="timed runs per figure (default 3, quick 2)")
    add_device(p, default="cpu", help="cpu (default), cuda, cuda:N, auto")
    p.add_argument(
        "--threads",
        type=int,
        help="torch and onnxruntime threads (default: the CPUs available less the load "
        "average, at least 1)",
    )
    p.add_argument(
        "--skip", default="", help="comma list of parts to leave out: refine,simulator,import"
    )
    p.set_defaults(func=cmd_speed)


def cmd_speed(args: argparse.Namespace) -> int:
    """`simgan bench speed`: every speed figure (simgan.speed.suite.run_speed)."""
    from simgan.speed.suite import FULL, QUICK, format_summary, run_speed

    sizes = QUICK if args.quick else FULL
    result = run_speed(
        batch_sizes=args.batch_sizes or sizes["batch_sizes"],
        repeats=max(1, args.repeats or sizes["repeats"]),
        device=args.device,
        threads=args.threads,
        refine_count=sizes["refine"],
        simulator_count=sizes["simulator"],
        import_count=sizes["import"],
        skip=tuple(s.strip() for s in args.skip.split(",") if s.strip()),
        quick=args.quick,
    )
    return _show(result, args, format_summary)


# -- quality: digits, domain-gap ----------------------------------------------------------------


def _add_quality_options(p: argparse.ArgumentParser, count: int) -> None:
    """The options every quality benchmark has: --seeds, --count, --set, --out, --json."""
    p.add_argument(
        "--seeds",
        type=parse_seeds,
        default=parse_seeds(DEFAULT_SEEDS),
        help=f"comma list (default {DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--count", type=positive_int, default=count, help=f"synthetic images (default {count})"
    )
    add_overrides(p, "train.steps=500")
    p.add_argument("--out", help="keep the run folders here (default: a temporary folder)")
    add_json(p)


def _add_digits(p: argparse.ArgumentParser) -> None:
    _add_quality_options(p, count=20000)
    add_consistency(p)
    p.set_defaults(func=cmd_digits)


def cmd_digits(args: argparse.Namespace) -> int:
    """`simgan bench digits`: the digits demo over seeds (run_bench_digits)."""
    from simgan.experiments.digits_benchmark import format_summary, run_bench_digits

    names = ("seeds", "count", "overrides", "out")
    options = option_values(args, *names)
    if args.consistency is not None:
        options["consistency"] = args.consistency
    result = run_bench_digits(**options)
    return _show(result, args, format_summary)


def _add_domain_gap(p: argparse.ArgumentParser) -> None:
    _add_quality_options(p, count=2000)
    p.add_argument(
        "--target-count",
        type=positive_int,
        help="target-domain images, half to train on (unlabeled / oracle), half to test "
        "(default: 2 x --count, so that the oracle trains on as many images as the others)",
    )
    p.add_argument(
        "--style",
        default="default",
        choices=("default", "mild", "strong"),  # simgan.evaluate.STYLES, without importing it
        help="target-domain appearance gap (default: default)",
    )
    p.add_argument("--epochs", type=positive_int, default=6, help="estimator epochs (6)")
    p.add_argument(
        "--min-steps",
        type=non_negative_int,
        default=MIN_ESTIMATOR_STEPS,
        help=f"raise --epochs so each estimator takes at least this many optimizer steps "
        f"({MIN_ESTIMATOR_STEPS})",
    )
    p.add_argument(
        "--width", type=float, default=0.25, help="estimator width factor (0.25; paper 1.0)"
    )
    p.add_argument(
        "--full-budget",
        action="store_true",
        help="train the refiner on the eyes preset's own schedule instead of the CPU budget",
    )
    p.add_argument(
        "--estimator-seeds",
        dest="n_estimators",
        metavar="K",
        type=positive_int,
        default=1,
        help="gaze estimators per training set and seed, each with its own seed (1); the "
        "summary gives each arm's spread over them",
    )
    p.add_argument(
        "--label-model",
        action="store_true",
        help="train a gaze estimator on the synthetic eyes (their own labels) and make it the "
        "refiner's frozen loss.label_model; set its weight with --set loss.lambda_label=W",
    )
    add_device(p, default="cpu", help="estimator device: cpu (default), cuda")
    p.set_defaults(func=cmd_domain_gap)


def cmd_domain_gap(args: argparse.Namespace) -> int:
    """`simgan bench domain-gap`: gaze error on a labelled target (run_bench_domain_gap)."""
    from simgan.experiments.domain_gap_benchmark import (
        CPU_BUDGET,
        format_summary,
        run_bench_domain_gap,
    )

    budget = () if args.full_budget else CPU_BUDGET
    names = ("seeds", "count", "target_count", "style", "epochs", "min_steps", "width")
    result = run_bench_domain_gap(
        **option_values(args, *names, "out", "device", "n_estimators", "label_model"),
        overrides=budget + tuple(args.overrides),
    )
    return _show(result, args, format_summary)


# -- output -------------------------------------------------------------------------------------


def _show(result: dict, args: argparse.Namespace, summary: Callable[[dict], str]) -> int:
    """Print the result as one JSON object (--json) or as its text summary; exit code 0."""
    if args.json:
        print_json(result)
    else:
        print(summary(result))
    return 0


# -- the command --------------------------------------------------------------------------------

# `simgan bench NAME`: the function adding its options (and func=cmd_NAME), its --help line
# and its description
BENCHMARKS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], str, str]] = {
    "speed": (
        _add_speed,
        "training, refining, simulator and import throughput vs a naive baseline",
        "Training, refining, simulator and import throughput, each next to a reference "
        "measured in the same process (a naive PyTorch port, a float32 matmul).",
    ),
    "digits": (
        _add_digits,
        "raw vs refined vs real-trained accuracy on real digits, over seeds",
        "Refine font-rendered digits towards half of scikit-learn's real digits (unlabeled); "
        "accuracy on the other half of classifiers trained on raw synthetic, refined "
        "synthetic and real digits, per seed, with mean and std.",
    ),
    "domain-gap": (
        _add_domain_gap,
        "gaze error of raw-synthetic, refined and oracle training on a labelled target",
        "A labelled target domain made from the simulator with a deliberate appearance gap; "
        "gaze estimators trained on raw synthetic, refined synthetic and the labelled target, "
        "tested on held-out target; the share of the gap refinement closes.",
    ),
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan bench` and a subcommand per row of BENCHMARKS."""
    p = sub.add_parser(
        "bench",
        help="benchmarks (speed, ...) printing medians and ratios as JSON",
        description="Benchmarks measured side by side in one process; --json prints one object.",
    )
    s = p.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    for name, (add_options, help, description) in BENCHMARKS.items():
        add_options(s.add_parser(name, help=help, description=description))
