"""MPIIGaze (Zhang et al., CVPR 2015): Data/Normalized/pXX/dayYY.mat -> canonical file.

Each .mat holds `data.left` / `data.right` with `image` (N, 36, 60) uint8, `gaze` (N, 3)
unit vectors and `pose` (N, 3) Rodrigues head rotations in the normalized camera frame,
plus `filenames` (N,). One .mat is read at a time, so all 15 participants (213,659 face
images, two eyes each) stream through a fixed amount of memory.

Right eyes are mirrored by default, as the standard leave-one-person-out protocol does:
image[:, ::-1], gaze x -> -x (yaw -> -yaw), head rotation (rx, ry, rz) -> (rx, -ry, -rz).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from simgan.data.importers._chunks import Chunk, write_chunks
from simgan.data.importers._crop import DEFAULT_SIZE
from simgan.data.importers._inputs import progress, require_dir
from simgan.data.importers._options import ImportOptions
from simgan.data.importers._report import ImportReport
from simgan.errors import SimganError
from simgan.images import resize_images

NORMALIZED = Path("Data") / "Normalized"
EVAL_LISTS = Path("Evaluation Subset") / "sample list for eye image"
SIDES = ("left", "right")
NOTHING_HINT = "check that the folder holds MPIIGaze Data/Normalized"


class BadMat(Exception):
    """A .mat file that is not an MPIIGaze normalized day file (reason in the message)."""


def find_normalized(root: str | os.PathLike) -> tuple[Path, Path]:
    """(the Data/Normalized folder, the MPIIGaze root) for a user-given path.

    Accepts the MPIIGaze folder, its parent, or Data/Normalized itself.
    """
    root = require_dir(root, "MPIIGaze dataset (MPIIGaze/Data/Normalized/pXX/dayYY.mat)")
    for base in (root, root / "MPIIGaze"):
        if (base / NORMALIZED).is_dir():
            return base / NORMALIZED, base
    if any(root.glob("p[0-9][0-9]")):
        return root, root.parent.parent
    raise SimganError(
        f"{root}: no Data/Normalized/pXX folders found; give the MPIIGaze folder "
        "unpacked from MPIIGaze.tar.gz (or fetch it with 'simgan download mpiigaze DIR')"
    )


def _stack(a: np.ndarray, ndim: int) -> np.ndarray:
    # squeeze_me turns a day with one sample into a single image / vector: restore the N axis
    a = np.asarray(a)
    return a[None] if a.ndim == ndim - 1 else a


def read_day(path: Path) -> tuple[dict[str, tuple[np.ndarray, ...]], list[str] | None]:
    """One day file -> ({side: (images (n,H,W) uint8, gaze (n,3), pose (n,3))}, filenames)."""
    try:
        mat = scipy.io.loadmat(path, struct_as_record=False, squeeze_me=True)
    except Exception as e:  # scipy raises many types for corrupt files
        raise BadMat(f"not a readable MATLAB file ({str(e)[:80] or type(e).__name__})") from None
    if "data" not in mat:
        raise BadMat("has no 'data' struct, so it is not an MPIIGaze normalized .mat")
    out = {}
    for side in SIDES:
        s = getattr(mat["data"], side, None)
        if s is None or not all(hasattr(s, k) for k in ("image", "gaze", "pose")):
            raise BadMat(f"'data.{side}' lacks image/gaze/pose")
        images = np.asarray(s.image)
        if images.size == 0:
            out[side] = (np.zeros((0, 36, 60), np.uint8), np.zeros((0, 3)), np.zeros((0, 3)))
            continue
        images = _stack(images, 3)
        gaze = _stack(np.asarray(s.gaze, dtype=np.float64), 2)
        pose = _stack(np.asarray(s.pose, dtype=np.float64), 2)
        n = images.shape[0]
        if images.ndim != 3 or gaze.shape != (n, 3) or pose.shape != (n, 3):
            raise BadMat(
                f"'data.{side}' is not image (N, H, W), gaze (N, 3), pose (N, 3) "
                f"(got {images.shape}, {gaze.shape}, {pose.shape})"
            )
        out[side] = (np.clip(images, 0, 255).astype(np.uint8), gaze, pose)
    names = mat.get("filenames")
    if names is None:
        return out, None
    names = [str(names)] if np.ndim(names) == 0 else [str(x) for x in np.ravel(names)]
    return out, names


def read_eval_subset(list_file: Path) -> dict[str, list[tuple[str, str]]]:
    """`dayYY/NNNN.jpg left` lines -> {day: [(file name, side), ...]} in file order."""
    days: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for i, line in enumerate(list_file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        m = re.fullmatch(r"\s*(day\d+)[/\\](\S+)\s+(left|right)\s*", line)
        if not m:
            raise SimganError(
                f"{list_file}:{i}: expected 'dayYY/NNNN.jpg left|right', got {line!r}"
            )
        days[m[1]].append((m[2], m[3]))
    return days


def _number(name: str) -> int:
    return int(re.search(r"\d+", name)[0])


def _select_subset(
    day: dict,
    names: list[str] | None,
    wanted: list[tuple[str, str]],
    where: Path,
    report: ImportReport,
) -> dict[str, tuple[np.ndarray, ...]]:
    if names is None:
        raise BadMat("has no 'filenames', so the evaluation subset cannot be matched")
    index = {n: i for i, n in enumerate(names)}
    picked: dict[str, list[int]] = {"left": [], "right": []}
    for fname, side in wanted:
        if fname in index and index[fname] < len(day[side][0]):
            picked[side].append(index[fname])
        else:
            report.skip("listed in the evaluation subset but missing from the .mat", where)
    return {s: tuple(a[picked[s]] for a in day[s]) for s in SIDES}


@dataclass(frozen=True, kw_only=True)
class MpiigazeOptions(ImportOptions):
    """Which MPIIGaze samples `import_mpiigaze` reads, and whether right eyes are mirrored."""

    mirror_right: bool
    eval_subset: bool
    participants: Sequence[int] | None
    sides: Sequence[str]


def iter_mpiigaze(
    root: str | os.PathLike, report: ImportReport, opts: MpiigazeOptions
) -> Iterator[Chunk]:
    """Yield one chunk per day file: images uint8 (n, h, w, C) and their labels.

    Order: participants, then days, then left eyes before right eyes (with eval_subset:
    days in list order, each eye's samples in list order).
    """
    normalized, base = find_normalized(root)
    people = sorted(p for p in normalized.glob("p[0-9][0-9]") if p.is_dir())
    participants = opts.participants
    if participants is not None:
        people = [p for p in people if _number(p.name) in set(participants)]
    if not people:
        raise SimganError(f"{normalized}: no participant folders pXX match {participants}")
    jobs: list[tuple[Path, int, list | None]] = []
    for person in people:
        if opts.eval_subset:
            list_file = base / EVAL_LISTS / f"{person.name}.txt"
            if not list_file.is_file():
                raise SimganError(
                    f"{list_file}: evaluation subset list not found; unpack the whole "
                    "MPIIGaze archive or import without --eval-subset"
                )
            jobs += [
                (person / f"{d}.mat", _number(person.name), w)
                for d, w in read_eval_subset(list_file).items()
            ]
        else:
            jobs += [(f, _number(person.name), None) for f in sorted(person.glob("day*.mat"))]
    report.counts.update(participants=len(people), day_files=0)
    for path, subject, wanted in progress(jobs, opts.show_progress, "MPIIGaze", len(jobs)):
        try:
            if not path.is_file():
                raise BadMat("listed in the evaluation subset but the file is missing")
            day, names = read_day(path)
            if wanted is not None:
                day = _select_subset(day, names, wanted, path, report)
        except BadMat as e:
            report.skip(str(e), path, opts.strict)
            continue
        report.counts["day_files"] += 1
        chunk = _day_chunk(day, subject, _number(path.stem), path, report, opts)
        if chunk is not None:
            yield chunk


def _day_chunk(
    day: dict[str, tuple[np.ndarray, ...]],
    subject: int,
    day_no: int,
    path: Path,
    report: ImportReport,
    opts: MpiigazeOptions,
) -> Chunk | None:
    """The usable eyes of one day file as one chunk (None when there are none)."""
    images, gaze, pose, side = [], [], [], []
    for s in opts.sides:
        img, g, p = day[s]
        norm = np.linalg.norm(g, axis=1) if len(g) else np.zeros(0)
        ok = np.isfinite(norm) & (norm > 1e-6) & np.isfinite(p).all(axis=1)
        for _ in range(int((~ok).sum())):
            report.skip("gaze or pose is zero or not finite", path)
        img, g, p = img[ok], g[ok] / norm[ok, None], p[ok].copy()
        if s == "right" and opts.mirror_right:
            img = img[:, :, ::-1]
            g = g * np.array([-1.0, 1.0, 1.0])
            p = p * np.array([1.0, -1.0, -1.0])  # the rotation seen in a mirror
        images.append(img)
        gaze.append(g)
        pose.append(p)
        side.append(np.full(len(img), SIDES.index(s), np.int8))
    n = sum(len(i) for i in images)
    if n == 0:
        return None
    stacked = np.concatenate(images)
    report.saw_size(stacked.shape[1:3], opts.size, "stretch", n)
    batch = resize_images(stacked[..., None], opts.size)  # (n, h, w, 1)
    if opts.channels == 3:
        batch = np.repeat(batch, 3, axis=3)
    labels = {
        "gaze": np.concatenate(gaze).astype(np.float32),
        "head_pose": np.concatenate(pose).astype(np.float32),
        "side": np.concatenate(side),
        "subject": np.full(n, subject, np.int64),
        "day": np.full(n, day_no, np.int64),
    }
    return batch, labels


def import_mpiigaze(
    root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    channels: int = 1,
    mirror_right: bool = True,
    eval_subset: bool = False,
    participants: Sequence[int] | None = None,
    sides: Sequence[str] = SIDES,
    overwrite: bool = False,
    strict: bool = False,
    show_progress: bool = False,
) -> ImportReport:
    """Import MPIIGaze's normalized eye patches into the dataset file `out` (streaming)."""
    opts = MpiigazeOptions.pick(locals())
    bad = [s for s in sides if s not in SIDES]
    if bad or not sides:
        raise SimganError(f"sides must be 'left' and/or 'right', got {list(sides)}")
    report = ImportReport(source="mpiigaze")
    chunks = iter_mpiigaze(root, report, opts)
    attrs = {
        "domain": "real",
        "source": "mpiigaze",
        "source_path": str(Path(root).resolve()),
        "head_pose_convention": "Rodrigues rotation vector, MPIIGaze normalized camera frame"
        + ("; right eyes mirrored: (rx, -ry, -rz)" if mirror_right else ""),
        "right_eyes_mirrored": "true" if mirror_right and "right" in sides else "false",
        "subset": "evaluation" if eval_subset else "all",
    }
    return write_chunks(out, chunks, report, attrs, overwrite, nothing_hint=NOTHING_HINT)
