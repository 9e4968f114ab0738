"""A real ``casewise serve`` for tests: started on a free port, ready once /readyz answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import pytest

CASEWISE = Path(sys.executable).parent / "casewise"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    """A running ``casewise serve``: its base URL and its process (the leader of its group)."""

    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class Neo4jAt(Protocol):
    """Where a Neo4j is and how to sign in to it (the session's ``neo4j_server``)."""

    @property
    def uri(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def database(self) -> str: ...


def served_env(neo4j: Neo4jAt | None = None) -> dict[str, str]:
    """Give this process's environment without any Casewise or Neo4j setting, on ``neo4j``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWISE_", "NEO4J_"))}
    if neo4j is not None:
        env |= {
            "NEO4J_URI": neo4j.uri,
            "NEO4J_USER": neo4j.user,
            "NEO4J_PASSWORD": neo4j.password,
            "NEO4J_DATABASE": neo4j.database,
            # recommendations refreshed for what is written through the server only: the
            # graph is shared with other tests, which a periodic look would write into
            "CASEWISE_RECOMMEND_REFRESH_SECONDS": "0",
        }
    return env


def _started(ready: httpx.Response) -> bool:
    """Tell whether /readyz says the server serves its rulesets: ready, or not ready only as the
    Neo4j it was given does not answer (a test of Neo4j being down)."""
    if ready.status_code == 200:
        return True
    details = ready.json().get("error", {}).get("details") if ready.status_code == 503 else []
    return bool(details) and all(isinstance(d, dict) and d.get("check") == "graph" for d in details)


@contextmanager
def serving(args: list[str], env: dict[str, str], log: Path) -> Iterator[Served]:
    """Run ``casewise serve ARGS --port N`` until the block ends (or ``kill``); give it ready."""
    port = free_port()
    # Never the repository's var/spool: a spool beside the log unless the test chose one.
    env = {"CASEWISE_SPOOL_DIR": str(log.parent / f"{log.stem}-spool"), **env}
    env = {"CASEWISE_DOCUMENTS_DIR": str(log.parent / f"{log.stem}-documents"), **env}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(CASEWISE), "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"casewise serve exited {process.returncode}:\n{log.read_text()}")
            try:
                if _started(httpx.get(f"{url}/readyz", timeout=1)):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"casewise serve not ready after 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Served(url, process)
    finally:
        if process.poll() is None:
            # Worker processes share the server's process group; stop them all.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def casewise_serve(args: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """Run ``casewise serve ARGS --port N`` until the block ends; give its base URL."""
    with serving(args, env, log) as served:
        yield served.url
