"""The labelled target domain: seeded, a real appearance change, the same geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simgan.errors import SimganError
from simgan.evaluate import (
    STYLES,
    domain_gap_errors,
    gap_closed,
    iris_centre,
    kid,
    make_target_domain,
    train_gaze_estimator,
)
from simgan.evaluate.estimator_seeds import errors_over_estimator_seeds
from test_eval_toys import toy_eyes


@pytest.fixture(scope="module")
def eyes():
    try:
        from simgan.data.eyes import render_eyes
    except ImportError:  # the simulator is optional here: the toy eyes do the same job
        x, g, _ = toy_eyes(200, seed=0)
        return x, g
    x, labels = render_eyes(200, seed=0)
    return x, labels["gaze"]


def test_target_domain_is_seeded_and_keeps_shape(eyes):
    x, _ = eyes
    a = make_target_domain(x[:20], seed=1)
    assert a.dtype == np.uint8 and a.shape == x[:20].shape
    np.testing.assert_array_equal(a, make_target_domain(x[:20], seed=1))
    assert not np.array_equal(a, make_target_domain(x[:20], seed=2))


def _best_shift(a: np.ndarray, b: np.ndarray, r: int = 2) -> tuple[int, int]:
    """The (dy, dx) within +-r that best aligns b with a (mean normalized correlation)."""
    a = a[..., 0].astype(float)
    b = b[..., 0].astype(float)
    best, arg = -np.inf, (0, 0)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            pa = a[:, r:-r, r:-r]
            pb = np.roll(b, (dy, dx), axis=(1, 2))[:, r:-r, r:-r]
            pa = pa - pa.mean((1, 2), keepdims=True)
            pb = pb - pb.mean((1, 2), keepdims=True)
            c = ((pa * pb).sum((1, 2)) / np.sqrt((pa**2).sum((1, 2)) * (pb**2).sum((1, 2)))).mean()
            if c > best:
                best, arg = c, (dy, dx)
    return arg


@pytest.mark.parametrize("style", sorted(STYLES))
def test_target_domain_changes_appearance_not_geometry(eyes, style):
    x, _ = eyes
    t = make_target_domain(x, seed=0, style=style)
    assert np.abs(t.astype(int) - x).mean() > 3  # not the identity
    assert _best_shift(x, t) == (0, 0)  # nothing moved
    if style != "strong":  # too dark and noisy for a pixel read-out to be exact
        # the preservation score's iris_centre (the darkest-blob pupil_centre moved 1.8 px
        # on the default style: its blob merges lashes and shadow with the iris)
        shift = np.linalg.norm(iris_centre(t) - iris_centre(x), axis=1)
        assert np.median(shift) < 1.0


def test_the_geometry_check_sees_a_one_pixel_move(eyes):
    x, _ = eyes
    assert _best_shift(x, np.roll(x, 1, axis=2)) == (0, -1)


def test_styles_are_ordered_by_strength(eyes):
    x, _ = eyes
    gaps = [
        kid(x[:120], make_target_domain(x[:120], seed=0, style=s), subsets=5, subset_size=100)[
            "kid"
        ]
        for s in ("mild", "default", "strong")
    ]
    assert 0 < gaps[0] < gaps[1] < gaps[2]


def test_colour_images_and_bad_style():
    x, _, _ = toy_eyes(4, seed=0)
    rgb = np.repeat(x, 3, axis=-1)
    t = make_target_domain(rgb, seed=0)
    assert t.shape == rgb.shape
    with pytest.raises(SimganError, match="unknown target-domain style"):
        make_target_domain(x, style="cartoon")


def test_gap_closed():
    assert gap_closed(12.0, 8.0, 4.0) == pytest.approx(0.5)
    assert gap_closed(12.0, 4.0, 4.0) == pytest.approx(1.0)
    assert gap_closed(12.0, 14.0, 4.0) == pytest.approx(-0.25)
    assert math.isnan(gap_closed(4.0, 5.0, 4.0))


def test_domain_gap_errors_trains_one_estimator_per_set():
    x, g, _ = toy_eyes(240, seed=0)
    target = make_target_domain(x, seed=0)
    calls = []

    def train_fn(images, gaze):
        calls.append(len(images))
        return train_gaze_estimator(images, gaze, seed=0, epochs=1, width=0.125, batch_size=16)

    sets = {
        "synthetic": (x[:160], g[:160]),
        "refined": (x[:160], g[:160]),
        "oracle": (target[:160], g[:160]),
    }
    res = domain_gap_errors(sets, target[160:], g[160:], train_fn=train_fn)
    assert calls == [160, 160, 160]
    assert res["synthetic"]["count"] == 80
    e = [res[k]["mean_angular_error_deg"] for k in ("synthetic", "refined", "oracle")]
    assert e[0] == e[1]  # same data, same seed: same estimator, so none of the gap closed
    assert res["gap_closed"] == 0.0 if e[0] > e[2] else math.isnan(res["gap_closed"])


def test_errors_over_estimator_seeds_give_each_arm_a_spread(eyes):
    """Several estimator seeds per arm: each arm's mean is the mean over the estimators, the
    spread is theirs, and with one seed the figures are the one-estimator ones."""
    x, g = eyes
    target = make_target_domain(x, seed=0, style="mild")
    sets = {"synthetic": (x[:80], g[:80]), "refined": (x[:80], g[:80])}
    sets["oracle"] = (target[:80], g[:80])

    def fit(images, gaze, seed):
        return train_gaze_estimator(images, gaze, epochs=1, width=0.125, batch_size=32, seed=seed)

    res = errors_over_estimator_seeds(sets, target[160:], g[160:], fit, seeds=(0, 1, 2))
    for name in ("synthetic", "refined", "oracle"):
        errs = res[name]["per_estimator"]
        assert len(errs) == 3 and len(set(errs)) == 3  # three different estimators
        assert res[name]["mean_angular_error_deg"] == pytest.approx(np.mean(errs))
        assert res[name]["std_over_estimators"] == pytest.approx(np.std(errs))
    # identical training sets and seeds: synthetic and refined arms agree exactly
    assert res["improvement_deg"] == {"mean": 0.0, "std": 0.0, "n": 3}
    gap = np.array(res["synthetic"]["per_estimator"]) - res["oracle"]["per_estimator"]
    assert res["gap_deg"]["mean"] == pytest.approx(gap.mean())
    one = errors_over_estimator_seeds(sets, target[160:], g[160:], fit, seeds=(0,))
    direct = domain_gap_errors(sets, target[160:], g[160:], train_fn=lambda a, b: fit(a, b, 0))
    for name in ("synthetic", "oracle"):
        assert one[name]["mean_angular_error_deg"] == direct[name]["mean_angular_error_deg"]
    with pytest.raises(SimganError, match="at least one"):
        errors_over_estimator_seeds(sets, target[160:], g[160:], fit, seeds=())
