"""A folder of images (png/jpg/bmp, any size, gray or colour), optionally with labels.csv.

labels.csv has a header: one file-name column (file, filename, file_name, image, path or
name) and any of these label columns:
    label                       class id (integers, or names mapped to ids in sorted order)
    gaze_x, gaze_y, gaze_z      gaze vector, MPIIGaze normalized frame (y down)
    look_x, look_y, look_z      UnityEyes look_vec (y up), converted
    pitch, yaw                  gaze angles in radians (pitch = asin(-y), yaw = atan2(-x, -z))
    subject, day                integers;  side  0/1 or left/right
Other columns are reported as ignored. Images are centre-cropped to the target aspect
(fit "crop") or squashed ("stretch"), then resized.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from simgan.data.gaze_conventions import pitchyaw_to_vector, unityeyes_to_normalized
from simgan.data.importers._chunks import Sample, chunked, write_chunks
from simgan.data.importers._crop import DEFAULT_SIZE, IMAGE_SUFFIXES, fit_image, read_image
from simgan.data.importers._inputs import natural_key, progress, require_dir, require_file
from simgan.data.importers._options import FitOptions
from simgan.data.importers._report import ImportReport
from simgan.errors import SimganError

FILE_COLUMNS = ("file", "filename", "file_name", "image", "path", "name")
GAZE_GROUPS = {
    "gaze": ("gaze_x", "gaze_y", "gaze_z"),
    "look": ("look_x", "look_y", "look_z"),
    "pitchyaw": ("pitch", "yaw"),
}
INT_COLUMNS = ("label", "subject", "day", "side")


def list_images(folder: Path, recursive: bool) -> list[Path]:
    """Image files in folder (sorted by name, numbers in numeric order)."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = [p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: [natural_key(Path(s)) for s in p.relative_to(folder).parts])


class LabelTable:
    """labels.csv parsed and checked: file name -> {label name: value}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in reader]
        self.file_col = next((c for c in FILE_COLUMNS if c in columns), None)
        if self.file_col is None:
            raise SimganError(f"{path}: no file-name column; name one of {', '.join(FILE_COLUMNS)}")
        groups = [g for g, cols in GAZE_GROUPS.items() if any(c in columns for c in cols)]
        for g in groups:
            missing = [c for c in GAZE_GROUPS[g] if c not in columns]
            if missing:
                raise SimganError(f"{path}: gaze columns {missing} are missing")
        if len(groups) > 1:
            raise SimganError(f"{path}: give the gaze one way only, not {groups}")
        self.gaze = groups[0] if groups else None
        self.ints = [c for c in INT_COLUMNS if c in columns]
        used = {self.file_col, *self.ints, *(GAZE_GROUPS[self.gaze] if self.gaze else ())}
        self.ignored = [c for c in columns if c not in used]
        self.label_names: list[str] | None = None
        if "label" in self.ints and any(not _is_int(r.get("label", "")) for r in rows):
            self.label_names = sorted({r["label"] for r in rows if r.get("label")})
        self.rows: dict[str, dict[str, str]] = {}
        for r in rows:
            name = r.get(self.file_col, "").replace("\\", "/")
            if name in self.rows:
                raise SimganError(f"{path}: '{name}' is listed twice")
            self.rows[name] = r

    def lookup(self, rel: str) -> dict[str, str] | None:
        """The row for an image given by its path relative to the folder (or its name)."""
        row = self.rows.pop(rel, None)
        return row if row is not None else self.rows.pop(Path(rel).name, None)

    def values(self, row: dict[str, str]) -> dict[str, np.ndarray]:
        """A row -> canonical label values; ValueError when a value does not parse."""
        out: dict[str, np.ndarray] = {}
        for c in self.ints:
            text = row.get(c, "")
            if c == "label" and self.label_names is not None:
                out[c] = np.int64(self.label_names.index(text))
            elif c == "side" and text.lower() in ("left", "right"):
                out[c] = np.int8(text.lower() == "right")
            else:
                out[c] = np.int64(int(text))
        if self.gaze:
            v = np.array([float(row[c]) for c in GAZE_GROUPS[self.gaze]])
            if not np.isfinite(v).all():
                raise ValueError("gaze is not finite")
            if self.gaze == "pitchyaw":
                out["gaze"] = pitchyaw_to_vector(v[None])[0]
            else:
                if np.linalg.norm(v) < 1e-9:
                    raise ValueError("gaze is the zero vector")
                out["gaze"] = (
                    unityeyes_to_normalized(v)
                    if self.gaze == "look"
                    else (v / np.linalg.norm(v)).astype(np.float32)
                )
        if "side" in out and out["side"] not in (0, 1):
            raise ValueError("side must be 0/left or 1/right")
        return out


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def iter_folder(
    folder: Path,
    images: Sequence[Path],
    table: LabelTable | None,
    report: ImportReport,
    opts: FitOptions,
) -> Iterator[Sample]:
    """Yield (image, labels) per usable image; rows no image matched are counted as skipped."""
    for path in progress(images, opts.show_progress, "images", len(images)):
        rel = path.relative_to(folder).as_posix()
        labels: dict[str, np.ndarray] = {}
        if table is not None:
            row = table.lookup(rel)
            if row is None:
                report.skip(f"no row in {table.path.name}", path, opts.strict)
                continue
            try:
                labels = table.values(row)
            except ValueError as e:
                report.skip(f"bad label value ({e})", path, opts.strict)
                continue
        try:
            source = read_image(path)
            image = fit_image(source, opts.size, opts.channels, opts.fit_mode)[0]
        except SimganError:
            report.skip("not a decodable image", path, opts.strict)
            continue
        report.saw_size(source.shape, opts.size, opts.fit_mode)
        yield image, labels
    if table is not None:
        for name in table.rows:  # what is left was never matched by an image
            report.skip(f"listed in {table.path.name} but no such image", name)


def import_folder(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    channels: int = 1,
    labels: str | os.PathLike | None = None,
    fit_mode: str = "crop",
    recursive: bool = False,
    domain: str | None = None,
    overwrite: bool = False,
    strict: bool = False,
    show_progress: bool = False,
) -> ImportReport:
    """Import a folder of images (with FOLDER/labels.csv or `labels`, if any) into `out`."""
    opts = FitOptions.pick(locals())
    folder = require_dir(folder, "images (png/jpg/bmp)")
    if labels is None and (folder / "labels.csv").is_file():
        labels = folder / "labels.csv"
    table = LabelTable(require_file(labels, "labels CSV")) if labels is not None else None
    images = list_images(folder, recursive)
    if not images:
        raise SimganError(
            f"{folder}: no png/jpg/bmp images found"
            + ("" if recursive else "; use --recursive to search sub-folders")
        )
    report = ImportReport(source="folder")
    report.counts["images_found"] = len(images)
    attrs: dict = {"source": "folder", "source_path": str(folder.resolve()), "fit": fit_mode}
    if domain:
        attrs["domain"] = domain
    if table is not None:
        attrs["labels_file"] = str(table.path.resolve())
        if table.label_names:
            attrs["label_names"] = table.label_names
        if table.ignored:
            report.notes.append(f"ignored columns of {table.path.name}: {table.ignored}")
    chunks = chunked(iter_folder(folder, images, table, report, opts))
    return write_chunks(out, chunks, report, attrs, overwrite)
