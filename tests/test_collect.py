"""`simgan collect`: eyes from a real photograph (scikit-image's astronaut) and a video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from simgan.cli import main
from simgan.data import read_dataset
from simgan.data.importers._detect import haar_available
from simgan.data.importers.collect import collect_eyes, sharpness
from simgan.errors import SimganError

data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def looks_like_an_eye(crop: np.ndarray) -> bool:
    """A dark iris near the middle of a brighter patch."""
    c = crop[..., 0].astype(float)
    return c[10:26, 12:44].min() < 0.5 * c.mean()


def test_astronaut_both_eyes(photo, tmp_path):
    out = tmp_path / "real.h5"
    report = collect_eyes([photo], out)
    d = read_dataset(out)
    assert report.counts["faces"] == 1 and report.written == len(d) == 2
    assert d.images.shape == (2, 35, 55, 1) and d.attrs["domain"] == "real"
    np.testing.assert_array_equal(np.sort(d.labels["side"]), [0, 1])
    assert all(looks_like_an_eye(c) for c in d.images)
    # the right eye was mirrored: its crop equals the un-mirrored one flipped
    keep = tmp_path / "keep.h5"
    collect_eyes([photo], keep, mirror_right=False)
    k = read_dataset(keep)
    r = int(np.flatnonzero(d.labels["side"] == 1)[0])
    np.testing.assert_array_equal(d.images[r], k.images[r][:, ::-1])


def test_duplicates_and_equalize(photo, tmp_path):
    out = tmp_path / "real.h5"
    report = collect_eyes([photo, photo], out, equalize=True)
    assert report.written == 2 and report.skipped["duplicate of an earlier crop"] == 2
    d = read_dataset(out)
    assert d.images.min() == 0 and d.images.max() == 255  # equalized
    assert "duplicate" in report.summary()


def test_video_every_nth_frame(photo, tmp_path):
    video = tmp_path / "clip.avi"
    frame = cv2.imread(str(photo))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, frame.shape[1::-1])
    assert writer.isOpened()
    for i in range(12):
        writer.write(np.roll(frame, 3 * i, axis=1))  # the face drifts right
    writer.release()
    out = tmp_path / "video.h5"
    report = collect_eyes([video], out, every=5, dup_bits=-1)
    assert report.counts["videos"] == 1 and report.counts["video_frames"] == 3  # 0, 5, 10
    assert report.written == 6 and report.counts["faces"] == 3
    report = collect_eyes([video], tmp_path / "dedup.h5", every=5, max_frames=2, overwrite=True)
    assert report.counts["video_frames"] == 2


def test_nothing_found_is_an_error(photo, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((300, 400), 128, np.uint8))
    bad_video = tmp_path / "broken.mp4"
    bad_video.write_text("not a video")
    out = tmp_path / "none.h5"
    code = main(["collect", str(blank), str(bad_video), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "no eye found" in err and "video cannot be opened" in err and "blank.png" in err
    with pytest.raises(SimganError, match="blurred"):
        collect_eyes([photo], out, min_sharpness=10.0)
    with pytest.raises(SimganError, match="no such file"):
        collect_eyes([tmp_path / "missing.jpg"], out)
    assert not out.exists()


def test_sharpness_prefers_sharp_crops(rng):
    crop = rng.integers(0, 256, (35, 55), dtype=np.uint8)
    assert sharpness(crop) > 10 * sharpness(cv2.GaussianBlur(crop, (0, 0), 2.0))


def test_detect_eyes_directly(photo, tmp_path):
    out = tmp_path / "eyes.h5"
    if not haar_available():
        with pytest.raises(SimganError, match="Haar"):
            collect_eyes([photo], out, detect="eyes")
        return
    report = collect_eyes([photo], out, detect="eyes")
    d = read_dataset(out)
    assert report.written >= 2 and "side" not in d.labels
