"""`simgan download mpiigaze`: only against a local HTTP server on 127.0.0.1 this test runs."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest
import scipy.io

from simgan.cli import main
from simgan.data import read_dataset
from simgan.data.importers.download import MPIIGAZE_URL, download_mpiigaze, fetch, safe_extract
from simgan.errors import SimganError


def archive_bytes() -> bytes:
    """MPIIGaze.tar.gz holding one participant, one day of 2 samples."""
    mat = io.BytesIO()
    side = {
        "image": np.full((2, 36, 60), 99, np.uint8),
        "gaze": [[0, 0, -1.0]] * 2,
        "pose": np.zeros((2, 3)),
    }
    scipy.io.savemat(
        mat,
        {
            "data": {"left": side, "right": side},
            "filenames": np.array(["0001.jpg", "0002.jpg"], dtype=object),
        },
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("MPIIGaze/Data/Normalized/p00/day01.mat")
        info.size = len(mat.getvalue())
        tar.addfile(info, io.BytesIO(mat.getvalue()))
        pad = tarfile.TarInfo("MPIIGaze/readme.bin")  # make the archive big enough to resume
        noise = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
        pad.size = len(noise)
        tar.addfile(pad, io.BytesIO(noise))
    return buf.getvalue()


class Server:
    """A tiny HTTP server that honours Range (or ignores it when told to)."""

    def __init__(self, body: bytes) -> None:
        self.body, self.ranges, self.honour_range, self.cut = body, [], True, None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                rng = self.headers.get("Range")
                outer.ranges.append(rng)
                data, status = outer.body, 200
                if rng and outer.honour_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    data, status = outer.body[start:], 206
                self.send_response(status)
                if status == 206:
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(outer.body) - 1}/{len(outer.body)}"
                    )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: outer.cut])  # cut: the connection drops early

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/MPIIGaze.tar.gz"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def body():
    return archive_bytes()


@pytest.fixture
def server(body):
    s = Server(body)
    yield s
    s.close()


def test_download_unpack_import(server, body, tmp_path):
    sha = hashlib.sha256(body).hexdigest()
    archive, report = download_mpiigaze(
        tmp_path / "mpii", url=server.url, sha256=sha, show_progress=False
    )
    assert archive.read_bytes() == body and server.ranges == [None]
    d = read_dataset(tmp_path / "mpii" / "mpiigaze.h5")
    assert report.written == len(d) == 4 and (d.images == 99).all()
    assert sha in report.summary()
    # a second run neither downloads nor unpacks again
    download_mpiigaze(
        tmp_path / "mpii", url=server.url, out=tmp_path / "again.h5", show_progress=False
    )
    assert server.ranges == [None] and (tmp_path / "again.h5").is_file()


def test_resume_with_range(server, body, tmp_path):
    dest = tmp_path / "MPIIGaze.tar.gz"
    (tmp_path / "MPIIGaze.tar.gz.part").write_bytes(body[:70_000])
    fetch(server.url, dest, sha256=hashlib.sha256(body).hexdigest(), show_progress=False)
    assert server.ranges == ["bytes=70000-"] and dest.read_bytes() == body
    assert not (tmp_path / "MPIIGaze.tar.gz.part").exists()


def test_dropped_connection_keeps_the_part(server, body, tmp_path):
    server.cut = 50_000
    dest = tmp_path / "MPIIGaze.tar.gz"
    with pytest.raises(SimganError, match="run the same command again to resume"):
        fetch(server.url, dest, show_progress=False)
    assert (tmp_path / "MPIIGaze.tar.gz.part").stat().st_size == 50_000 and not dest.exists()
    server.cut = None
    fetch(server.url, dest, show_progress=False)
    assert server.ranges[-1] == "bytes=50000-" and dest.read_bytes() == body


def test_server_without_range_restarts(server, body, tmp_path):
    server.honour_range = False
    dest = tmp_path / "MPIIGaze.tar.gz"
    (tmp_path / "MPIIGaze.tar.gz.part").write_bytes(b"x" * 5000)
    fetch(server.url, dest, show_progress=False)
    assert dest.read_bytes() == body


def test_checksum_mismatch_and_unreachable(server, tmp_path):
    with pytest.raises(SimganError, match="does not match"):
        fetch(server.url, tmp_path / "a.tar.gz", sha256="0" * 64, show_progress=False)
    assert not list(tmp_path.iterdir())  # nothing half-done is left
    url = server.url
    server.close()
    code = main(["download", "mpiigaze", str(tmp_path / "d"), "--url", url, "--quiet"])
    assert code == 2 and not (tmp_path / "d" / "mpiigaze.h5").exists()


def test_unsafe_archive_is_refused(tmp_path):
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    (tmp_path / "x").mkdir()
    with pytest.raises(SimganError, match="outside"):
        safe_extract(bad, tmp_path / "x")
    assert not (tmp_path / "escape.txt").exists()


def test_default_url_is_the_official_one():
    assert MPIIGAZE_URL == "http://datasets.d2.mpi-inf.mpg.de/MPIIGaze/MPIIGaze.tar.gz"
