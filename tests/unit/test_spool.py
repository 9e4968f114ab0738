"""The decision log's spool: group commit, crash survival, torn lines, orphaned segments."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from service.decisionlog.spool import Spool, SpoolError, encode


def record(n: int) -> dict[str, Any]:
    return {"id": f"d{n}", "ruleset": "r", "version": "v", "outputs": {"x": n}}


def drain(spool: Spool) -> list[dict[str, Any] | None]:
    """Read every committed record of the held segments, as a flusher would."""
    got: list[dict[str, Any] | None] = []
    for segment in spool.work():
        for rec, position in spool.read(segment, 10_000):
            got.append(rec)
            segment.offset = position
    return got


def test_a_group_of_waiting_callers_is_woken_after_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_fsync = threading.Event()
    release = threading.Event()
    real = os.fdatasync
    fsyncs: list[int] = []

    def slow_fsync(fd: int) -> None:
        fsyncs.append(fd)
        in_fsync.set()
        release.wait(5)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow_fsync)
    spool = Spool(tmp_path)
    spool.start()
    try:
        first = spool.submit([encode(record(0))])
        assert in_fsync.wait(5)  # the writer is inside the first group's fsync
        waiting = [spool.submit([encode(record(n))]) for n in range(1, 50)]
        assert not any(f.done() for f in [first, *waiting])  # nobody answered before fsync
        release.set()
        for future in [first, *waiting]:
            future.result(timeout=5)
        assert len(fsyncs) == 2  # the first record, then the 49 that waited: one group
        assert [r["id"] for r in drain(spool) if r] == [f"d{n}" for n in range(50)]
    finally:
        release.set()
        spool.stop()
        spool.release()


def test_asyncio_callers_wait_for_the_commit(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.start()

    async def main() -> None:
        await asyncio.gather(*(spool.commit([encode(record(n))]) for n in range(20)))

    try:
        asyncio.run(main())
        assert spool.commits <= 20
        assert len(drain(spool)) == 20
    finally:
        spool.stop()
        spool.release()


def test_records_survive_a_process_that_never_flushed(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    first.start()
    for n in range(5):
        first.submit([encode(record(n))]).result(timeout=5)
    first.stop()
    first.release()  # as a crash would: the segment is left, unlocked, not flushed
    assert len(list(tmp_path.glob("*.jsonl"))) == 1

    second = Spool(tmp_path)
    second.start()
    try:
        assert second.claim_orphans() == 1
        assert [r["id"] for r in drain(second) if r] == [f"d{n}" for n in range(5)]
        assert second.retire_done() >= 1
        assert [p.name for p in tmp_path.glob("*.jsonl")] == [second._segments[0].path.name]
    finally:
        second.stop()
        second.release()
    assert list(tmp_path.glob("*.jsonl")) == []  # the empty active segment is removed too


def test_a_torn_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = encode(record(1)) + encode(record(2))
    (tmp_path / "0000000000001-1-00001.jsonl").write_bytes(good + b'{"id": "d3", "rules')
    spool = Spool(tmp_path)
    spool.start()
    try:
        with caplog.at_level(logging.WARNING, "casewise.decisionlog"):
            assert spool.claim_orphans() == 1
            got = drain(spool)
        assert [r["id"] if r else None for r in got] == ["d1", "d2", None]
        assert "torn last line" in caplog.text
        spool.retire_done()
        assert not (tmp_path / "0000000000001-1-00001.jsonl").exists()
    finally:
        spool.stop()
        spool.release()


def test_a_broken_line_in_the_middle_does_not_stop_the_rest(tmp_path: Path) -> None:
    lines = encode(record(1)) + b"not json\n" + encode(record(2))
    (tmp_path / "0000000000001-1-00001.jsonl").write_bytes(lines)
    spool = Spool(tmp_path)
    spool.start()
    try:
        spool.claim_orphans()
        assert [r["id"] if r else None for r in drain(spool)] == ["d1", None, "d2"]
    finally:
        spool.stop()
        spool.release()


def test_a_segment_held_by_a_live_process_is_not_taken(tmp_path: Path) -> None:
    path = tmp_path / "0000000000001-999-00001.jsonl"
    path.write_bytes(encode(record(1)))
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer, alive
    spool = Spool(tmp_path)
    spool.start()
    try:
        assert spool.claim_orphans() == 0
        os.close(fd)  # it dies: its lock goes with it
        assert spool.claim_orphans() == 1
        assert [r["id"] for r in drain(spool) if r] == ["d1"]
    finally:
        spool.stop()
        spool.release()


def test_segments_rotate_and_each_is_read_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_segment_bytes=300)
    spool.start()
    try:
        for n in range(30):
            spool.submit([encode(record(n))]).result(timeout=5)
        assert len(list(tmp_path.glob("*.jsonl"))) > 3
        assert [r["id"] for r in drain(spool) if r] == [f"d{n}" for n in range(30)]
        spool.retire_done()
        assert len(list(tmp_path.glob("*.jsonl"))) == 1  # only the active one is left
    finally:
        spool.stop()
        spool.release()


def test_a_stopped_spool_refuses_records(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.start()
    spool.stop()
    with pytest.raises(SpoolError, match="not running"):
        spool.submit([encode(record(1))]).result(timeout=5)
    spool.release()


def test_an_old_segment_is_closed_so_that_it_can_be_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_segment_seconds=0.0)
    spool.start()
    try:
        for n in range(3):
            spool.submit([encode(record(n))]).result(timeout=5)
        assert len(list(tmp_path.glob("*.jsonl"))) == 3
        drain(spool)
        assert spool.retire_done() == 2
    finally:
        spool.stop()
        spool.release()
