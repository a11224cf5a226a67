"""The study's SQLite database: sessions, their trials, and each answer exactly once.

SQLite in WAL mode with synchronous=FULL; every write is committed before the web response
is sent, so killing the server loses no answer and a participant continues after a restart.
The UNIQUE (session_id, idx) constraint on answers makes a replayed answer a no-op.
One connection guarded by a lock serves all request threads: a study's write rate is a few
answers per second, far below what that allows.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from simgan.errors import SimganError
from simgan.web.study import Trial

KIND = "simgan-turing-study"
SCHEMA_VERSION = "1"
# The fields of each answer StudyStore.answers returns, in order.
ANSWER_FIELDS = (
    "session",
    "name",
    "condition",
    "trial",
    "source",
    "row",
    "truth",
    "answer",
    "answered_at",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    condition TEXT NOT NULL,
    n_trials INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    idx INTEGER NOT NULL,
    token TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    row INTEGER NOT NULL,
    truth TEXT NOT NULL CHECK (truth IN ('real', 'fake')),
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE IF NOT EXISTS answers (
    session_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    answer TEXT NOT NULL CHECK (answer IN ('real', 'fake')),
    answered_at TEXT NOT NULL,
    UNIQUE (session_id, idx),
    FOREIGN KEY (session_id, idx) REFERENCES trials(session_id, idx)
);
"""


class NotFound(Exception):
    """No such session or trial."""


class Conflict(Exception):
    """The request contradicts what is recorded (another answer, or out of order)."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


class StudyStore:
    """Sessions, trials and answers of one study in one SQLite file."""

    def __init__(self, path: str | os.PathLike, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise SimganError(f"{self.path}: no such study database; check the --db path")
        if create and not self.path.parent.is_dir():
            raise SimganError(f"{self.path}: folder {self.path.parent} does not exist")
        self.lock = threading.RLock()
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError as e:
            raise SimganError(
                f"{self.path}: cannot open ({e}); give a new --db file name"
            ) from None
        try:
            self._open()
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise SimganError(
                f"{self.path}: not a usable SQLite database ({e}); give a new --db file name"
            ) from None
        except BaseException:
            self.db.close()
            raise

    def _open(self) -> None:
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA foreign_keys = ON")
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        if tables and "meta" not in tables:
            raise SimganError(
                f"{self.path}: is an SQLite file of something else, not a simgan Turing "
                "study; give a new --db file name"
            )
        self.db.executescript(_SCHEMA)
        kind = self.meta("kind")
        if kind is None:
            self._set_meta({"kind": KIND, "schema": SCHEMA_VERSION, "created_at": _now()})
        elif kind != KIND:
            raise SimganError(f"{self.path}: not a simgan Turing study database")

    # -- study identity -------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A value of the study's meta table (kind, schema, fingerprint, ...), or None."""
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, values: Mapping[str, str]) -> None:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items()
            )
            self.db.execute("COMMIT")

    def ensure_study(self, fingerprint: dict) -> str:
        """Bind the database to a study's images; returns the owner token.

        The first call stores the fingerprint and a fresh random token; later calls (a
        restart) must bring the same images, or earlier trials would point at other pixels.
        """
        want = json.dumps(fingerprint, sort_keys=True)
        have = self.meta("fingerprint")
        if have is None:
            self._set_meta({"fingerprint": want, "owner_token": secrets.token_urlsafe(24)})
        elif have != want:
            old, new = json.loads(have), fingerprint
            diff = [k for k in ("conditions", "n_examples") if old.get(k) != new.get(k)]
            for s in sorted(set(old["sources"]) | set(new["sources"])):
                if old["sources"].get(s) != new["sources"].get(s):
                    diff.append(f"{s} images")
            raise SimganError(
                f"{self.path}: this study was started with other settings ({', '.join(diff)} "
                "differ); start it with the same --real/--fake/--compare-synthetic files, "
                "or give a new --db for a new study"
            )
        return self.meta("owner_token") or ""

    # -- sessions -------------------------------------------------------------------------
    def new_session(
        self,
        name: str,
        plan: Callable[[dict[str, int], dict[tuple[str, int], int]], tuple[str, list[Trial]]],
    ) -> str:
        """Create a session; `plan(sessions_per_condition, image_usage)` picks its trials.

        Planning and writing happen under one lock, so concurrent participants are balanced.
        """
        with self.lock:
            counts = dict(
                self.db.execute("SELECT condition, COUNT(*) FROM sessions GROUP BY condition")
            )
            usage = {
                (s, r): c
                for s, r, c in self.db.execute(
                    "SELECT source, row, COUNT(*) FROM trials GROUP BY source, row"
                )
            }
            condition, trials = plan(counts, usage)
            sid = secrets.token_urlsafe(18)
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT INTO sessions (id, name, condition, n_trials, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (sid, name, condition, len(trials), _now()),
                )
                self.db.executemany(
                    "INSERT INTO trials (session_id, idx, token, source, row, truth) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (sid, i, secrets.token_urlsafe(18), t.source, t.row, t.truth)
                        for i, t in enumerate(trials)
                    ],
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return sid

    def session(self, sid: str) -> dict:
        """A session with its trial tokens and progress; raises NotFound."""
        with self.lock:
            row = self.db.execute(
                "SELECT id, name, condition, n_trials, created_at FROM sessions WHERE id = ?",
                (sid,),
            ).fetchone()
            if row is None:
                raise NotFound(sid)
            tokens = [
                t
                for (t,) in self.db.execute(
                    "SELECT token FROM trials WHERE session_id = ? ORDER BY idx", (sid,)
                )
            ]
            answered, correct = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(a.answer = t.truth), 0) FROM answers a "
                "JOIN trials t USING (session_id, idx) WHERE a.session_id = ?",
                (sid,),
            ).fetchone()
        keys = ("id", "name", "condition", "n_trials", "created_at")
        return {
            **dict(zip(keys, row, strict=True)),
            "tokens": tokens,
            "answered": answered,
            "correct": correct,
        }

    def trial_image(self, token: str) -> tuple[str, int] | None:
        """(source, row) of the image behind a trial token, or None."""
        with self.lock:
            row = self.db.execute(
                "SELECT source, row FROM trials WHERE token = ?", (token,)
            ).fetchone()
        return (row[0], int(row[1])) if row else None

    def record_answer(self, sid: str, idx: int, answer: str) -> bool:
        """Store the answer to trial `idx`; True if new, False for an identical replay.

        Trials are answered in order. Raises NotFound (no such trial) or Conflict (a
        different answer was recorded, or an earlier trial is still open).
        """
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                new = self._record(sid, idx, answer)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return new

    def _record(self, sid: str, idx: int, answer: str) -> bool:
        q = "SELECT 1 FROM trials WHERE session_id = ? AND idx = ?"
        if self.db.execute(q, (sid, idx)).fetchone() is None:
            raise NotFound(f"{sid}/{idx}")
        old = self.db.execute(
            "SELECT answer FROM answers WHERE session_id = ? AND idx = ?", (sid, idx)
        ).fetchone()
        if old is not None:
            if old[0] != answer:
                raise Conflict(f"trial {idx} was already answered '{old[0]}'")
            return False
        (done,) = self.db.execute(
            "SELECT COUNT(*) FROM answers WHERE session_id = ?", (sid,)
        ).fetchone()
        if idx != done:
            raise Conflict(f"answer trial {done} first")
        try:
            self.db.execute(
                "INSERT INTO answers (session_id, idx, answer, answered_at) VALUES (?, ?, ?, ?)",
                (sid, idx, answer, _now()),
            )
        except sqlite3.IntegrityError:  # a concurrent process won the race
            return False
        return True

    # -- results --------------------------------------------------------------------------
    def sessions(self) -> list[dict]:
        """Every session with its answer counts, oldest first."""
        return self._select(
            "SELECT s.id, s.name, s.condition, s.n_trials, s.created_at, "
            "COUNT(a.idx), COALESCE(SUM(a.answer = t.truth), 0) FROM sessions s "
            "LEFT JOIN trials t ON t.session_id = s.id "
            "LEFT JOIN answers a ON a.session_id = t.session_id AND a.idx = t.idx "
            "GROUP BY s.id ORDER BY s.created_at, s.id",
            ("id", "name", "condition", "n_trials", "created_at", "answered", "correct"),
        )

    def answers(self) -> list[dict]:
        """Every recorded answer (ANSWER_FIELDS) with its trial's truth and image, in order."""
        return self._select(
            "SELECT a.session_id, s.name, s.condition, a.idx, t.source, t.row, t.truth, "
            "a.answer, a.answered_at FROM answers a "
            "JOIN trials t USING (session_id, idx) JOIN sessions s ON s.id = a.session_id "
            "ORDER BY s.created_at, a.session_id, a.idx",
            ANSWER_FIELDS,
        )

    def _select(self, sql: str, keys: tuple[str, ...]) -> list[dict]:
        """The rows of a query as dicts with these keys, one per column."""
        with self.lock:
            rows = self.db.execute(sql).fetchall()
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self.lock:
            self.db.close()
