"""Evaluate a training run with everything that applies; writes RUN/metrics.json.

- realism: classifier two-sample test and KID of raw synthetic vs real and of refined
  synthetic vs real (50% / 0 = indistinguishable), on real images the caller names
  (a held-out set is best; by default the run's own real training set);
- preservation: how far refinement moves the iris centre, and the gaze an estimator trained
  on synthetic (under appearance jitter, to a plateau) reads, when the synthetic set has
  gaze labels;
- gaze: mean angular error on a labelled test set of estimators trained on raw and on
  refined synthetic images, when a test set with gaze is given (the paper's Table 2 setting).
The synthetic side is scored on eyes the refiner never trained on whenever the run's
synthetic file is a simulator file (fresh_set.fresh_stream): the stream past the file's
last image; metrics["scored_on"] says which images were scored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from simgan.atomic import atomic_path, check_output_path
from simgan.data.dataset import DatasetReader
from simgan.errors import SimganError
from simgan.evaluate.fresh_set import Stream, fresh_stream
from simgan.evaluate.gaze_estimation import (
    evaluate_gaze,
    load_gaze_estimator,
    train_gaze_estimator,
)
from simgan.evaluate.preservation import preservation
from simgan.evaluate.preservation_estimator import train_preservation_estimator
from simgan.evaluate.realism import c2st, kid
from simgan.refine import load_refiner, refine_array
from simgan.training.checkpoint import load_checkpoint, refiner_checkpoint

ESTIMATOR_COUNT = 8000  # fresh eyes the preservation estimator trains on, at most by default


@dataclass(frozen=True)
class Drawn:
    """Images drawn from a dataset file (in file order) with their labels; `rank` is each
    image's place in the seeded draw, so that `first(n)` names the same n images whatever
    the size of the sample they were read in."""

    images: np.ndarray
    labels: dict[str, np.ndarray]
    rank: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def first(self, n: int) -> np.ndarray:
        """The images drawn first, n of them (in file order)."""
        return self.images[self.rank < n]


def draw(path: str | os.PathLike, limit: int | None, seed: int) -> Drawn:
    """At most `limit` images of a dataset file (all when None): the first of a random
    permutation of its rows seeded with `seed`; `eval realism` and `eval all` both read so."""
    with DatasetReader(path) as r:
        order = np.random.default_rng(seed).permutation(len(r))[:limit]
        rank = np.argsort(order, kind="stable")
        rows = order[rank]
        images, labels = r.read() if len(rows) == len(r) else r.read_indices(rows)
    return Drawn(images, labels, rank)


def c2st_drawn(
    real: Drawn, fake: Drawn, max_per_class: int = 5000, **kwargs: Any
) -> dict[str, Any]:
    """c2st of the first n = min(len(real), len(fake), max_per_class) images of each draw.

    The same files and seed so give the same images, and the same figure, whichever command
    (and sample size above n) read them. kwargs go to c2st."""
    n = min(len(real), len(fake), max_per_class)
    return c2st(real.first(n), fake.first(n), max_per_class=n, **kwargs)


def _fresh_draw(stream: Stream, count: int) -> Drawn:
    images, labels = stream.render(count)
    return Drawn(images, labels, np.arange(len(images)))


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _realism(drawn_real, drawn_syn, ref, seed: int, min_steps: int, device: str) -> dict:
    """Two-sample test and KID of raw and of refined synthetic images against the real ones."""
    out: dict[str, Any] = {}
    real_images = drawn_real.images
    for name, fake in (("raw_synthetic", drawn_syn), ("refined", replace(drawn_syn, images=ref))):
        c = c2st_drawn(drawn_real, fake, seed=seed, min_steps=min_steps, device=device)
        subset = min(1000, len(fake), len(real_images))
        k = kid(real_images, fake.images, seed=seed, subset_size=subset, device=device)
        out[f"c2st_accuracy_{name}"] = c["c2st_accuracy"]
        out[f"c2st_ci95_{name}"] = c["ci95"]
        out[f"kid_{name}"] = k["kid"]
        out["c2st_n_test"] = c["n_test"]
    out["c2st_accuracy"] = out["c2st_accuracy_refined"]
    out["kid"] = out["kid_refined"]
    return out


def evaluate_run(
    run: str | os.PathLike,
    *,
    real: str | os.PathLike | None = None,
    synthetic: str | os.PathLike | None = None,
    test: str | os.PathLike | None = None,
    count: int = 2000,
    epochs: int = 10,
    seed: int = 0,
    min_steps: int = 300,
    gaze_estimator: str | os.PathLike | None = None,
    estimator_count: int | None = None,
    fresh: bool = True,
    device: str = "cpu",
    write: bool = True,
    overwrite: bool = False,
    checkpoint: str = "best",
    realism: bool = True,
) -> dict[str, Any]:
    """Score a run; returns the metrics (also saved as RUN/metrics.json when `write`).

    The refiner scored is the run's best.pt where checkpoint selection kept one (unless
    checkpoint="last"), else last.pt; "checkpoint" in the metrics names the file.

    Up to `count` images are drawn from the real file (seed) and the synthetic file (seed + 1)
    as `simgan eval realism` draws them (see draw and c2st_drawn), so both commands give the
    same two-sample-test figure for the same files and seed. An existing RUN/metrics.json is
    replaced only with `overwrite` (checked before anything is computed).
    gaze_estimator: a file written by save_gaze_estimator (`simgan eval gaze --save-model`)
    that reads the gaze for the preservation score; by default one is trained on part of
    the synthetic images.
    Scored synthetic images (`scored_on` in the metrics): when `synthetic` is the run's own
    training file and that file is a simulator file (fresh_set.fresh_stream) and `fresh`,
    `count` new eyes from the stream past the file, which the refiner never saw, and the
    preservation estimator trains on `estimator_count` further ones (default 4 * count, at
    most ESTIMATOR_COUNT); otherwise images drawn
    from the file (the run's training images when it is the training file: scored_on says
    so). `device` runs the classifiers, feature network and estimators. realism=False leaves
    out the two-sample test and KID (their keys too), for a second reading of the same
    refiner's preservation by another `gaze_estimator`."""
    run = Path(run)
    ckpt_path = refiner_checkpoint(run, checkpoint)
    data = load_checkpoint(ckpt_path)["data"]
    if write:
        check_output_path(run / "metrics.json", overwrite)
    synthetic = synthetic or data["synthetic"]["path"]
    real = real or data["real"]["path"]
    for p in (synthetic, real):
        if not Path(p).is_file():
            raise SimganError(f"{p}: not found (moved since training?); pass it explicitly")
    # inputs that can fail are read before anything is computed
    estimator = None if gaze_estimator is None else load_gaze_estimator(gaze_estimator, device)
    refiner, _, _ = load_refiner(ckpt_path)
    training_file = _same_file(synthetic, data["synthetic"]["path"])
    stream = fresh_stream(synthetic) if fresh and training_file else None
    if stream is not None:
        drawn_syn = _fresh_draw(stream, count)
        scored_on = stream.describe(count)
    else:
        drawn_syn = draw(synthetic, count, seed + 1)
        scored_on = (
            f"the run's training images ({synthetic}: not a simulator file that can be "
            "extended, so no fresh images; pass --synthetic a file the refiner did not train on)"
            if training_file
            else f"images of {synthetic}, which is not the run's training file"
        )
    drawn_real = draw(real, count, seed)
    syn, labels = drawn_syn.images, drawn_syn.labels
    if estimator is not None and "gaze" not in labels:
        raise SimganError(
            f"{synthetic}: has no gaze labels, so --gaze-model {gaze_estimator} has nothing to "
            "score; leave it out for a dataset without gaze"
        )
    ref = refine_array(refiner, syn)
    real_images = drawn_real.images

    out: dict[str, Any] = {
        "run": str(run),
        "checkpoint": str(ckpt_path),
        "synthetic": str(synthetic),
        "real": str(real),
        "real_count": int(len(real_images)),
        "synthetic_count": int(len(syn)),
        "scored_on": scored_on,
        "seed": seed,
    }
    if realism:
        out.update(_realism(drawn_real, drawn_syn, ref, seed, min_steps, device))

    gaze = labels.get("gaze")
    if gaze is not None:
        record = None
        if estimator is None and stream is not None:
            if estimator_count is None:
                estimator_count = min(ESTIMATOR_COUNT, 4 * count)
            train_x, train_labels = stream.render(estimator_count, offset=count)
            estimator, record = train_preservation_estimator(
                train_x, train_labels["gaze"], seed=seed, device=device
            )
            record["trained_on"] = stream.describe(estimator_count, offset=count)
        out["preservation"] = preservation(
            syn, ref, gaze, estimator=estimator, seed=seed, train_kwargs={"device": device}
        )
        if record is not None:
            out["preservation"]["estimator"] = record
        if gaze_estimator is not None:
            out["preservation"]["gaze_estimator"] = str(gaze_estimator)
    if test is not None:
        with DatasetReader(test) as r:
            test_images, test_labels = r.read()
        if "gaze" not in test_labels or gaze is None:
            raise SimganError(
                f"{test}: gaze evaluation needs gaze labels in the test set and in {synthetic}"
            )
        for name, images in (("raw_synthetic", syn), ("refined", ref)):
            model = train_gaze_estimator(images, gaze, epochs=epochs, seed=seed, device=device)
            res = evaluate_gaze(model, test_images, test_labels["gaze"])
            out[f"gaze_{name}"] = res
        out["mean_angular_error_deg"] = out["gaze_refined"]["mean_angular_error_deg"]
    if write:
        with atomic_path(run / "metrics.json", overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(out, indent=2, default=float))
    return out
