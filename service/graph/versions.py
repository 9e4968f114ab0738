"""Every ruleset and playbook version that ever served, kept in Neo4j by its hash.

When a version starts serving, ``VersionKeeper.keep`` first writes it to the local spool
(``<spool_dir>/versions/<hash>.json``, fsynced), then a background thread stores it in Neo4j
(``RulesetVersion {hash}``) and deletes the file. While Neo4j is down or not configured the
files wait, and the thread tries again every ``retry`` seconds; at start-up the files a
previous run left are stored too. So a reload never waits for Neo4j, and no version is lost.

Errors::

    VersionNotFound   (a CasewiseError) no such version of that ruleset
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString

from service.engine.livefiles import Started
from service.graph.db import Graph, GraphError
from service.kernel.errors import CasewiseError
from service.kernel.fs import fsync_dir

log = logging.getLogger("casewise.versions")

RETRY_SECONDS = 3.0

# first_served_at keeps the earliest time, last_served_at the latest: spooled rows may arrive
# late and out of order. A decision-log write may have MERGEd the node by hash before.
STORE_VERSIONS: LiteralString = """
UNWIND $rows AS row
MERGE (v:RulesetVersion {hash: row.hash})
WITH v, row, datetime(row.at) AS at
SET v.name = row.name, v.kind = row.kind, v.content = row.content, v.path = row.path,
    v.first_served_at = CASE WHEN v.first_served_at IS NULL OR at < v.first_served_at
                             THEN at ELSE v.first_served_at END,
    v.last_served_at = CASE WHEN v.last_served_at IS NULL OR at > v.last_served_at
                            THEN at ELSE v.last_served_at END
"""
STOPPED_SERVING: LiteralString = """
UNWIND $rows AS row
MATCH (v:RulesetVersion {hash: row.hash})
WITH v, datetime(row.at) AS at
SET v.last_served_at = CASE WHEN v.last_served_at IS NULL OR at > v.last_served_at
                            THEN at ELSE v.last_served_at END
"""
LIST_VERSIONS: LiteralString = """
MATCH (v:RulesetVersion {name: $name})
WHERE v.content IS NOT NULL
RETURN v.hash AS hash, v.kind AS kind, v.path AS path,
       toString(v.first_served_at) AS first_served_at,
       toString(v.last_served_at) AS last_served_at
ORDER BY v.first_served_at DESC, v.hash
"""
GET_VERSION: LiteralString = """
MATCH (v:RulesetVersion {hash: $hash})
WHERE v.name = $name AND v.content IS NOT NULL
RETURN v.hash AS hash, v.kind AS kind, v.path AS path, v.content AS content,
       toString(v.first_served_at) AS first_served_at,
       toString(v.last_served_at) AS last_served_at
"""


class VersionNotFound(CasewiseError):
    """No stored version of that ruleset has that hash."""

    code = "not-found"


@dataclass(frozen=True)
class Kept:
    """A version to store: what the spool file holds."""

    hash: str
    name: str
    kind: str
    path: str
    content: str
    at: str  # ISO time it started serving

    @classmethod
    def of(cls, s: Started) -> Kept:
        return cls(s.version, s.name, s.kind, s.path, s.content, s.at.isoformat())

    def row(self) -> dict[str, Any]:
        return self.__dict__.copy()


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it survives a crash: temp file, fsync, rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


class VersionKeeper:
    """Stores served versions in Neo4j through a durable spool folder, in the background."""

    def __init__(
        self, folder: Path, graph: Callable[[], Graph], *, retry: float = RETRY_SECONDS
    ) -> None:
        self.folder = folder
        self.graph = graph  # raises GraphError (GraphUnavailable) when Neo4j cannot be used
        self.retry = retry
        self._stopped: list[dict[str, str]] = []
        self._memory: dict[str, Kept] = {}  # versions the spool folder could not take
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def keep(self, started: Iterable[Started], stopped: Iterable[str] = ()) -> None:
        """Spool the versions that started serving (fsynced) and wake the storing thread."""
        at = dt.datetime.now(dt.UTC).isoformat()
        with self._lock:
            for item in started:
                kept = Kept.of(item)
                try:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    write_durably(
                        self.folder / f"{kept.hash}.json", json.dumps(kept.row()).encode()
                    )
                except OSError as exc:
                    log.error(
                        "cannot spool version %s of %s to %s: %s; it is kept in memory until "
                        "Neo4j takes it (make the folder writable, or set CASEWISE_SPOOL_DIR)",
                        kept.hash[:12], kept.name, self.folder, exc,
                    )  # fmt: skip
                    self._memory[kept.hash] = kept
            self._stopped.extend({"hash": version, "at": at} for version in stopped)
        self._wake.set()

    def pending(self) -> list[Kept]:
        """The versions waiting for Neo4j: the spool folder's, then those held in memory."""
        found: list[Kept] = []
        for file in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                found.append(Kept(**json.loads(file.read_bytes())))
            except FileNotFoundError:
                continue  # stored meanwhile by another worker process
            except (OSError, ValueError, TypeError) as exc:
                log.error("skipping unreadable version spool file %s: %s", file, exc)
        with self._lock:
            return found + list(self._memory.values())

    def flush(self) -> int:
        """Store every waiting version in Neo4j; give how many. Raises GraphError if it fails."""
        kept = self.pending()
        with self._lock:
            stopped = list(self._stopped)
        if not kept and not stopped:
            return 0
        graph = self.graph()
        steps: list[tuple[LiteralString, dict[str, Any]]] = []
        if kept:
            steps.append((STORE_VERSIONS, {"rows": [k.row() for k in kept]}))
        if stopped:
            steps.append((STOPPED_SERVING, {"rows": stopped}))
        graph.write_many(steps)
        with self._lock:
            del self._stopped[: len(stopped)]
            for k in kept:
                self._memory.pop(k.hash, None)
                (self.folder / f"{k.hash}.json").unlink(missing_ok=True)
        if kept:
            log.info("stored %d ruleset version(s) in Neo4j", len(kept))
        self._warned = False
        return len(kept)

    def start(self) -> None:
        """Store waiting versions in a background thread, now and whenever ``keep`` is called."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="casewise-versions", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                self.flush()
                self._wake.wait()
            except GraphError as exc:
                if not self._warned:
                    log.warning(
                        "ruleset versions wait in %s until Neo4j takes them: %s", self.folder, exc
                    )
                    self._warned = True
                self._wake.wait(self.retry)
            except Exception:  # noqa: BLE001 - the thread must live on; the error is logged
                log.exception("storing ruleset versions failed; trying again")
                self._wake.wait(self.retry)
            self._wake.clear()


def list_versions(graph: Graph, name: str) -> list[dict[str, Any]]:
    """Give the stored versions of ``name``, newest first."""
    return graph.read(LIST_VERSIONS, name=name)


def get_version(graph: Graph, name: str, version: str) -> dict[str, Any]:
    """Give one stored version of ``name`` with its content; VersionNotFound if there is none."""
    rows = graph.read(GET_VERSION, name=name, hash=version)
    if not rows:
        raise VersionNotFound(
            f"ruleset {name!r} has no stored version {version!r}; "
            f"GET /v1/rulesets/{name}/versions lists them"
        )
    return rows[0]
