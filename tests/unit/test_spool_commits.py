"""The spool's group commits under load: at most one per interval, each carrying more records;
a commit with none in the last interval starts at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from service.decisionlog.spool import Spool, encode


def test_callers_under_load_share_commits_at_most_one_per_interval(tmp_path: Path) -> None:
    interval = 0.05
    spool = Spool(tmp_path, commit_interval=interval)
    spool.start()
    stop = threading.Event()
    done = [0] * 8

    def caller(n: int) -> None:
        while not stop.is_set():
            spool.submit([encode({"id": f"c{n}-{done[n]}"})]).result(10)
            done[n] += 1

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(10)
    elapsed = time.monotonic() - began
    spool.stop()
    spool.release()
    # without the interval each caller's record would commit nearly alone, hundreds a second
    assert spool.commits <= elapsed / interval + 2
    assert sum(done) >= 4 * spool.commits  # eight callers share each commit


def test_a_commit_with_none_in_the_last_interval_starts_at_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path, commit_interval=30.0)
    spool.start()
    try:
        began = time.monotonic()
        spool.submit([encode({"id": "first"})]).result(10)
        assert time.monotonic() - began < 5  # not held for the 30 s interval
    finally:
        spool.stop()
        spool.release()
