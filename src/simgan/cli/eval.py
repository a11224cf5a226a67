"""`simgan eval ...`: downstream gaze error and realism scores of dataset files."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from simgan.cli._common import (
    add_checkpoint,
    add_device,
    add_json,
    add_overwrite,
    add_real_fake,
    add_seed,
    add_subcommands,
    non_negative_int,
    option_values,
    positive_int,
    print_json,
    require,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan eval gaze|realism|all`."""
    s = add_subcommands(sub, "eval", help="score datasets: gaze estimator error, realism")

    q = s.add_parser(
        "gaze",
        help="train the paper's gaze estimator on one file, report its error on another",
        description="Train the paper's gaze estimator on --train (e.g. refined synthetic eyes) "
        "and report its angular error on --test (labelled eyes). With --lopo and a test file "
        "holding subjects: leave-one-person-out, each fold also trained on the other "
        "subjects' test images.",
    )
    q.add_argument("--train", help="dataset file with images and gaze to train on")
    q.add_argument("--test", required=True, help="dataset file with images and gaze to test on")
    q.add_argument("--lopo", action="store_true", help="leave-one-person-out over --test")
    q.add_argument("--epochs", type=positive_int, default=20, help="training epochs (20)")
    q.add_argument("--batch-size", type=positive_int, default=128)
    q.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (1e-3)")
    q.add_argument("--width", type=float, default=1.0, help="channel factor (1 = the paper's)")
    q.add_argument("--max-train", type=positive_int, help="use at most this many training images")
    q.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        help="hold out this share of --train and keep the best epoch (0)",
    )
    q.add_argument("--save-model", help="write the trained estimator here (.pt)")
    _add_common(q)
    q.set_defaults(func=cmd_gaze)

    q = s.add_parser(
        "realism",
        help="how distinguishable fake images are from real: C2ST accuracy and KID",
        description="Classifier two-sample test (50% = indistinguishable) and KID on features "
        "of a fixed random CNN (no downloaded weights; compare values only across runs).",
    )
    add_real_fake(q, fake_help="dataset file of refined (or synthetic) images")
    q.add_argument(
        "--resize",
        action="store_true",
        help="resize the fake images to the real images' size and channels",
    )
    q.add_argument("--epochs", type=positive_int, default=10, help="C2ST classifier epochs (10)")
    q.add_argument(
        "--min-steps",
        type=int,
        default=300,
        help="train the C2ST classifier for at least this many steps (300)",
    )
    q.add_argument(
        "--max-images", type=positive_int, default=5000, help="images drawn from each file (5000)"
    )
    q.add_argument("--kid-features", default="random-cnn", choices=["random-cnn", "pixels"])
    q.add_argument("--no-kid", action="store_true", help="skip KID")
    q.add_argument("--no-c2st", action="store_true", help="skip the two-sample test")
    _add_common(q)
    q.set_defaults(func=cmd_realism)
    q = s.add_parser(
        "all",
        help="score a run: realism raw vs refined, preservation, gaze (writes metrics.json)",
    )
    q.add_argument("run", help="run folder")
    add_checkpoint(q)
    q.add_argument("--real", help="real images to compare with (default: the run's real set)")
    q.add_argument("--synthetic", help="synthetic images (default: the run's synthetic set)")
    q.add_argument("--test", help="labelled real test set with gaze for the gaze estimator")
    q.add_argument("--count", type=positive_int, default=2000, help="images per set (2000)")
    q.add_argument(
        "--epochs", type=positive_int, default=10, help="--test gaze estimator epochs (10)"
    )
    q.add_argument(
        "--min-steps", type=non_negative_int, default=300, help="C2ST classifier steps, at least"
    )
    q.add_argument(
        "--estimator-count",
        type=positive_int,
        help="fresh simulator eyes the preservation estimator trains on (4x --count, at most 8000)",
    )
    q.add_argument(
        "--training-images",
        dest="fresh",
        action="store_false",
        help="score the run's own training images, not fresh simulator eyes past them",
    )
    q.add_argument(
        "--gaze-model",
        dest="gaze_estimator",
        metavar="PATH",
        help="a saved gaze estimator (eval gaze --save-model) to read gaze for the "
        "preservation score (default: train one on fresh simulator eyes, or on part of the "
        "scored synthetic images)",
    )
    add_overwrite(q)
    add_seed(q)
    add_device(q)
    add_json(q)
    q.set_defaults(func=cmd_all)


def _add_common(q: argparse.ArgumentParser) -> None:
    add_seed(q)
    add_device(q)
    add_json(q)


def _load(path: str, need: tuple[str, ...], max_n: int | None, seed: int):
    """Images (and the `need` labels) of a dataset file, at most max_n drawn at random."""
    from simgan.data import DatasetReader

    with DatasetReader(path) as r:
        missing = [k for k in need if k not in r.label_names]
        require(not missing, f"{path}: has no {', '.join(missing)} labels, which this needs")
        if max_n is not None and max_n < len(r):
            idx = np.sort(np.random.default_rng(seed).choice(len(r), max_n, replace=False))
            images, labels = r.read_indices(idx)
        else:
            images, labels = r.read()
    return images, labels


def cmd_gaze(args: argparse.Namespace) -> int:
    """Train the gaze estimator, print its angular error on the test file."""
    from simgan.evaluate.gaze_estimation import (
        evaluate_gaze,
        leave_one_person_out,
        per_subject_errors,
        save_gaze_estimator,
        train_gaze_estimator,
    )

    require(args.train or args.lopo, "eval gaze: give --train FILE (or --lopo with --test)")
    require(not (args.lopo and args.save_model), "--save-model does not apply with --lopo")
    if args.save_model:
        from simgan.atomic import check_output_path

        check_output_path(args.save_model, overwrite=False)
    from simgan.device import resolve_device

    device = resolve_device(args.device)
    kw = option_values(args, "epochs", "batch_size", "lr", "seed", "width", "val_fraction")
    kw.update(device=device, progress=not args.json)
    test_x, test_l = _load(args.test, ("gaze",), None, args.seed)
    train_x = train_g = None
    if args.train:
        train_x, train_l = _load(args.train, ("gaze",), args.max_train, args.seed)
        train_g = train_l["gaze"]
    out: dict[str, Any] = {
        "train": args.train,
        "test": args.test,
        "epochs": args.epochs,
        "seed": args.seed,
    }
    if args.lopo:
        require("subject" in test_l, f"{args.test}: --lopo needs 'subject' labels")

        def train_fn(x: np.ndarray, g: np.ndarray):
            if train_x is not None:
                x = np.concatenate([train_x, _like(x, train_x)])
                g = np.concatenate([train_g, g])
            return train_gaze_estimator(x, g, **kw)

        out.update(leave_one_person_out(train_fn, test_x, test_l["gaze"], test_l["subject"]))
        out["protocol"] = "leave-one-person-out"
    else:
        model = train_gaze_estimator(train_x, train_g, **kw)
        out.update(evaluate_gaze(model, test_x, test_l["gaze"]))
        out["train_count"] = int(len(train_x))
        out["protocol"] = "train-test"
        if "subject" in test_l:
            out["per_subject"] = per_subject_errors(
                model, test_x, test_l["gaze"], test_l["subject"]
            )
        if args.save_model:
            save_gaze_estimator(model, args.save_model)
    if args.json:
        print_json(out)
    else:
        print(
            f"gaze estimator ({out['protocol']}) on {args.test}: "
            f"mean {out['mean_angular_error_deg']:.2f} deg, "
            f"median {out['median_angular_error_deg']:.2f} deg, "
            f"within 7 deg {100 * out['within_7deg']:.1f}% of {out['count']} images"
        )
        for s, m in sorted(out.get("per_subject", {}).items()):
            print(f"  subject {s}: mean {m['mean_angular_error_deg']:.2f} deg ({m['count']})")
    return 0


def _like(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Test-file images converted to the training file's size and channels."""
    from simgan.evaluate._common import match_images

    return match_images(ref, x, True, ("train", "test"))


def cmd_realism(args: argparse.Namespace) -> int:
    """Print the C2ST accuracy and KID of fake images against real ones."""
    from simgan.evaluate.realism import kid
    from simgan.evaluate.run_eval import c2st_drawn, draw

    require(not (args.no_kid and args.no_c2st), "--no-kid and --no-c2st leave nothing to do")
    from simgan.device import resolve_device

    device = resolve_device(args.device)
    # drawn as `eval all` draws them: the same files and seed give the same C2ST figure
    real = draw(args.real, args.max_images, args.seed)
    fake = draw(args.fake, args.max_images, args.seed + 1)
    out: dict[str, Any] = {
        "real": args.real,
        "fake": args.fake,
        "n_real": int(len(real)),
        "n_fake": int(len(fake)),
        "seed": args.seed,
    }
    kw = dict(option_values(args, "seed", "resize"), device=device)
    if not args.no_c2st:
        out.update(
            c2st_drawn(
                real,
                fake,
                epochs=args.epochs,
                max_per_class=args.max_images,
                min_steps=args.min_steps,
                **kw,
            )
        )
    if not args.no_kid:
        out.update(kid(real.images, fake.images, features=args.kid_features, **kw))
    if args.json:
        print_json(out)
        return 0
    if "c2st_accuracy" in out:
        lo, hi = out["ci95"]
        print(
            f"two-sample test accuracy {100 * out['c2st_accuracy']:.1f}% "
            f"(95% CI {100 * lo:.1f}-{100 * hi:.1f}%, {out['n_test']} test images; "
            "50% = indistinguishable)"
        )
    if "kid" in out:
        print(
            f"KID ({out['kid_features']} features) {out['kid']:.3g} +- {out['kid_std']:.2g} "
            f"over subsets of {out['kid_subset_size']} (0 = same distribution)"
        )
    return 0


def cmd_all(args: argparse.Namespace) -> int:
    """Score a run (writes RUN/metrics.json) and print every metric with its meaning."""
    import json

    from simgan.device import resolve_device
    from simgan.evaluate.run_eval import evaluate_run

    out = evaluate_run(
        args.run,
        **option_values(
            args,
            "real",
            "synthetic",
            "test",
            "count",
            "epochs",
            "seed",
            "min_steps",
            "gaze_estimator",
            "estimator_count",
            "fresh",
            "overwrite",
            "checkpoint",
        ),
        device=str(resolve_device(args.device)),
    )
    if args.json:
        print(json.dumps(out, default=float))
    else:
        print(metric_lines(out))
        print(f"wrote {args.run}/metrics.json")
    return 0


def metric_lines(metrics: dict[str, Any]) -> str:
    """One line per metric: name, value and what it means (nested keys dotted)."""
    from simgan.report.metrics_info import flatten, format_value, meaning

    rows = [(k, format_value(v), meaning(k)) for k, v in flatten(metrics)]
    wk = max(len(k) for k, _, _ in rows)
    wv = max(len(v) for _, v, _ in rows)
    return "\n".join(f"{k:<{wk}}  {v:<{wv}}  {m}".rstrip() for k, v, m in rows)
