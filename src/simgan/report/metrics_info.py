"""What each evaluation metric means, for the report (one line each), and flattening."""

from __future__ import annotations

from typing import Any

# Looked up by the last dotted part of a metric's key; then, for a key ending in one of
# SUBJECTS (`simgan eval all`'s c2st_accuracy_refined, kid_raw_synthetic, ...), by what comes
# before it; then by the longest known suffix or prefix.
MEANINGS: dict[str, str] = {
    "c2st_accuracy": "accuracy of a fresh CNN telling these images from real ones on held-out "
    "data; 50% = indistinguishable, 100% = trivially told apart (the paper's humans: 51.7%)",
    "ci95": "95% confidence interval of the two-sample-test accuracy (Wilson)",
    "c2st_ci95": "95% confidence interval of the two-sample-test accuracy (Wilson)",
    "c2st_n_test": "held-out images the two-sample-test accuracy is measured on (half real, "
    "half synthetic or refined)",
    "real_count": "real images used",
    "synthetic_count": "synthetic images used (and refined, where refined images are scored)",
    "kid": "kernel inception-style distance on random-CNN features; 0 = same distribution, "
    "lower is more realistic",
    "kid_std": "spread of KID over random subsets",
    "kid_subset_size": "images per subset used for KID",
    "kid_features": "the features KID is computed on",
    "c2st_epochs": "epochs the two-sample-test classifier trained for",
    "mean_angular_error_deg": "mean angle between predicted and true gaze, degrees (lower is "
    "better; the paper: 11.2 raw synthetic -> 7.8 refined on MPIIGaze)",
    "median_angular_error_deg": "median angle between predicted and true gaze, degrees",
    "within_7deg": "share of test eyes whose gaze error is at most 7 degrees",
    "gap_closed": "share of the domain gap refinement closes: (E_syn - E_ref) / (E_syn - "
    "E_oracle); 1 = as good as training on the target, 0 = no better than raw synthetic",
    "pupil_shift_px_mean": "mean distance the iris centre moved under refinement, pixels "
    "(label preservation: lower keeps the label; found by centre_detector)",
    "pupil_shift_px_median": "median iris-centre shift under refinement, pixels",
    "pupil_shift_px_p95": "95th percentile of the iris-centre shift, pixels",
    "centre_detector": "how the iris centre is found (a dark-disc fit that lashes and lids "
    "do not pull)",
    "scored_on": "which synthetic images were refined and scored (fresh simulator eyes the "
    "refiner never trained on, when the run's file allows)",
    "estimator_error_deg": "error of the preservation gaze estimator on clean held-out "
    "synthetic eyes, degrees: gaze shifts well below it are within its noise",
    "trained_on": "the images the preservation estimator trained on",
    "stopped": "why the preservation estimator stopped training (plateau of its validation "
    "error, or a step cap)",
    "val_error_deg": "the preservation estimator's error on its validation split, degrees",
    "augmentation": "appearance-only changes the preservation estimator trained under, so "
    "that it reads geometry, not appearance",
    "pixel_l1_mean": "mean absolute pixel change made by the refiner (0..255)",
    "gaze_shift_deg_mean": "mean change of the gaze an estimator trained on synthetic reads "
    "from an image, refined vs synthetic, degrees (label preservation)",
    "gaze_shift_deg_median": "median gaze change read by the estimator, degrees",
    "gaze_error_synthetic_deg": "that estimator's error on the synthetic images, degrees",
    "gaze_error_refined_deg": "that estimator's error on the refined images (same labels)",
    "gaze_count": "images used for the gaze-preservation figures",
    "count": "number of images the figure is computed on",
    "n_test": "held-out images the figure is computed on",
    "n_train": "images the classifier was trained on",
    "n_real": "real images used",
    "n_fake": "synthetic or refined images used",
    "seed": "random seed of the evaluation",
    "accuracy_raw_synthetic": "accuracy on real test data of a classifier trained on raw "
    "synthetic images",
    "accuracy_refined_synthetic": "accuracy on real test data of a classifier trained on "
    "refined synthetic images",
    "accuracy_real_trained": "accuracy of the same classifier trained on real labelled data "
    "(the ceiling)",
}


# keys that only mean this when they are the whole last part (never matched as a prefix)
EXACT: dict[str, str] = {
    "run": "the run folder scored",
    "real": "file of the real images compared with (a held-out set is best)",
    "synthetic": "file of the synthetic images refined and compared",
    "c2st": "two-sample-test accuracy: a fresh CNN telling these images from real ones on "
    "held-out data; 50% = indistinguishable, 100% = trivially told apart",
}

# what a key's ending says the figure is about
SUBJECTS: dict[str, str] = {
    "raw_synthetic": "raw synthetic images vs real",
    "refined": "refined images vs real",
}


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts -> [(dotted key, value)]; lists of numbers stay whole values."""
    if isinstance(obj, dict):
        out: list[tuple[str, Any]] = []
        for k, v in obj.items():
            out += flatten(v, f"{prefix}{k}.")
        return out
    return [(prefix[:-1], obj)]


def meaning(key: str) -> str:
    """One-line meaning of a metric key such as 'refined.c2st_accuracy' ('' when unknown)."""
    last = key.rsplit(".", 1)[-1]
    if last in MEANINGS or last in EXACT:
        return MEANINGS.get(last) or EXACT[last]
    for subject, what in SUBJECTS.items():
        base = last.removesuffix(f"_{subject}")
        if base != last and (base in MEANINGS or base in EXACT):
            return f"{MEANINGS.get(base) or EXACT[base]}; here {what}"
    for name in sorted(MEANINGS, key=len, reverse=True):
        if last.endswith(name) or last.startswith(name):
            return MEANINGS[name]
    return ""


def format_value(value: Any) -> str:
    """Numbers to 4 significant digits, interval pairs as [a, b], None as 'n/a'."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
