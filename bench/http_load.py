"""HTTP measurements: a real `casewise serve --workers 2` and the bare app, loaded by wrk.

Only 127.0.0.1 is ever a target; every measurement is bounded in time; servers are started
in their own process group and stopped with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cputime import main_and_others, process_seconds

HOST = "127.0.0.1"
WORKERS = 2
# wrk's connections: enough that every server measured is CPU-bound. With 32, Casewise with the
# decision log on left a fifth of a core idle (each answer waits ~3 ms for its group commit),
# so the run measured that wait rather than what the server can do; bare FastAPI is CPU-bound
# with either, and gains ~5% from 64 too. Batches of 100 keep 32: 64 of them at once are more
# than the two workers' slots and queues take within the queue timeout (some are answered 503).
CONNECTIONS = 64
BATCH_CONNECTIONS = 32


class HttpBenchError(Exception):
    """A server did not start, or answered errors under load."""


def ensure_wrk(say: Callable[[str], None]) -> str:
    """The path of wrk, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is not installed; installing Debian's package (apt-get install -y wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise HttpBenchError(f"could not install wrk: {result.stderr.strip()[-500:]}")
    found = shutil.which("wrk")
    if not found:
        raise HttpBenchError("wrk is still not on PATH after installing it")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


def casewise_command(port: int, rules: Path) -> list[str]:
    """`casewise serve` as installed beside this Python."""
    args = ["serve", "--host", HOST, "--port", str(port), "--workers", str(WORKERS)]
    args += ["--rules", str(rules)]
    script = Path(sys.executable).with_name("casewise")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from service.cli import app; app()", *args]


def bare_command(port: int, log_level: str) -> list[str]:
    """The bare app under uvicorn's workers, a listening socket each, as `casewise serve`."""
    return [
        sys.executable, "-m", "bench.bare_serve",
        "--host", HOST, "--port", str(port), "--workers", str(WORKERS),
        "--log-level", log_level,
    ]  # fmt: skip


@contextmanager
def serving(
    name: str,
    command: list[str],
    port: int,
    probe: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``command`` until the block ends; ready once POST ``probe`` answers 200."""
    log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent, env={**os.environ, **(env or {})},
        )  # fmt: skip
    server = Server(name, port, process, log)
    try:
        _wait_ready(server, probe, body, headers or {})
        yield server
    finally:
        _stop(process)


def _wait_ready(
    server: Server, probe: str, body: bytes, headers: dict[str, str], timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            status, _ = post(server.url(probe), body, headers)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    tail = server.log.read_text(errors="replace")[-2000:]
    raise HttpBenchError(f"{server.name} did not become ready ({last}); its log ends:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, Any]:
    """POST JSON (with ``headers``, e.g. the API key); the status and the parsed answer."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def lua_script(bodies: list[bytes], headers: dict[str, str] | None = None) -> str:
    """A wrk script that POSTs the bodies in turn, each with ``headers`` (the API key)."""
    items = []
    for body in bodies:
        text = body.decode()
        level = 1
        while f"]{'=' * level}]" in text:
            level += 1
        items.append(f"[{'=' * level}[{text}]{'=' * level}]")
    return (
        "local bodies = {\n" + ",\n".join(items) + "\n}\n"
        "local n = 0\n"
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        + "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in (headers or {}).items())
        + "request = function()\n"
        "  n = n % #bodies + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[n])\n"
        "end\n"
    )


@dataclass
class Load:
    requests_per_second: float
    requests: int
    latency: str
    errors: str | None
    server_cpu: list[float] | None = None  # CPU-s of each worker process over the run
    wrk_cpu: float | None = None  # CPU-s of wrk over the run
    loop_cpu: float | None = None  # run time of the workers' event-loop threads (schedstat)
    threads_cpu: float | None = None  # of their other threads (the decision log's, mostly)
    neo4j_cpu: float | None = None  # CPU-s of the bench's own Neo4j over the run

    def per_request(self, seconds: float | None) -> float | None:
        """Give ``seconds`` of CPU over the run as microseconds per request."""
        if seconds is None or not self.requests:
            return None
        return seconds / self.requests * 1e6

    def cpu_per_request(self) -> float | None:
        """Microseconds of CPU per request, the server's and wrk's (None when not measured)."""
        if self.server_cpu is None or self.wrk_cpu is None or not self.requests:
            return None
        return (sum(self.server_cpu) + self.wrk_cpu) / self.requests * 1e6

    def bunched(self) -> bool:
        """Tell whether wrk's connections fell mostly on one worker (a worker used under a
        quarter of the CPU of the busiest, so the rate is of fewer workers than served). Both
        servers give each worker a socket of its own, which the kernel spreads connections
        over; with one shared socket a worker could take nearly all of them."""
        cpu = self.server_cpu or []
        return len(cpu) > 1 and min(cpu) < 0.25 * max(cpu)


def worker_cpu(server: Server) -> dict[int, float]:
    """CPU-seconds (user + system) so far of each worker process of ``server`` (uvicorn spawns
    them; exited threads included, e.g. argon2's), or of the server itself without workers."""
    import psutil  # type: ignore[import-untyped]  # a bench extra; `make test` imports this module

    found: dict[int, float] = {}
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(server.process.pid)
        workers = []
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                if any("spawn_main" in part for part in child.cmdline()):
                    workers.append(child)
        for one in workers or [root]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = one.cpu_times()
                found[one.pid] = times.user + times.system
    return found


def _threads(pids: list[int]) -> dict[int, tuple[float, float]]:
    """Give each live worker's (event-loop thread, other threads) run time so far."""
    found = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            found[pid] = main_and_others(pid)
    return found


def measured_run(
    wrk: str,
    server: Server,
    url: str,
    script: Path,
    seconds: float,
    connections: int = CONNECTIONS,
    neo4j_pid: int | None = None,
) -> Load:
    """``run_wrk`` against ``server``, with the CPU its workers (and their threads), wrk and
    the bench's own Neo4j (``neo4j_pid``) spent on the run."""
    before, children = worker_cpu(server), resource.getrusage(resource.RUSAGE_CHILDREN)
    threads = _threads(list(before))
    neo4j = process_seconds(neo4j_pid) if neo4j_pid else None
    got = run_wrk(wrk, url, script, seconds=seconds, connections=connections)
    after, done = worker_cpu(server), resource.getrusage(resource.RUSAGE_CHILDREN)
    threads_after = _threads(list(after))
    got.server_cpu = [after[pid] - before[pid] for pid in after if pid in before]
    got.wrk_cpu = done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime
    both = [pid for pid in threads_after if pid in threads]
    got.loop_cpu = sum(threads_after[pid][0] - threads[pid][0] for pid in both)
    got.threads_cpu = sum(threads_after[pid][1] - threads[pid][1] for pid in both)
    if neo4j_pid and neo4j is not None:
        got.neo4j_cpu = process_seconds(neo4j_pid) - neo4j
    return got


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    *,
    seconds: float,
    connections: int = CONNECTIONS,
    threads: int = 1,
) -> Load:
    """One bounded wrk run against ``url`` (which must be on 127.0.0.1)."""
    if not url.startswith(f"http://{HOST}:"):
        raise HttpBenchError(f"refusing to load {url}: only {HOST} is a target")
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "10s", "-s", str(script), url,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    out = result.stdout
    if result.returncode != 0 or "Requests/sec" not in out:
        raise HttpBenchError(f"wrk failed ({result.returncode}): {result.stderr or out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+(\S+)", out)
    problems = []
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        problems.append(f"{non2xx.group(1)} non-2xx responses")
    sockets = re.search(r"Socket errors: (.+)", out)
    if sockets:
        problems.append(f"socket errors: {sockets.group(1)}")
    return Load(rps, total, latency.group(1) if latency else "?", "; ".join(problems) or None)
