"""End-to-end runs of S+U learning on built-in data: the demos and the quality benchmarks.

    digits_demo.py           `simgan demo` (digits): font digits refined towards scikit-learn's
                             real digits, classifier accuracy raw vs refined vs real-trained
    eyes_demo.py             `simgan demo eyes --real PATH`: simulator eyes refined towards the
                             user's real eyes, two-sample test raw vs refined
    digits_benchmark.py      `simgan bench digits`: the digits demo over seeds, mean and std
    domain_gap_benchmark.py  `simgan bench domain-gap`: gaze error after training on raw,
                             refined and oracle sets of a labelled target domain
    pipeline.py              the steps they share (write sets, train, refine, save results)
    seeds.py                 figures over seeds: mean_std, json_safe, pct
    budgets.py               training budgets: EYES_CPU_BUDGET, MIN_ESTIMATOR_STEPS

To add a quality benchmark `simgan bench NAME`: write run_bench_NAME(...) -> a JSON-ready
dict (json_safe over mean_std per figure) and format_summary(result) -> text in a module
here, then its parser and cmd function in simgan/cli/bench.py (simgan.speed's docstring
says the same for speed figures). No argparse here: the library takes plain arguments.
"""
