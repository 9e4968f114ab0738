"""Workers starting together on one spool folder all open its index of decision ids."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from service.decisionlog.keys import KeyIndex

WORKERS = 4
ROUNDS = 30


def _open(path: Path, start: Barrier, results: Queue[str]) -> None:
    start.wait()
    try:
        KeyIndex(path)
        results.put("")
    except Exception as exc:  # noqa: BLE001 - the parent reports what went wrong
        results.put(repr(exc))


def test_workers_opening_a_new_index_at_once_all_start(tmp_path: Path) -> None:
    # Switching a new file to WAL answers "database is locked" at once to the loser of the
    # race, without SQLite's busy timeout: before the fix about 3% of these opens failed, and
    # with it `casewise serve --workers 2` now and then did not start.
    fork = multiprocessing.get_context("fork")
    errors: list[str] = []
    for round_ in range(ROUNDS):
        path = tmp_path / f"round-{round_}" / "decision-keys.sqlite3"
        start, results = fork.Barrier(WORKERS), fork.Queue()
        workers = [fork.Process(target=_open, args=(path, start, results)) for _ in range(WORKERS)]
        for worker in workers:
            worker.start()
        errors += [results.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    assert [e for e in errors if e] == []
