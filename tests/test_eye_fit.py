"""Fitting the simulator to an unlabeled set: recover known settings from renders."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from simgan.cli import main
from simgan.data import DatasetReader, DatasetWriter
from simgan.data.eyes import DEFAULT_PROFILE, fit_profile, load_profile, render_eyes
from simgan.data.eyes.fit import GEOMETRY, mirror_twin
from simgan.data.eyes.statistics import eye_statistics, statistics_distance
from simgan.errors import SimganError

# the "real" set: renders whose settings the fit must find, far from the defaults
TRUTH = replace(
    DEFAULT_PROFILE, pitch_range=(-5, 15), yaw_range=(-25, 5), mirror_share=0.0, jpeg_quality=75
).with_ranges(shift_y=(-0.04, 0.04))


def centre(r) -> float:
    return (r[0] + r[1]) / 2


@pytest.fixture(scope="module")
def target() -> np.ndarray:
    return render_eyes(1000, seed=0, size=(36, 60), profile=TRUTH)[0]


def test_statistics_tell_the_settings_apart(target):
    """The distance is near its floor for the true settings and large for the defaults, and
    the mirrored twin (same iris positions, the other eye side) is told apart."""
    t = eye_statistics(target)

    def dist(p):
        return statistics_distance(eye_statistics(render_eyes(400, 7, (36, 60), profile=p)[0]), t)

    floor = dist(TRUTH)
    assert floor < 2.0
    assert dist(DEFAULT_PROFILE) > 10 * floor
    assert dist(mirror_twin(TRUTH)) > 1.5 * floor


def test_fit_recovers_the_camera_side_and_framing(target):
    """A quick fit (geometry only): JPEG and equalization exactly, the side, the iris
    positions within a pixel, the distance a tenth of what it was."""
    result = fit_profile(target, count=200, evaluations=600, passes=2, settings=GEOMETRY)
    p = result.profile
    assert p.jpeg_quality == 75 and p.equalize
    assert p.mirror_share < 0.3  # truth 0: left eyes only
    assert result.distance_after < result.distance_before / 10
    real, fit = result.real_statistics, result.after_statistics
    for k in ("iris_x_p10_50_90", "iris_y_p10_50_90"):
        np.testing.assert_allclose(fit[k], real[k], atol=1.0)


@pytest.mark.slow
def test_full_fit_recovers_gaze_ranges_and_shift(target):
    """The full fit (every setting, 1,800 renders of 400): the side and the yaw centre
    within 4 degrees; pitch and vertical framing trade against each other for the
    statistics (the upper lid follows the eye's pitch), so only within 8 degrees and 5% of
    the height (measured: 6.4 deg and 3.5%)."""
    p = fit_profile(target, count=400, evaluations=1800, passes=3).profile
    assert p.mirror_share < 0.2 and p.jpeg_quality == 75
    assert abs(centre(p.yaw_range) + 10) < 4
    assert abs(centre(p.pitch_range) - 5) < 8
    assert abs(centre(p.range_of("shift_y"))) < 0.05


def test_fit_refuses_bad_arguments(target):
    with pytest.raises(SimganError, match="unknown settings"):
        fit_profile(target, settings=("colour",))
    with pytest.raises(SimganError, match="count >= 50"):
        fit_profile(target, count=10)
    with pytest.raises(SimganError, match="grayscale uint8"):
        fit_profile(target.astype(np.float32))


def test_cli_like_fits_saves_and_reuses_the_profile(tmp_path, target, capsys):
    real = tmp_path / "real.h5"
    with DatasetWriter(real, attrs={"domain": "real"}) as w:
        w.append(target[:300])
    out = tmp_path / "syn.h5"
    args = ["synth", "eyes", "--count", "50", "-o", str(out), "--like", str(real)]
    args += ["--fit-evaluations", "60", "--no-check", "--fit-metric", "statistics"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "fitted: gaze pitch" in printed and "statistics distance" in printed
    saved = tmp_path / "syn.profile.json"
    prof = load_profile(saved)
    fit = json.loads(saved.read_text())["fit"]
    assert fit["distance_after"] <= fit["distance_before"] and fit["like"] == str(real)
    with DatasetReader(out) as r:
        assert r.image_shape == (36, 60, 1)  # the real set's size
        first = r.read(0, 50)[0]
    again = tmp_path / "again.h5"
    assert (
        main(
            [
                "synth",
                "eyes",
                "--count",
                "50",
                "-o",
                str(again),
                "--profile",
                str(saved),
                "--size",
                "36x60",
            ]
        )
        == 0
    )
    with DatasetReader(again) as r:
        assert r.read(0, 50)[0].tobytes() == first.tobytes()
    assert prof.jpeg_quality in (0, 45, 60, 75, 85, 95)
    # a size other than the real set's is refused before anything is written
    bad = tmp_path / "bad.h5"
    assert main([*args[:5], str(bad), *args[6:], "--size", "35x55"]) == 2
    assert "--size" in capsys.readouterr().err and not bad.exists()


def test_cli_like_with_kid_prints_both_distances(tmp_path, target, capsys):
    real = tmp_path / "real.h5"
    with DatasetWriter(real, attrs={"domain": "real"}) as w:
        w.append(target[:200])
    out = tmp_path / "syn.h5"
    args = ["synth", "eyes", "--count", "20", "-o", str(out), "--like", str(real), "--quiet"]
    assert main([*args, "--fit-evaluations", "20", "--no-check"]) == 0
    fit = json.loads((tmp_path / "syn.profile.json").read_text())["fit"]
    assert fit["image_distance_after"] <= fit["image_distance_before"]
    printed = capsys.readouterr().out
    assert "KID of the fit's renders" in printed and "pass 1" not in printed  # --quiet
