"""`casewise serve --probe-port`: the supervisor answers /healthz and /readyz for its workers,
also while none of them can (here: stopped), and refuses a port it cannot have."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import CASEWISE, free_port, served_env, serving

pytestmark = [pytest.mark.integration]

RULES = Path(__file__).parents[2] / "rules"


def _env(folder: Path) -> dict[str, str]:
    return served_env() | {
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "off",
        "CASEWISE_SPOOL_DIR": str(folder / "spool"),
    }


def _workers(serve_pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(serve_pid), "-f", "spawn_main"],
                           capture_output=True, text=True)  # fmt: skip
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
def one_worker(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """`casewise serve --workers 1 --probe-port P`: its URL, the probe port's, its worker."""
    probes = free_port()
    args = ["--workers", "1", "--rules", str(RULES), "--probe-port", str(probes)]
    env = _env(tmp_path) | {"CASEWISE_WORKER_NICE": "5"}
    with serving(args, env, tmp_path / "serve.log") as served:
        workers = _workers(served.process.pid)
        assert len(workers) == 1, workers
        # the worker yields a core to its supervisor, which answers the probes
        supervisor = os.getpriority(os.PRIO_PROCESS, served.process.pid)
        assert os.getpriority(os.PRIO_PROCESS, workers[0]) == min(19, supervisor + 5)
        yield served.url, f"http://127.0.0.1:{probes}", workers[0]


def _wait_for(url: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + 15
    while True:
        answer = httpx.get(url, timeout=2)
        if answer.status_code == status:
            return answer
        assert time.monotonic() < deadline, f"{url}: {answer.status_code} {answer.text}"
        time.sleep(0.1)


def test_the_probe_port_answers_for_a_worker_that_cannot(one_worker: tuple[str, str, int]) -> None:
    url, probes, worker = one_worker
    ready = _wait_for(f"{probes}/readyz", 200).json()
    assert ready["rulesets"] == httpx.get(f"{url}/readyz", timeout=5).json()["rulesets"]
    assert [w["pid"] for w in ready["workers"]] == [worker]
    os.kill(worker, signal.SIGSTOP)  # as a worker that gets no core for a while
    try:
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{url}/healthz", timeout=0.5)  # the worker's own port cannot answer
        began = time.monotonic()
        alive = httpx.get(f"{probes}/healthz", timeout=5)
        took = time.monotonic() - began
        assert alive.status_code == 200, alive.text
        assert took < 0.5, f"the probe port took {took:.2f} s"
        time.sleep(1.0)  # the worker's report ages while it is stopped
        shown = httpx.get(f"{probes}/readyz", timeout=5).json()["workers"][0]
        assert shown["age_s"] >= 1.0
    finally:
        os.kill(worker, signal.SIGCONT)
    assert _wait_for(f"{probes}/readyz", 200).json()["workers"][0]["age_s"] < 1.0


def test_a_probe_port_in_use_stops_serve_with_the_port_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(CASEWISE), "serve", "--port", str(free_port()), "--rules", str(RULES),
             "--probe-port", str(port)],
            env=_env(tmp_path), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert f"cannot answer probes on 127.0.0.1:{port}" in done.stderr
    assert "--probe-port" in done.stderr
