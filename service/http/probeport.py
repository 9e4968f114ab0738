"""The probe port: ``casewise serve --probe-port`` answers /healthz and /readyz in its supervisor.

A worker answers its own probes at the connection (``service.http.shedding``), but only when its
event loop comes round to the socket, and a worker under overload shares its cores with the
requests it sheds: its probes wait with them. On the probe port the supervisor answers instead,
a process that does nothing else, from what each worker last reported:

- every ``REPORT_SECONDS`` a worker's event loop writes its /readyz answer to
  ``worker-<pid>.json`` in a folder of the supervisor's (``CASEWISE_PROBE_DIR``, set by ``casewise
  serve`` for its workers; in memory, under /dev/shm, where the machine has it) — the report's
  time also shows that the worker's loop turns;
- ``/healthz`` is 200 while some worker reported within ``STALE_SECONDS`` (or none has had time
  to start yet); 503 once every worker has been silent that long (uvicorn replaces a worker
  that stops answering its own pings after 30 s);
- ``/readyz`` is 200 when every worker that reported within ``STALE_SECONDS`` is ready, and one
  at least did; else 503 with each worker's answer, in the API's error shape.

Each answer carries ``workers``: pid, status, seconds since the report, and its problems. The
folder lives only as long as the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from service.http.errors import error_body
from service.http.readiness import Answer
from service.kernel.errors import CasewiseError
from service.kernel.procs import process_alive

log = logging.getLogger("uvicorn.error")  # the supervisor's log, configured by uvicorn

REPORT_SECONDS = 0.5
STALE_SECONDS = 10.0
START_GRACE_SECONDS = 60.0
"""How long /healthz says alive before any worker has reported (loading rules, warming up)."""
DIR_ENV = "CASEWISE_PROBE_DIR"
PREFIX, SUFFIX = "worker-", ".json"
MEMORY_FOLDER = "/dev/shm"  # Linux's memory-backed folder (tmpfs), where it is writable


class ProbePortError(CasewiseError):
    """The probe port cannot be listened on (in use, or not allowed)."""

    code = "invalid-settings"


# --- the worker's side ----------------------------------------------------------------------


def report_folder() -> Path | None:
    """Give the folder this worker reports to (None: its supervisor has no probe port)."""
    named = os.environ.get(DIR_ENV)
    return Path(named) if named else None


def report_path(folder: Path, pid: int) -> Path:
    return folder / f"{PREFIX}{pid}{SUFFIX}"


def write_report(folder: Path, answer: Answer | None) -> None:
    """Write this worker's answer (None: not known yet, its graph's first look is awaited),
    whole or not at all (a temporary file renamed over the last report)."""
    status, body = answer if answer is not None else (503, {"status": "starting"})
    data = json.dumps({"pid": os.getpid(), "at": time.time(), "status": status, "body": body})
    path = report_path(folder, os.getpid())
    part = path.with_suffix(".part")
    part.write_text(data)
    os.replace(part, path)


async def keep_reporting(folder: Path, answer: Callable[[], Answer | None]) -> None:
    """Write this worker's report every REPORT_SECONDS from its event loop until cancelled;
    then remove it (a worker that stops cleanly is no longer counted)."""
    try:
        while True:
            try:
                write_report(folder, answer())
            except OSError as exc:  # the supervisor's folder is gone: it is stopping
                log.warning("cannot write the probe report to %s: %s", folder, exc)
            await asyncio.sleep(REPORT_SECONDS)
    finally:
        report_path(folder, os.getpid()).unlink(missing_ok=True)


def lower_priority(nice: int) -> None:
    """Add ``nice`` to the niceness of every thread of this process (Linux keeps it per thread;
    threads started later inherit it), so that on a saturated node the supervisor, which
    answers the probes, gets a core before the workers do (CASEWISE_WORKER_NICE)."""
    tasks = Path("/proc/self/task")
    threads = [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]
    for thread in threads:
        try:
            now = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, now + nice))
        except OSError as exc:  # gone meanwhile, or not allowed
            log.warning("cannot lower the priority of thread %d: %s", thread, exc)


# --- the supervisor's side ------------------------------------------------------------------


def read_reports(folder: Path) -> list[dict[str, Any]]:
    """Give the reports of the workers alive now, each with its ``age`` in seconds; a dead
    worker's report is removed."""
    reports = []
    now = time.time()
    for path in folder.glob(f"{PREFIX}*{SUFFIX}"):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced, or gone
        if not process_alive(int(report.get("pid", 0))):  # a zombie too: killed, not reaped
            path.unlink(missing_ok=True)
            continue
        report["age"] = max(0.0, now - float(report["at"]))
        reports.append(report)
    return sorted(reports, key=lambda r: r["pid"])


def _workers(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for r in reports:
        body = r.get("body", {})
        problems = body.get("error", {}).get("details", []) if r["status"] != 200 else []
        shown.append(
            {
                "pid": r["pid"],
                "status": r["status"],
                "age_s": round(r["age"], 2),
                "problems": problems,
            }  # fmt: skip
        )
    return shown


def healthz(reports: list[dict[str, Any]], started_ago: float) -> Answer:
    """Give the node's liveness from its workers' reports."""
    fresh = [r for r in reports if r["age"] <= STALE_SECONDS]
    if fresh or (not reports and started_ago < START_GRACE_SECONDS):
        return 200, {"status": "ok", "workers": _workers(reports)}
    message = (
        f"no worker has run its event loop for {STALE_SECONDS:.0f} s"
        if reports
        else f"no worker has started in {started_ago:.0f} s; see the service's log"
    )
    return 503, error_body("not-alive", message, _workers(reports))


def readyz(reports: list[dict[str, Any]]) -> Answer:
    """Give the node's readiness: every worker heard from lately is ready, and one at least."""
    fresh = [r for r in reports if r["age"] <= STALE_SECONDS]
    if fresh and all(r["status"] == 200 for r in fresh):
        rulesets = min(r["body"].get("rulesets", 0) for r in fresh)
        return 200, {"status": "ready", "rulesets": rulesets, "workers": _workers(reports)}
    if not fresh:
        message = f"not ready: no worker has reported in the last {STALE_SECONDS:.0f} s"
        return 503, error_body("not-ready", message, _workers(reports))
    behind = [r for r in fresh if r["status"] != 200]
    reasons = sorted({r["body"].get("error", {}).get("message", "starting") for r in behind})
    message = f"{len(behind)} of {len(fresh)} worker(s) not ready: " + "; ".join(reasons)
    return 503, error_body("not-ready", message, _workers(reports))


class ProbeServer:
    """The supervisor's probe listener, on a thread of its own."""

    def __init__(self, host: str, port: int, folder: Path) -> None:
        self.folder = folder
        self.started = time.monotonic()
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="casewise-probes", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def answer(self, path: str) -> Answer | None:
        reports = read_reports(self.folder)
        if path == "/healthz":
            return healthz(reports, time.monotonic() - self.started)
        if path == "/readyz":
            return readyz(reports)
        return None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: ProbeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a probing client may hold a connection

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            answer = server.answer(path)
            if answer is None:
                message = f"no {path} on the probe port; it answers /healthz and /readyz"
                answer = 404, error_body("not-found", message)
            status, body = answer
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # ten probes a second are not worth a log line each

    return Handler


def memory_folder() -> str | None:
    """Give a folder kept in memory for the reports (None: the temporary folder's default).

    A report is rewritten every REPORT_SECONDS by every worker's event loop and read at every
    probe: on a disk, a rename can wait for the file system's journal, which the decision log's
    fsyncs keep busy, and a probe reading the folder meanwhile waits with it."""
    shm = Path(MEMORY_FOLDER)
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


@contextlib.contextmanager
def probe_port(host: str, port: int | None) -> Any:
    """Serve the probe port while the block runs (nothing when ``port`` is None): a folder for
    the workers' reports, named to them in CASEWISE_PROBE_DIR, and the listener."""
    if port is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="casewise-probes-", dir=memory_folder()))
    try:
        server = ProbeServer(host, port, folder)
    except OSError as exc:
        folder.rmdir()
        raise ProbePortError(
            f"cannot answer probes on {host}:{port}: {exc.strerror or exc}; choose another "
            "--probe-port (CASEWISE_PROBE_PORT)"
        ) from exc
    os.environ[DIR_ENV] = str(folder)
    server.start()
    log.info("probes answered on http://%s:%d (/healthz, /readyz)", host, server.port)
    try:
        yield server
    finally:
        server.stop()
        os.environ.pop(DIR_ENV, None)
        for path in folder.iterdir():
            path.unlink(missing_ok=True)
        folder.rmdir()
