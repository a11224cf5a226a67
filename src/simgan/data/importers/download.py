"""Fetch a dataset archive over HTTP with resume, checksum and a progress bar, then unpack.

Resume: bytes arrive in NAME.part; a later run asks the server for the rest (HTTP Range)
and appends when it answers 206, or starts over when it answers 200. The archive gets its
final name only after its size (and sha256, when known) checks out.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tqdm import tqdm

from simgan.atomic import check_output_path
from simgan.data.importers._report import ImportReport
from simgan.data.importers.mpiigaze import import_mpiigaze
from simgan.errors import SimganError

MPIIGAZE_URL = "http://datasets.d2.mpi-inf.mpg.de/MPIIGaze/MPIIGaze.tar.gz"
# sha256 of archives we have verified ourselves; the official MPIIGaze archive's is not
# published, so pass --sha256 to pin it (the download prints the value it computed)
KNOWN_SHA256: dict[str, str] = {}
BLOCK = 1 << 20


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def fetch(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    show_progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download url to dest, resuming dest.part if present; verify the size and sha256."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    if dest.is_file():
        _verify(dest, sha256, keep=True)
        return dest
    start = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "simgan", **({"Range": f"bytes={start}-"} if start else {})}
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # nothing left to send: the .part is already whole
            return _finish(part, dest, sha256, None)
        raise SimganError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SimganError(f"{url}: cannot connect ({reason}); check the URL and network") from None
    with resp:
        resumed = start > 0 and resp.status == 206 and _range_start(resp) == start
        start = start if resumed else 0
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        done = start
        try:
            with (
                part.open("ab" if resumed else "wb") as f,
                _bar(total, start, dest.name, show_progress) as bar,
            ):
                for block in iter(lambda: resp.read(BLOCK), b""):
                    f.write(block)
                    done += len(block)
                    bar.update(len(block))
        except (OSError, http.client.HTTPException) as e:  # dropped connection, timeout
            raise SimganError(
                f"{url}: download stopped after {done} bytes ({e}); run the same command "
                f"again to resume from {part}"
            ) from None
    return _finish(part, dest, sha256, total)


def _range_start(resp: Any) -> int | None:
    text = resp.headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
    try:
        return int(text.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _bar(total: int | None, initial: int, name: str, enabled: bool) -> tqdm:
    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
        disable=not enabled,
        leave=False,
    )


def _finish(part: Path, dest: Path, sha256: str | None, total: int | None) -> Path:
    size = part.stat().st_size
    if total is not None and size != total:
        raise SimganError(
            f"{part}: got {size} of {total} bytes; run the same command again to resume"
        )
    _verify(part, sha256, keep=False)
    os.replace(part, dest)
    return dest


def _verify(path: Path, sha256: str | None, keep: bool) -> None:
    if not sha256:
        return
    got = sha256_of(path)
    if got != sha256.lower():
        if not keep:
            path.unlink()
        raise SimganError(
            f"{path}: sha256 {got} does not match the expected {sha256.lower()}; "
            + ("the download was deleted, run again" if not keep else "delete it and run again")
        )


def safe_extract(archive: Path, folder: Path) -> None:
    """Unpack a tar archive into folder, refusing paths that would land outside it."""
    root = folder.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                target = (root / m.name).resolve()
                if not (target == root or root in target.parents):
                    raise SimganError(f"{archive}: member '{m.name}' points outside {folder}")
                if m.issym() or m.islnk() or m.isdev():
                    raise SimganError(f"{archive}: member '{m.name}' is a link or device")
            if hasattr(tarfile, "data_filter"):
                tar.extractall(folder, members=members, filter="data")
            else:  # pragma: no cover - Python < 3.11.4; members were checked above
                tar.extractall(folder, members=members)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise SimganError(f"{archive}: cannot unpack ({e}); delete it and download again") from None


def download_mpiigaze(
    folder: str | os.PathLike,
    *,
    url: str = MPIIGAZE_URL,
    sha256: str | None = None,
    out: str | os.PathLike | None = None,
    import_data: bool = True,
    overwrite: bool = False,
    show_progress: bool = True,
    **import_options: Any,
) -> tuple[Path, ImportReport | None]:
    """Fetch the MPIIGaze archive into folder, unpack it and import it (to folder/mpiigaze.h5).

    Returns (the archive's path, the import report or None). import_options go to
    `import_mpiigaze` (size, eval_subset, mirror_right, ...).
    """
    folder = Path(folder)
    out = Path(out) if out is not None else folder / "mpiigaze.h5"
    if folder.exists() and not folder.is_dir():
        raise SimganError(f"{folder}: is a file; give a folder to download into")
    folder.mkdir(parents=True, exist_ok=True)
    if import_data:
        check_output_path(out, overwrite)  # fail now, not after 2 GB
    name = Path(urllib.request.url2pathname(url.rsplit("/", 1)[-1].split("?")[0])).name
    archive = fetch(
        url, folder / (name or "MPIIGaze.tar.gz"), sha256 or KNOWN_SHA256.get(url), show_progress
    )
    marker = folder / f".{archive.name}.unpacked"
    if not marker.is_file():
        unpack_to = folder / ".unpacking"
        shutil.rmtree(unpack_to, ignore_errors=True)
        unpack_to.mkdir()
        safe_extract(archive, unpack_to)
        for item in unpack_to.iterdir():  # move in only once the whole archive unpacked
            target = folder / item.name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(item, target)
        unpack_to.rmdir()
        marker.write_text(sha256_of(archive) + "\n")
    if not import_data:
        return archive, None
    report = import_mpiigaze(
        folder, out, overwrite=overwrite, show_progress=show_progress, **import_options
    )
    report.notes.append(f"archive {archive} sha256 {marker.read_text().strip()}")
    return archive, report
