"""Benchmarks behind `simgan bench ...`: each prints ONE JSON object of medians and ratios.

These machines are shared and noisy, so every figure is the median of several repeats, and
every speed comes with a reference measured in the same process (a naive PyTorch port of the
same step, a large matrix product) so that ratios, not lone absolute times, carry the result.

To add a benchmark `simgan bench NAME`: write a module with

    def register_bench(sub: argparse._SubParsersAction) -> None:
        p = sub.add_parser("NAME", help="...")
        ...                              # its options
        p.set_defaults(func=cmd_NAME)    # cmd_NAME(args) -> exit code; prints the JSON

keeping heavy imports (torch) inside cmd_NAME, and add the module's dotted name to
BENCH_MODULES in simgan/cli/bench.py. `speed.py` is the example.
"""
