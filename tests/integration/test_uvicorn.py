"""A real `casewise serve` (uvicorn, two worker processes) answering decisions over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures import RULES

pytestmark = pytest.mark.integration

CASEWISE = Path(sys.executable).parent / "casewise"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWISE_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(CASEWISE), "serve", "--port", str(port), "--workers", "2", "--rules", str(RULES)],
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
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"casewise serve not ready after 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        # The workers share the server's process group; stop them all.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_health_and_readiness(server: str) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server}/readyz").json() == {"status": "ready", "rulesets": 2}


def test_decisions_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as client:
        for amount, route in [(120, "auto"), (20000, "cfo")]:
            data = {"amount": amount, "department": "IT", "vendor": {"risk": "low"}}
            response = client.post("/v1/decisions/invoice-approval", json=data)
            assert response.status_code == 200, response.text
            assert response.json()["outputs"]["route"] == route
        bad = client.post("/v1/decisions/invoice-approval", json={"amount": "lots"})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid-input"
        missing = client.post("/v1/decisions/nope", json={})
        assert missing.status_code == 404


def test_batch_over_http(server: str) -> None:
    items = [{"amount": i * 1000, "department": "Ops"} for i in range(50)]
    response = httpx.post(
        f"{server}/v1/decisions/invoice-approval/batch", json={"items": items}, timeout=10
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 50
    assert results[-1]["decision"]["outputs"]["route"] == "cfo"


def test_oversized_body_over_http(server: str) -> None:
    body = b'{"amount": 1, "department": "IT", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = httpx.post(
        f"{server}/v1/decisions/invoice-approval",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload-too-large"
