"""Speed measurements behind `simgan bench speed`: medians and ratios in one JSON object.

These machines are shared and noisy, so every figure is the median of several repeats, and
every speed comes with a reference measured in the same process (a naive PyTorch port of the
same step, a large matrix product) so that ratios, not lone absolute times, carry the result.

    suite.py        run_speed: every figure below in one dict, and its text summary
    train_speed.py  one adversarial training step, simgan's trainer vs the baseline
    baseline.py     the naive PyTorch port of that step
    flops.py        model FLOPs counted per convolution
    io_speed.py     refining (PyTorch, ONNX), the eye simulator, dataset files in and out
    timing.py       repeats and medians, device sync, machine facts, the matmul yardstick

The quality benchmarks (`simgan bench digits`, `domain-gap`) are simgan.experiments.

To add a benchmark `simgan bench NAME`: a function here (or in simgan.experiments for one
that trains on built-in data) that takes plain arguments and returns a JSON-ready dict,
with a format_summary(result) for the text output; then, in simgan/cli/bench.py, a parser
added in `register` and a cmd_NAME(args) -> exit code that calls it and prints the JSON or
the summary. `simgan bench speed` (cli/bench.py: _add_speed, cmd_speed) is the example.
No argparse in this package.
"""
