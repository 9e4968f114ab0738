"""`casewise serve --workers 2` spreads a client's connections over both workers (a socket each),
and a worker that is killed is replaced on its own socket: every new connection is answered."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.serving import Served, served_env, serving

pytestmark = [pytest.mark.integration]

RULES = Path(__file__).parents[2] / "rules"
CONNECTIONS = 64
FAIR_SHARE = 16  # of 64 over 2 workers: one socket shared gave 64/0, 62/2, 55/9 (2026-12-07)


def _workers(serve_pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(serve_pid), "-f", "spawn_main"],
                           capture_output=True, text=True)  # fmt: skip
    return sorted(int(pid) for pid in found.stdout.split())


def _held(pid: int, port: int) -> int:
    """Count the established connections to ``port`` whose socket the process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
            count += 1
    return count


def _open(address: tuple[str, int], count: int) -> list[socket.socket]:
    """Open ``count`` connections, each answered one GET /healthz within 5 s."""
    opened = []
    for _ in range(count):
        conn = socket.create_connection(address, timeout=5)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        opened.append(conn)
    for conn in opened:
        answer = conn.recv(65536)  # socket.timeout: a connection nobody accepted
        assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    return opened


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Served]:
    env = served_env() | {
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "off",
        "CASEWISE_DECISION_LOG": "off",
    }
    args = ["--workers", "2", "--rules", str(RULES)]
    with serving(args, env, tmp_path / "serve.log") as served:
        deadline = time.monotonic() + 30
        while len(_workers(served.process.pid)) != 2:
            assert time.monotonic() < deadline, "two workers did not start"
            time.sleep(0.1)
        yield served


def _address(served: Served) -> tuple[str, int]:
    parts = urlsplit(served.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def test_a_clients_connections_spread_over_the_workers(two_workers: Served) -> None:
    address = _address(two_workers)
    opened = _open(address, CONNECTIONS)
    try:
        held = {pid: _held(pid, address[1]) for pid in _workers(two_workers.process.pid)}
        assert sum(held.values()) == CONNECTIONS, held
        assert min(held.values()) >= FAIR_SHARE, f"connections per worker: {held}"
    finally:
        for conn in opened:
            conn.close()


def test_a_killed_worker_is_replaced_on_its_own_socket(two_workers: Served) -> None:
    address = _address(two_workers)
    killed, kept = _workers(two_workers.process.pid)
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        now = _workers(two_workers.process.pid)
        if len(now) == 2 and killed not in now:
            break
        assert time.monotonic() < deadline, f"no worker replaced {killed}: {now}"
        time.sleep(0.1)
    (replacement,) = set(now) - {kept}
    opened = _open(address, CONNECTIONS)  # none waits on a socket nobody accepts from
    try:
        assert _held(replacement, address[1]) >= FAIR_SHARE
        assert _held(kept, address[1]) >= FAIR_SHARE
    finally:
        for conn in opened:
            conn.close()
