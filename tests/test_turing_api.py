"""The visual Turing test's web API: the rules of a real service (issue 6, part 3)."""

from __future__ import annotations

import asyncio
import io
import json
import math
import socket
import threading
import time
import warnings
from urllib.parse import unquote

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # starlette nags about httpx vs httpx2 on import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from simgan.cli import main  # noqa: E402
from simgan.data import write_dataset  # noqa: E402
from simgan.errors import SimganError  # noqa: E402
from simgan.web.app import create_app  # noqa: E402
from simgan.web.pool import ImagePool  # noqa: E402
from simgan.web.scoring import binomial_test  # noqa: E402
from simgan.web.store import StudyStore  # noqa: E402
from simgan.web.study import Study  # noqa: E402

N = 10  # real and as many other images per participant


def _images(seed: int, n: int = 30) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 12, 20, 1), dtype=np.uint8)


def _study(synthetic: bool = False) -> Study:
    syn = ImagePool.from_array("synthetic", _images(3)) if synthetic else None
    return Study(
        ImagePool.from_array("real", _images(1)), ImagePool.from_array("fake", _images(2)), syn, n=N
    )


class Server:
    """One 'run' of the server on a database file: study, store, app and test client."""

    def __init__(self, db, synthetic: bool = False) -> None:
        self.study = _study(synthetic)
        self.store = StudyStore(db)
        self.token = self.store.ensure_study(self.study.fingerprint())
        self.app = create_app(self.study, self.store, self.token)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def truth(self, image_url: str) -> str:
        token = image_url.rsplit("/", 1)[1]
        row = self.store.db.execute("SELECT truth FROM trials WHERE token = ?", (token,))
        return row.fetchone()[0]

    def new(self, name: str = "") -> dict:
        r = self.client.post("/api/sessions", json={"name": name})
        assert r.status_code == 201, r.text
        return r.json()

    def answer(self, sid: str, trial: int, answer: str):
        return self.client.post(
            f"/api/sessions/{sid}/answers", json={"trial": trial, "answer": answer}
        )

    def results(self) -> dict:
        r = self.client.get("/api/results", headers={"X-Study-Token": self.token})
        assert r.status_code == 200
        return r.json()

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "study.sqlite")
    yield s
    s.close()


def _flip(a: str) -> str:
    return "fake" if a == "real" else "real"


def raw_get(app, path: bytes, headers: list | None = None, body: bytes = b"", method="GET"):
    """Send one request straight to the ASGI app, path bytes as they came off the wire.

    (HTTP clients clean '../' out of URLs before sending; uvicorn passes them through.)
    """
    raw, _, query = path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw.decode("latin-1")),
        "raw_path": raw,
        "query_string": query,
        "root_path": "",
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), *(headers or [])],
    }
    inbox = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    try:
        asyncio.run(app(scope, receive, send))
    except Exception:
        return 500, b""
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_full_session_score_and_results(server):
    s = server.new("Ada")
    assert s["n_trials"] == 2 * N and s["next"] == 0 and not s["finished"]
    truths = [server.truth(u) for u in s["trials"]]
    assert truths.count("real") == N and truths.count("fake") == N
    wrong = {1, 4, 9, 15}
    for i, t in enumerate(truths):
        r = server.answer(s["session"], i, _flip(t) if i in wrong else t)
        assert r.status_code == 200 and r.json()["recorded"] is True
    done = r.json()
    assert done["finished"] and done["score"]["correct"] == 2 * N - len(wrong)
    c = server.results()["conditions"]["refined"]
    assert c["overall"]["correct"] == 16 and c["overall"]["total"] == 20
    conf = c["confusion"]
    assert conf["real"]["real"] + conf["fake"]["fake"] == 16
    assert conf["real"]["fake"] == sum(truths[i] == "real" for i in wrong)
    assert [p["name"] for p in c["participants"]] == ["Ada"]
    assert {(m["source"], m["wrong"]) for m in c["mistaken"]} <= {("real", 1), ("fake", 1)}
    assert len(c["mistaken"]) == len(wrong)


def test_double_submit_counts_once(server):
    s = server.new()
    sid, t0 = s["session"], server.truth(s["trials"][0])
    assert server.answer(sid, 0, t0).json()["recorded"] is True
    again = server.answer(sid, 0, t0)
    assert again.status_code == 200 and again.json() == {
        "recorded": False,
        "next": 1,
        "finished": False,
    }
    assert server.answer(sid, 0, _flip(t0)).status_code == 409  # cannot change an answer

    # many replays of the next answer at the same moment: exactly one is recorded
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(server.answer(sid, 1, "real")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status_code == 200 for r in results)
    assert sum(r.json()["recorded"] for r in results) == 1
    assert server.results()["conditions"]["refined"]["overall"]["total"] == 2


def test_answers_in_order_and_validated(server):
    sid = server.new()["session"]
    assert server.answer(sid, 3, "real").status_code == 409  # trial 0 is still open
    assert server.answer(sid, 2 * N, "real").status_code == 404
    for bad in (
        {"trial": -1, "answer": "real"},
        {"trial": True, "answer": "real"},
        {"trial": "0", "answer": "real"},
        {"trial": 0.0, "answer": "real"},
        {"trial": 0, "answer": "REAL"},
        {"trial": 0, "answer": None},
        {"trial": 0},
        {"trial": 0, "answer": "real", "correct": True},
        {"trial": 10**30, "answer": "real"},
    ):
        r = server.client.post(f"/api/sessions/{sid}/answers", json=bad)
        assert r.status_code == 400, (bad, r.status_code)
    assert server.results()["conditions"]["refined"]["overall"]["total"] == 0


def test_forged_ids(server):
    s = server.new()
    other = server.new()
    for url in (
        "/api/sessions/AAAAAAAAAAAAAAAAAAAAAAAA",
        "/api/sessions/x",
        "/api/sessions/" + "A" * 3000,
        "/api/image/AAAAAAAAAAAAAAAAAAAAAAAA",
        "/api/image/" + s["session"],
        "/api/example/real/999",
        "/api/example/real/-1",
        "/api/example/nope/0",
        "/api/example/real/²",
        "/api/example/real/99999999999999999999999",
    ):
        r = server.client.get(url)
        assert r.status_code == 404, url
    assert server.answer("AAAAAAAAAAAAAAAAAAAAAAAA", 0, "real").status_code == 404
    # an image token of one session is not a session id, nor valid for answering elsewhere
    token = s["trials"][0].rsplit("/", 1)[1]
    assert server.answer(token, 0, "real").status_code == 404
    # each participant's trials have their own random tokens; a real image URL works
    assert not set(s["trials"]) & set(other["trials"])
    assert server.client.get(s["trials"][0]).headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "path",
    [
        b"/api/image/../../../../etc/passwd",
        b"/api/image/..%2F..%2F..%2Fetc%2Fpasswd",
        b"/api/image/%2Fetc%2Fpasswd",
        b"/api/image//etc/passwd",
        b"/api/image/%2e%2e%2fapp.py",
        b"/static/../app.py",
        b"/static/..%2Fapp.py",
        b"/static/%2E%2E%2F%2E%2E%2Fcli%2Fturing.py",
        b"/static/%2Fetc%2Fpasswd",
        b"/static/..\\app.py",
        b"/api/example/real/..%2F..%2F1",
        b"/api/example/..%2F..%2Fetc/0",
        b"/api/results/image/real/..%2F..%2Fetc%2Fpasswd",
        b"/api/results/image/%2Fetc%2Fpasswd/0",
        b"/api/image/%00",
        b"/static/app.py",
        b"/static/__init__.py",
        b"/api/image/" + b"A" * 24 + b"%00.png",
    ],
)
def test_path_tricks_read_no_file(server, path):
    if path.startswith(b"/api/results"):
        path += b"?token=" + server.token.encode()
    status, body = raw_get(server.app, path)
    assert 400 <= status < 500, (path, status)
    assert b"root:" not in body and b"import" not in body


def test_oversized_and_malformed_requests(server):
    c = server.client
    bad_bodies = [
        b"{",
        b"[1, 2]",
        b'"name"',
        b"\xff\xfe{}",
        b"[" * 2000 + b"]" * 2000,
        b'{"name": 5}',
        b'{"name": "' + b"x" * 81 + b'"}',
        b'{"nom": "x"}',
        b"null",
        b'{"name": "a"} trailing',
    ]
    for body in bad_bodies:
        r = c.post("/api/sessions", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, (body[:20], r.status_code)
    big = json.dumps({"name": "x" * 10_000}).encode()
    assert c.post("/api/sessions", content=big).status_code == 413

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(100):
            yield b" " * 1000

    assert c.post("/api/sessions", content=chunks()).status_code == 413
    form = {"content-type": "text/plain"}  # what a cross-site page could send unchecked
    assert c.post("/api/sessions", content=b'{"name": "x"}', headers=form).status_code == 415
    status, _ = raw_get(server.app, b"/api/sessions", [(b"content-length", b"-1")], method="POST")
    assert status == 400
    assert c.put("/api/sessions").status_code == 405
    assert c.get("/api/sessions").status_code == 405
    assert c.get("/docs").status_code == 404 and c.get("/openapi.json").status_code == 404
    # nothing above created a session or crashed
    assert server.store.sessions() == []
    assert c.post("/api/sessions").status_code == 201  # an empty body is fine: no name


def test_restart_mid_study_loses_nothing(tmp_path):
    db = tmp_path / "study.sqlite"
    a = Server(db)
    s = a.new("Bo")
    sid = s["session"]
    truths = [a.truth(u) for u in s["trials"]]
    png_before = a.client.get(s["trials"][3]).content
    for i in range(7):
        a.answer(sid, i, truths[i])
    a.close()  # the server goes down; nothing is flushed on the way out

    b = Server(db)
    assert b.token == a.token
    again = b.client.get(f"/api/sessions/{sid}").json()
    assert again["next"] == 7 and again["trials"] == s["trials"]
    assert b.client.get(s["trials"][3]).content == png_before
    assert b.answer(sid, 6, truths[6]).json()["recorded"] is False  # replay from before
    for i in range(7, 2 * N):
        assert b.answer(sid, i, "real").json()["recorded"] is True
    o = b.results()["conditions"]["refined"]["overall"]
    assert o["total"] == 2 * N and o["correct"] == 7 + truths[7:].count("real")
    b.close()


def test_restart_with_other_images_is_refused(tmp_path):
    Server(tmp_path / "s.sqlite").close()
    store = StudyStore(tmp_path / "s.sqlite")
    changed = Study(
        ImagePool.from_array("real", _images(1)), ImagePool.from_array("fake", _images(9))
    )
    with pytest.raises(SimganError, match="fake images"):
        store.ensure_study(changed.fingerprint())
    store.close()


def test_results_need_the_token(server):
    s = server.new()
    server.answer(s["session"], 0, "real")
    c = server.client
    for url in ("/results", "/api/results", "/api/results.csv", "/api/results/image/real/0"):
        assert c.get(url).status_code == 401, url
        assert c.get(url + "?token=" + "x" * 32).status_code == 403, url
        assert c.get(url, headers={"X-Study-Token": "wrong"}).status_code == 403, url
        assert c.get(url + "?token=" + server.token).status_code == 200, url
    lines = c.get("/api/results.csv", headers={"X-Study-Token": server.token}).text.splitlines()
    assert lines[0].startswith("session,name,condition,trial,source,row,truth,answer,correct")
    assert len(lines) == 2 and lines[1].split(",")[3] == "0"


def test_no_label_before_the_answer(server):
    s = server.new()
    text = json.dumps(s)
    for word in ("truth", "source", "row", "correct", "score"):
        assert word not in text
    assert "fake" not in json.dumps(s["trials"])
    tokens = [u.rsplit("/", 1)[1] for u in s["trials"]]
    assert len(set(tokens)) == 2 * N and all(len(t) >= 16 for t in tokens)
    # a real and a refined trial image: same headers apart from the length
    by_truth = {server.truth(u): server.client.get(u).headers for u in s["trials"]}
    h_real, h_fake = (dict(by_truth[k]) for k in ("real", "fake"))
    h_real.pop("content-length"), h_fake.pop("content-length")
    assert h_real == h_fake
    # the same image shown to two people has two different URLs
    rows = server.store.db.execute(
        "SELECT source, row, COUNT(DISTINCT token) FROM trials GROUP BY source, row"
    ).fetchall()
    assert all(n == 1 for *_, n in rows)  # one session so far: one token each
    again = server.new()
    assert not {u.rsplit("/", 1)[1] for u in again["trials"]} & set(tokens)


def test_conditions_and_draws(tmp_path):
    srv = Server(tmp_path / "c.sqlite", synthetic=True)
    sessions = [srv.new(f"p{i}") for i in range(4)]
    assert [s["condition"] for s in sessions] == ["refined", "synthetic", "refined", "synthetic"]
    assert sessions[1]["labels"]["fake"] == "Synthetic"
    examples = {k: set(v) for k, v in srv.study.examples.items()}
    for s in sessions:
        rows = srv.store.db.execute(
            "SELECT source, row FROM trials WHERE session_id = ?", (s["session"],)
        ).fetchall()
        other = "fake" if s["condition"] == "refined" else "synthetic"
        assert sorted({src for src, _ in rows}) == sorted({"real", other})
        assert len(set(rows)) == 2 * N  # no image twice in a session
        assert not any(r in examples[src] for src, r in rows)  # examples are never tested
    # the least shown images go first: 24 real test images, 4 x 10 drawn -> counts 1 or 2
    counts = [
        n
        for (n,) in srv.store.db.execute(
            "SELECT COUNT(*) FROM trials WHERE source = 'real' GROUP BY row"
        )
    ]
    assert len(counts) == 24 and set(counts) <= {1, 2}
    assert set(srv.results()["conditions"]) == {"refined", "synthetic"}
    srv.close()


def test_binomial_test_by_hand():
    # two-sided exact test, p = 0.5 is symmetric: p = 2 * P(X >= k) for k above n/2
    def hand(k: int, n: int) -> float:
        return min(1.0, 2 * sum(math.comb(n, j) for j in range(k, n + 1)) / 2**n)

    assert binomial_test(9, 10)["p_value"] == pytest.approx(22 / 1024)
    for k, n in ((14, 20), (517, 1000), (162, 200), (6, 20)):
        want = hand(max(k, n - k), n)
        assert binomial_test(k, n)["p_value"] == pytest.approx(want, rel=1e-9), (k, n)
    assert binomial_test(517, 1000)["p_value"] == pytest.approx(0.2967, abs=1e-4)
    assert binomial_test(10, 20)["p_value"] == 1.0
    assert binomial_test(0, 0) == {
        "correct": 0,
        "total": 0,
        "accuracy": None,
        "p_value": 1.0,
        "ci95": None,
    }
    lo, hi = binomial_test(162, 200)["ci95"]
    assert lo < 0.81 < hi and hi - lo < 0.12


def test_cli_results_and_serve_errors(tmp_path, capsys):
    real, fake = tmp_path / "real.h5", tmp_path / "fake.h5"
    write_dataset(real, _images(1))
    write_dataset(fake, _images(2))
    db = tmp_path / "study.sqlite"
    study = Study.from_files(real, fake, n=N)
    srv = Server.__new__(Server)
    srv.study, srv.store = study, StudyStore(db)
    srv.token = srv.store.ensure_study(study.fingerprint())
    srv.client = TestClient(create_app(study, srv.store, srv.token))
    s = srv.new("=cmd|' /C calc'!A0")
    for i in range(5):
        srv.answer(s["session"], i, "fake")
    srv.close()

    assert (
        main(["turing", "results", "--db", str(db), "--json", "--csv", str(tmp_path / "a.csv")])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["conditions"]["refined"]["overall"]["total"] == 5
    csv_text = (tmp_path / "a.csv").read_text()
    assert len(csv_text.splitlines()) == 6 and "'=cmd" in csv_text  # no spreadsheet formula
    assert main(["turing", "results", "--db", str(db)]) == 0
    assert "real vs refined" in capsys.readouterr().out
    # user errors: one line, exit 2
    assert main(["turing", "results", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert main(["turing", "results", "--db", str(real)]) == 2
    assert main(["turing", "results", "--db", str(db), "--csv", str(tmp_path / "a.csv")]) == 2
    small = tmp_path / "small.h5"
    write_dataset(small, _images(4, n=12))
    args = [
        "turing",
        "serve",
        "--real",
        str(real),
        "--db",
        str(tmp_path / "x.sqlite"),
        "--port",
        "1",
    ]
    assert main([*args, "--fake", str(small)]) == 2
    assert "needs at least 16" in capsys.readouterr().err
    other_size = tmp_path / "big.h5"
    write_dataset(other_size, np.zeros((30, 14, 20, 1), np.uint8))
    assert main([*args, "--fake", str(other_size)]) == 2
    assert "same image size" in capsys.readouterr().err


def test_several_participants_at_once(server):
    def participant(k: int, out: list) -> None:
        s = server.new(f"p{k}")
        for i, url in enumerate(s["trials"]):
            t = server.truth(url)
            r = server.answer(s["session"], i, t if i % (k + 2) else _flip(t))
            assert r.status_code == 200
        out.append((s["session"], sum(1 for i in range(2 * N) if i % (k + 2) == 0)))

    done: list = []
    threads = [threading.Thread(target=participant, args=(k, done)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 4
    wrong = dict(done)
    for p in server.results()["conditions"]["refined"]["participants"]:
        assert p["answered"] == 2 * N and p["correct"] == 2 * N - wrong[p["session"]]


def test_cli_serve_starts_the_page(tmp_path):
    import subprocess
    import sys

    import httpx

    real, fake = tmp_path / "real.h5", tmp_path / "fake.h5"
    write_dataset(real, _images(1))
    write_dataset(fake, _images(2))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "simgan",
        "turing",
        "serve",
        "--real",
        str(real),
        "--fake",
        str(fake),
        "--db",
        str(tmp_path / "s.sqlite"),
        "--port",
        str(port),
        "--n",
        "5",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        url = lines[2].split()[-1]
        assert url.startswith(f"http://localhost:{port}/results?token="), lines
        for _ in range(100):  # the message is printed just before uvicorn binds
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/study", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert r.json()["n_trials"] == 10
        assert httpx.get(url.replace("localhost", "127.0.0.1")).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_pool_of_a_large_file_and_colour_modes(tmp_path):
    from PIL import Image

    from simgan.web.pool import load_pool

    images = np.random.default_rng(5).integers(0, 256, (300, 8, 10, 3), dtype=np.uint8)
    write_dataset(tmp_path / "big.h5", images)
    pool = load_pool(tmp_path / "big.h5", "fake", max_images=80)
    again = load_pool(tmp_path / "big.h5", "fake", max_images=80)
    assert len(pool) == 80 and len(set(pool.rows.tolist())) == 80
    assert np.array_equal(pool.rows, again.rows)  # the same pool after a restart
    assert np.array_equal(pool.images, images[pool.rows])
    # a grayscale real file next to an RGB one: both are served as RGB, same size
    study = Study(ImagePool.from_array("real", _images(1)[:, :8, :10]), pool, n=5)
    srv_store = StudyStore(tmp_path / "s.sqlite")
    app = create_app(study, srv_store, srv_store.ensure_study(study.fingerprint()))
    with TestClient(app) as c:
        modes = {
            Image.open(io.BytesIO(c.get(f"/api/example/{s}/0").content)).mode
            for s in ("real", "fake")
        }
        sizes = {
            Image.open(io.BytesIO(c.get(f"/api/example/{s}/0").content)).size
            for s in ("real", "fake")
        }
    assert modes == {"RGB"} and len(sizes) == 1
    srv_store.close()
