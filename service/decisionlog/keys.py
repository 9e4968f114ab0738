"""The decision ids clients chose (``Idempotency-Key``), each held by its first decision.

A SQLite file beside the spool (``CASEWISE_SPOOL_DIR/decision-keys.sqlite3``), shared by every
process on that spool (``casewise serve --workers N``): ``claim`` inserts a decision id with
its caller, ruleset and input digest, atomically, or gives the row that holds it already. The
row keeps the first decision's record (its answer) until the flusher has written that record
to Neo4j (``written``); from then on the answer is read from the decision log, and the row
keeps only who decided what, so that the id stays taken. A decision that was not answered
after all (its write failed) gives its id back (``release``).

Errors::

    CasewiseError
    └── SpoolError   the index cannot be opened or written (see service.decisionlog.spool)
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from service.decisionlog.spool import SpoolError

log = logging.getLogger("casewise.decisionlog")

FILE_NAME = "decision-keys.sqlite3"
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decision_keys (
    id      TEXT PRIMARY KEY,
    caller  TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    digest  TEXT NOT NULL,
    at      TEXT NOT NULL,
    record  BLOB
) WITHOUT ROWID
"""
_CLAIM = (
    "INSERT INTO decision_keys (id, caller, ruleset, digest, at, record) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING"
)
_HOLDER = "SELECT caller, ruleset, digest, record FROM decision_keys WHERE id = ?"
_RELEASE = "DELETE FROM decision_keys WHERE id = ? AND caller = ? AND digest = ?"
_WRITTEN = "UPDATE decision_keys SET record = NULL WHERE id = ? AND record IS NOT NULL"


def digest(data: Any) -> str:
    """Give the SHA-256 of an input as canonical JSON (key order and spacing do not count)."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting out another process doing the same: SQLite answers
    "database is locked" at once there, without its busy timeout (two workers starting)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


@dataclass(frozen=True)
class Claim:
    """A decision id to take: who asks, for which ruleset, with which input, and its record."""

    id: str
    caller: str
    ruleset: str
    digest: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Holder:
    """The first decision that took an id; ``record`` is None once it is in Neo4j."""

    caller: str
    ruleset: str
    digest: str
    record: dict[str, Any] | None

    def differences(self, claim: Claim) -> list[str]:
        """Name what differs between this first decision and a later claim of its id."""
        names = ("caller", "ruleset", "digest")
        found = [n for n in names if getattr(self, n) != getattr(claim, n)]
        return ["input" if n == "digest" else n for n in found]


class KeyIndex:
    """The shared index of chosen decision ids: one SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as db:
                db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise self._error("open", exc) from exc

    @classmethod
    def beside(cls, spool_dir: Path) -> KeyIndex:
        """Give the index of the spool folder ``spool_dir`` (CASEWISE_SPOOL_DIR)."""
        return cls(spool_dir / FILE_NAME)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            # WAL: readers never wait for the writer; NORMAL: a commit survives a crash of the
            # process (not of the machine, where the first write in Neo4j still wins).
            _switch_to_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _error(self, what: str, exc: Exception) -> SpoolError:
        log.error("decision keys: cannot %s %s: %s", what, self.path, exc)
        return SpoolError(
            f"could not {what} the index of decision ids {self.path}: {exc}; "
            "free disk space or fix CASEWISE_SPOOL_DIR"
        )

    def claim(self, claims: list[Claim]) -> list[Holder | None]:
        """Take each id for its claim, in one transaction; give None where it was taken now,
        else the decision that holds it."""
        db = self._connection()
        holders: list[Holder | None] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for claim in claims:
                    row = (claim.id, claim.caller, claim.ruleset, claim.digest,
                           claim.record.get("at", ""), orjson.dumps(claim.record))  # fmt: skip
                    if db.execute(_CLAIM, row).rowcount == 1:
                        holders.append(None)
                        continue
                    caller, ruleset, held, record = db.execute(_HOLDER, (claim.id,)).fetchone()
                    first = orjson.loads(record) if record is not None else None
                    holders.append(Holder(caller, ruleset, held, first))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error("write", exc) from exc
        return holders

    def release(self, claims: list[Claim]) -> None:
        """Free the ids of claims whose decision was not answered (its write failed)."""
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(_RELEASE, [(c.id, c.caller, c.digest) for c in claims])
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            log.warning(
                "decision keys: cannot free %d id(s) in %s: %s", len(claims), self.path, exc
            )

    def written(self, ids: Iterable[str]) -> None:
        """Forget the records of these ids: Neo4j holds them now (the ids stay taken)."""
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(_WRITTEN, [(i,) for i in ids])
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            log.warning("decision keys: cannot mark records as written in %s: %s", self.path, exc)
