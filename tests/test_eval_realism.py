"""Realism scores: C2ST near 100% for different sets and near 50% for the same; KID near 0."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simgan.errors import SimganError
from simgan.evaluate import c2st, image_features, kid, kid_from_features, wilson_interval
from simgan.evaluate.realism import mmd2_unbiased_poly
from test_eval_toys import toy_eyes

REAL_NPZ = "real/mpiigaze_p00_36x60/test_images_36x60_uint8.npz"


def _noise(n, seed, size=(35, 55)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *size, 1), dtype=np.uint8)


def test_wilson_interval_matches_known_values():
    lo, hi = wilson_interval(517, 1000)  # the paper's human Turing test
    assert lo == pytest.approx(0.4860, abs=5e-4)
    assert hi == pytest.approx(0.5478, abs=5e-4)
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 10)[0] == 0.0
    assert 0.0 < wilson_interval(0, 10)[1] < 0.35


def test_c2st_tells_eyes_from_noise():
    eyes, _, _ = toy_eyes(200, seed=0)
    res = c2st(eyes, _noise(260, 1), seed=0, epochs=2, min_steps=0)
    assert res["c2st_accuracy"] > 0.95
    assert res["n_test"] == 200  # balanced: 100 of each, the larger set subsampled
    lo, hi = res["ci95"]
    assert lo <= res["c2st_accuracy"] <= hi


def test_c2st_is_near_chance_on_one_distribution():
    eyes, _, _ = toy_eyes(400, seed=0)
    res = c2st(eyes[:200], eyes[200:], seed=0, epochs=2, min_steps=0)
    assert abs(res["c2st_accuracy"] - 0.5) < 0.12
    assert res["ci95"][0] < 0.5 + 0.02


def test_c2st_is_seeded():
    eyes, _, _ = toy_eyes(60, seed=0)
    noise = _noise(60, 3)
    assert c2st(eyes, noise, seed=4, epochs=1, min_steps=0) == c2st(
        eyes, noise, seed=4, epochs=1, min_steps=0
    )


def test_c2st_trains_at_least_min_steps():
    eyes, _, _ = toy_eyes(60, seed=0)
    res = c2st(eyes, _noise(60, 3), seed=0, epochs=1, min_steps=10, batch_size=64)
    assert res["c2st_epochs"] == 10  # 60 training images: one step per epoch


def test_sizes_must_match_unless_resize():
    eyes, _, _ = toy_eyes(40, seed=0)
    big = _noise(40, 0, size=(36, 60))
    with pytest.raises(SimganError, match="resize"):
        c2st(eyes, big, seed=0, epochs=1, min_steps=0)
    with pytest.raises(SimganError, match="resize"):
        kid(eyes, big)
    res = c2st(big, np.repeat(eyes, 3, axis=-1), seed=0, epochs=1, resize=True, min_steps=0)
    assert res["n_test"] == 40
    with pytest.raises(SimganError, match="at least"):
        c2st(eyes[:3], eyes[3:6])


def test_unbiased_mmd_is_zero_mean_for_one_distribution():
    rng = np.random.default_rng(0)
    vals = [
        mmd2_unbiased_poly(rng.normal(size=(50, 8)), rng.normal(size=(50, 8))) for _ in range(200)
    ]
    assert abs(np.mean(vals)) < 3 * np.std(vals) / np.sqrt(len(vals))
    shifted = mmd2_unbiased_poly(rng.normal(size=(50, 8)), rng.normal(0.7, 1, size=(50, 8)))
    assert shifted > 10 * np.std(vals)


def test_kid_full_kernel_and_subset_paths_agree():
    rng = np.random.default_rng(1)
    fx, fy = rng.normal(size=(300, 16)), rng.normal(0.2, 1, size=(300, 16))
    a = kid_from_features(fx, fy, seed=0, subsets=5, subset_size=100)
    import simgan.evaluate.realism as realism

    old, realism.FULL_KERNEL_MAX = realism.FULL_KERNEL_MAX, 0
    try:
        b = kid_from_features(fx, fy, seed=0, subsets=5, subset_size=100)
    finally:
        realism.FULL_KERNEL_MAX = old
    assert a["kid"] == pytest.approx(b["kid"], rel=1e-9)


def test_kid_near_zero_for_same_distribution_and_large_for_different():
    eyes, _, _ = toy_eyes(400, seed=0)
    same = kid(eyes[:200], eyes[200:], seed=0, subsets=10, subset_size=200)
    diff = kid(eyes[:200], _noise(200, 1), seed=0, subsets=10, subset_size=200)
    assert diff["kid"] > 100 * abs(same["kid"])
    assert diff["kid"] > 10 * diff["kid_std"]
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-6
    assert same["kid_features"] == "random-cnn"
    px = kid(eyes[:200], _noise(200, 1), features="pixels", subsets=5, subset_size=100)
    assert px["kid"] > 0.1


def test_random_features_are_fixed_by_seed():
    eyes, _, _ = toy_eyes(8, seed=0)
    f = image_features(eyes)
    assert f.shape == (8, 2 * (1 + 32 + 64 + 128 + 128))
    np.testing.assert_array_equal(f, image_features(eyes))
    assert not np.allclose(f, image_features(eyes, seed=1))
    with pytest.raises(SimganError, match="unknown KID features"):
        image_features(eyes, kind="inception")


def test_real_eyes_vs_real_eyes_and_vs_toy_eyes(shared_data):
    path = shared_data / REAL_NPZ
    if not path.exists():
        pytest.skip(f"{path} not found")
    real = np.load(path)["images"][..., None]
    perm = np.random.default_rng(0).permutation(len(real))
    a, b = real[perm[:300]], real[perm[300:600]]
    toy, _, _ = toy_eyes(300, seed=0, size=real.shape[1:3])
    same = c2st(a, b, seed=0, epochs=2, min_steps=0)
    diff = c2st(a, toy, seed=0, epochs=2, min_steps=0)
    assert abs(same["c2st_accuracy"] - 0.5) < 0.1
    assert diff["c2st_accuracy"] > 0.95
    # two-sided binomial test: real halves are not told apart at the 1% level
    k = round(same["c2st_accuracy"] * same["n_test"])
    assert stats.binomtest(k, same["n_test"], 0.5).pvalue > 0.01
    k_same = kid(a, b, seed=0, subsets=10, subset_size=300)
    k_diff = kid(a, toy, seed=0, subsets=10, subset_size=300)
    assert k_diff["kid"] > 100 * abs(k_same["kid"])
