"""A durable local spool of decision records: JSON lines, group-committed with fsync.

Callers hand the spool the records of a request and WAIT until they are written and fsynced:
the HTTP answer of a decision leaves only after its record is on disk, so an answered decision
survives a crash of the process or of Neo4j. One writer thread takes whatever records are
pending, appends them to the process's current segment file, fsyncs once (group commit) and
then wakes every caller of that group (asyncio callers through ``loop.call_soon_threadsafe``,
threads through a ``concurrent.futures.Future``). Under load it starts a group commit at most
every ``COMMIT_INTERVAL`` (3 ms), so that each fsync carries more records.

Segments are ``<ms>-<pid>-<seq>.jsonl`` files in the spool folder. Each segment a process uses
is held with ``fcntl.flock``; a segment nobody holds (its process crashed, or shut down before
Neo4j took its records) is an orphan, and the first flusher to lock it takes it over. A segment
is created under a hidden name, locked, then renamed, so no flusher sees it unlocked.

Errors::

    CasewiseError
    └── SpoolError   a record could not be written to the spool (disk full, folder unwritable)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from service.kernel.errors import CasewiseError
from service.kernel.fs import fsync_dir

log = logging.getLogger("casewise.decisionlog")

SUFFIX = ".jsonl"
MAX_SEGMENT_BYTES = 16 * 1024 * 1024
# A segment is also closed after this long, so that once flushed it is deleted: after a crash,
# at most this much already-written work is read (and merged) again.
MAX_SEGMENT_SECONDS = 30.0
READ_CHUNK = 1024 * 1024
# Under load, group commits start at most this often: a commit that follows the last one
# sooner first waits out the rest of the interval, gathering the records that come meanwhile,
# so one fdatasync (about 0.1 ms of kernel CPU here) serves several times as many records. An
# answer waits at most this much longer; a commit after a quiet spell starts at once.
COMMIT_INTERVAL = 0.003


class SpoolError(CasewiseError):
    """A decision record could not be made durable; the decision is not answered."""

    code = "decision-log-unavailable"
    status = 503


@dataclass(eq=False)
class Segment:
    """One spool file this process holds (locked): written by us, or an orphan taken over."""

    path: Path
    fd: int
    end: int = 0  # bytes committed (fsynced); records beyond are not to be read yet
    offset: int = 0  # bytes already written to Neo4j (or skipped)
    closed: bool = False  # no more records will be appended
    orphan: bool = False
    opened_at: float = field(default_factory=time.monotonic)


Waiter = concurrent.futures.Future[None] | tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]


@dataclass
class _Pending:
    data: list[bytes] = field(default_factory=list)
    waiters: list[Waiter] = field(default_factory=list)


def encode(record: dict[str, Any]) -> bytes:
    """Give a record as one spool line."""
    return orjson.dumps(record) + b"\n"


class Spool:
    """The spool folder of this process: a writer thread and the segments it holds."""

    def __init__(
        self,
        directory: Path,
        max_segment_bytes: int = MAX_SEGMENT_BYTES,
        max_segment_seconds: float = MAX_SEGMENT_SECONDS,
        commit_interval: float = COMMIT_INTERVAL,
    ) -> None:
        self.directory = directory
        self.commit_interval = commit_interval
        self.max_segment_bytes = max_segment_bytes
        self.max_segment_seconds = max_segment_seconds
        self._cond = threading.Condition()
        self._pending = _Pending()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._segments: list[Segment] = []  # oldest first; the active one last if open
        self._active: Segment | None = None
        self._lock = threading.Lock()  # guards _segments and the segments' end/closed
        self._seq = 0
        self.changed = threading.Event()  # set after each commit, for the flusher
        self.commits = 0  # fsyncs done (group commits)

    # --- writing ----------------------------------------------------------------------

    def start(self) -> None:
        """Open a fresh segment and start the writer thread."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._open_segment()
        self._thread = threading.Thread(target=self._write_loop, name="casewise-spool", daemon=True)
        self._thread.start()

    def submit(self, records: list[bytes]) -> concurrent.futures.Future[None]:
        """Queue encoded records; the future is done once they are fsynced (one group)."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._enqueue(records, future)
        return future

    def commit(self, records: list[bytes]) -> asyncio.Future[None]:
        """Queue encoded records from the event loop; await the result to wait for the fsync."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._enqueue(records, (loop, future))
        return future

    def _enqueue(self, records: list[bytes], waiter: Waiter) -> None:
        with self._cond:
            if self._stopping or self._thread is None:
                error = SpoolError("the decision log is not running (the service is stopping)")
                _wake([waiter], error)
                return
            self._pending.data.extend(records)
            self._pending.waiters.append(waiter)
            if len(self._pending.waiters) == 1:
                # The writer waits only for a group's first waiter: it checks for waiters under
                # this lock before it waits, and those after the first join the group it takes.
                # One wake-up a group, not one a request (a futex call each, on the event loop).
                self._cond.notify()

    def _write_loop(self) -> None:
        started = 0.0  # when the last group commit started
        while True:
            with self._cond:
                while not self._pending.waiters and not self._stopping:
                    self._cond.wait()
                stopping = self._stopping
            pause = started + self.commit_interval - time.monotonic()
            if pause > 0 and not stopping:
                time.sleep(pause)  # callers queue meanwhile; notify() finds no one to wake
            with self._cond:
                if not self._pending.waiters:
                    return
                group, self._pending = self._pending, _Pending()
            started = time.monotonic()
            error = self._write(b"".join(group.data))
            _wake(group.waiters, error)
            self.changed.set()

    def _write(self, data: bytes) -> SpoolError | None:
        active = self._active
        try:
            if active is None or active.end and self._full(active, len(data)):
                active = self._open_segment()
            view = memoryview(data)
            while view:
                written = os.write(active.fd, view)
                view = view[written:]
            os.fdatasync(active.fd)
        except OSError as exc:
            log.error(
                "could not write %d byte(s) to the spool %s: %s", len(data), self.directory, exc
            )
            # A partial line may sit at the end: start a new segment, and read this one only
            # up to what was committed.
            with self._lock:
                if self._active is not None:
                    self._active.closed = True
                self._active = None
            return SpoolError(
                f"could not write the decision record to the spool {self.directory}: {exc}; "
                "free disk space or fix CASEWISE_SPOOL_DIR"
            )
        with self._lock:
            active.end += len(data)
        self.commits += 1
        return None

    def _full(self, active: Segment, more: int) -> bool:
        if active.end + more > self.max_segment_bytes:
            return True
        return time.monotonic() - active.opened_at > self.max_segment_seconds

    def _open_segment(self) -> Segment:
        self._seq += 1
        name = f"{int(time.time() * 1000):013d}-{os.getpid()}-{self._seq:05d}{SUFFIX}"
        hidden = self.directory / f".{name}.new"
        fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path = self.directory / name
            os.rename(hidden, path)
            fsync_dir(self.directory)
        except BaseException:
            os.close(fd)
            hidden.unlink(missing_ok=True)
            raise
        segment = Segment(path, fd)
        with self._lock:
            if self._active is not None:
                self._active.closed = True
            self._active = segment
            self._segments.append(segment)
        return segment

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is pending, then stop the writer; the segments stay held."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            if self._active is not None:
                self._active.closed = True
            self._active = None

    def release(self) -> None:
        """Let go of every segment: empty ones are deleted, the others wait for a flusher."""
        with self._lock:
            segments, self._segments = self._segments, []
        for segment in segments:
            if segment.offset >= segment.end and segment.closed:
                segment.path.unlink(missing_ok=True)
            os.close(segment.fd)

    # --- reading, for the flusher -------------------------------------------------------

    def work(self) -> list[Segment]:
        """Give the held segments that have records not yet written to Neo4j, oldest first."""
        with self._lock:
            return [s for s in self._segments if s.offset < s.end]

    def retire_done(self) -> int:
        """Delete the closed segments whose every record is in Neo4j; give how many."""
        with self._lock:
            done = [s for s in self._segments if s.closed and s.offset >= s.end]
            self._segments = [s for s in self._segments if s not in done]
        for segment in done:
            segment.path.unlink(missing_ok=True)
            os.close(segment.fd)
        return len(done)

    def claim_orphans(self) -> int:
        """Take over every segment no live process holds; give how many were taken."""
        with self._lock:
            mine = {s.path.name for s in self._segments}
        taken = 0
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return 0
        for name in names:
            if not name.endswith(SUFFIX) or name.startswith(".") or name in mine:
                continue
            segment = _lock_orphan(self.directory / name)
            if segment is None:
                continue
            if segment.end == 0:
                segment.path.unlink(missing_ok=True)
                os.close(segment.fd)
                continue
            log.info("taking over spool segment %s (%d bytes)", segment.path, segment.end)
            with self._lock:
                self._segments.insert(0, segment)
            taken += 1
        return taken

    def read(self, segment: Segment, limit: int) -> Iterator[tuple[dict[str, Any] | None, int]]:
        """Give (record, end offset) for each line after ``segment.offset``, at most ``limit``.

        A line that is not a JSON object (a torn last line of a crashed writer) gives None and
        is logged; reading goes on after it.
        """
        with self._lock:
            end = segment.end
            closed = segment.closed
        position = segment.offset
        count = 0
        while position < end and count < limit:
            chunk = os.pread(segment.fd, min(READ_CHUNK, end - position), position)
            if not chunk:
                break
            last = chunk.rfind(b"\n")
            if last < 0 and position + len(chunk) < end:
                # a line longer than a chunk: read the rest whole
                chunk = os.pread(segment.fd, end - position, position)
                last = chunk.rfind(b"\n")
            if last < 0:
                if closed:
                    log.warning(
                        "skipping a torn last line in spool segment %s at byte %d "
                        "(%d byte(s); its writer stopped mid-write, so it was never answered)",
                        segment.path,
                        position,
                        len(chunk),
                    )
                    yield None, end
                return
            for line in chunk[: last + 1].splitlines(keepends=True):
                position += len(line)
                yield _parse(line, segment, position), position
                count += 1
                if count >= limit:
                    return


def _parse(line: bytes, segment: Segment, position: int) -> dict[str, Any] | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        record = None
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return record
    log.warning(
        "skipping a line that is not a decision record in spool segment %s before byte %d: %r",
        segment.path,
        position,
        line[:120],
    )
    return None


def _lock_orphan(path: Path) -> Segment | None:
    """Lock a segment file if no one holds it and it is still there; else None."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Another flusher may have finished and deleted it between our open and our lock.
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            raise FileNotFoundError(path)
        size = os.fstat(fd).st_size
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    return Segment(path, fd, end=size, closed=True, orphan=True)


def _wake(waiters: list[Waiter], error: SpoolError | None) -> None:
    """Resolve the waiters of one group: one call per event loop, not one per waiter."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for waiter in waiters:
        if isinstance(waiter, tuple):
            by_loop.setdefault(waiter[0], []).append(waiter[1])
        elif error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, futures, error)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass


def _resolve(futures: list[asyncio.Future[None]], error: SpoolError | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
