"""SynthesEyes import: PNG + .pkl pairs, the .pkl read by a restricted Unpickler only."""

from __future__ import annotations

import os
import pickle
import struct

import cv2
import numpy as np
import pytest

from simgan.cli import main
from simgan.data import landmark_names, read_dataset
from simgan.data.gaze_conventions import vector_to_pitchyaw
from simgan.data.importers._safepickle import safe_load
from simgan.data.importers.syntheseyes import import_syntheseyes
from simgan.errors import SimganError


def py2_str(b: bytes) -> bytes:
    return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b


def py2_array(a: np.ndarray) -> bytes:
    """The opcodes Python 2's cPickle (protocol 2) writes for a float64 ndarray."""
    a = np.ascontiguousarray(a, dtype="<f8")
    shape = b"".join(b"K" + bytes([n]) for n in a.shape) + {1: b"\x85", 2: b"\x86"}[a.ndim]
    dtype = (
        b"cnumpy\ndtype\n"
        + py2_str(b"f8")
        + b"K\x00K\x01\x87R(K\x03"
        + py2_str(b"<")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    return (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85"
        + py2_str(b"b")
        + b"\x87R(K\x01"
        + shape
        + dtype
        + b"\x89"
        + py2_str(a.tobytes())
        + b"tb"
    )


def py2_pickle(d: dict) -> bytes:
    """A dict of str -> ndarray | dict, written the way Python 2 did (str keys as bytes)."""

    def value(v):
        if isinstance(v, dict):
            return b"}(" + b"".join(py2_str(k.encode()) + value(x) for k, x in v.items()) + b"u"
        return py2_array(np.asarray(v))

    return b"\x80\x02" + value(d) + b"."


LIDS = np.array([[20.0, 40], [60, 25], [100, 40], [60, 55]])


def labels(look_vec) -> dict:
    ldmks = {"ldmks_lids_2d": LIDS, "ldmks_iris_2d": LIDS[:2] + 1, "ldmks_pupil_2d": LIDS[:3] + 2}
    return {"look_vec": np.asarray(look_vec, float), "head_pose": np.eye(3), "ldmks": ldmks}


@pytest.fixture
def folder(tmp_path):
    f = tmp_path / "SynthEyes_data" / "f01"
    f.mkdir(parents=True)
    img = np.zeros((80, 120, 4), np.uint8)
    img[..., :3], img[..., 3] = 90, 255
    img[:, :60, :3] = 200  # bright left half
    # gaze in the renderer's camera space (y up, z toward the viewer): 30 deg up, at camera
    for i, look in enumerate([(0, 0.5, 0.8660254), (0.5, 0, 0.8660254)]):
        cv2.imwrite(str(f / f"f01_{i}.png"), img)
        (f / f"f01_{i}.pkl").write_bytes(py2_pickle(labels(look)))
    return tmp_path / "SynthEyes_data"


def test_python2_pickles_gaze_and_landmarks(folder, tmp_path):
    out = tmp_path / "se.h5"
    report = import_syntheseyes(folder, out)
    d = read_dataset(out)
    assert report.written == 2 and report.notes == []
    assert d.images.shape == (2, 35, 55, 1) and d.images[0, 10, 2, 0] > d.images[0, 10, 50, 0]
    py = np.degrees(vector_to_pitchyaw(d.labels["gaze"]))
    np.testing.assert_allclose(py, [[30, 0], [0, -30]], atol=1e-4)
    np.testing.assert_allclose(d.labels["head_pose"], 0, atol=1e-6)  # identity rotation
    # 120x80 -> centre crop 120x76 (rows 2..78) -> 55x35: x * 55/120, (y - 2) * 35/76
    lm = d.labels["landmarks"][0]
    np.testing.assert_allclose(lm[:4], (LIDS - [0, 2]) * [55 / 120, 35 / 76], atol=1e-4)
    names = landmark_names(d.attrs)
    assert len(names) == 4 + 2 + 3 and names[0] == "lids_0" and names[-1] == "pupil_2"


def test_gaze_frame_switch_and_warning(folder, tmp_path):
    out = tmp_path / "se.h5"
    report = import_syntheseyes(folder, out, gaze_frame="normalized")
    assert "point away from the camera" in report.notes[0]


class Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_malicious_pickle_is_refused(folder, tmp_path):
    target = str(tmp_path / "pwned")
    bad = folder / "f01" / "f01_1.pkl"
    bad.write_bytes(pickle.dumps({"look_vec": Evil(target)}))
    with pytest.raises(SimganError, match="refusing to load 'posix.mkdir'|refusing to load 'os"):
        safe_load(bad)
    report = import_syntheseyes(folder, tmp_path / "se.h5")
    assert report.written == 1 and sum(report.skipped.values()) == 1
    assert "refusing" in report.summary()
    assert not os.path.exists(target)


def test_python3_pickles_load_too(tmp_path):
    p = tmp_path / "x.pkl"
    for proto in (2, pickle.HIGHEST_PROTOCOL):
        p.write_bytes(pickle.dumps(labels([0, 0, 1.0]), protocol=proto))
        d = safe_load(p)
        np.testing.assert_array_equal(d["ldmks"]["ldmks_lids_2d"], LIDS)


def test_bad_pairs(folder, tmp_path):
    (folder / "f01" / "f01_0.pkl").unlink()
    (folder / "f01" / "f01_1.pkl").write_bytes(b"garbage")
    out = tmp_path / "se.h5"
    with pytest.raises(SimganError, match="nothing usable.*without a .pkl.*not a readable pickle"):
        import_syntheseyes(folder, out)
    assert not out.exists()
    assert main(["import", "syntheseyes", str(tmp_path / "none"), "-o", str(out)]) == 2
