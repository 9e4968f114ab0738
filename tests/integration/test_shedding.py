"""A real `casewise serve` refuses at the connection what admission would refuse at once (one
ready-made 503, the body dropped, the connection kept for the next request) and answers
/healthz there, even while every slot is taken; both with a request id and a log line."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration]

RULES = Path(__file__).parents[2] / "rules"
BODY = json.dumps({"amount": 120, "department": "IT", "vendor": {"risk": "low"}}).encode()


@dataclass(frozen=True)
class Served:
    address: tuple[str, int]
    log: Path  # the server's output: its JSON log lines


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One worker with one slot and no queue, without a graph, logging JSON lines."""
    folder = tmp_path_factory.mktemp("shedding")
    env = served_env() | {
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "off",
        "CASEWISE_SPOOL_DIR": str(folder / "spool"),
        "CASEWISE_MAX_IN_FLIGHT": "1",
        "CASEWISE_MAX_QUEUE": "0",
        "CASEWISE_LOG_FORMAT": "json",
    }
    args = ["--workers", "1", "--rules", str(RULES)]
    log = folder / "serve.log"
    with casewise_serve(args, env, log) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield Served((parts.hostname, parts.port), log)


def head(method: str, path: str, length: int, request_id: str = "") -> bytes:
    given = f"X-Request-Id: {request_id}\r\n" if request_id else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"{given}Content-Length: {length}\r\n\r\n"
    ).encode()


def logged(log: Path, request_id: str) -> dict[str, object]:
    """Wait for the server's JSON log line of the request ``request_id``; give it."""
    deadline = time.monotonic() + 10
    while True:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"{request_id}"' in line:
                record: dict[str, object] = json.loads(line)
                if record.get("request_id") == request_id:
                    return record
        assert time.monotonic() < deadline, f"no log line of {request_id} in:\n{log.read_text()}"
        time.sleep(0.05)


def read_answer(conn: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 answer with a Content-Length: status, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    top, _, rest = data.partition(b"\r\n\r\n")
    lines = top.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = conn.recv(65536)
        assert chunk, "connection closed inside the body"
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


def test_a_request_beyond_the_slots_is_refused_at_the_connection_and_it_stays_open(
    one_slot: Served,
) -> None:
    with (
        socket.create_connection(one_slot.address, timeout=10) as holder,
        socket.create_connection(one_slot.address, timeout=10) as other,
    ):
        # The holder's request is admitted and waits for the rest of its body: the slot is taken.
        holder.sendall(head("POST", "/v1/decisions/invoice-approval", len(BODY)) + BODY[:5])
        # Until the holder's request is in, the other one may still get the slot: ask until not.
        for attempt in range(50):
            request_id = f"shed-test-{attempt}"
            path = "/v1/decisions/invoice-approval"
            other.sendall(head("POST", path, len(BODY), request_id) + BODY)
            status, headers, body = read_answer(other)
            if status == 503:
                break
        assert status == 503, body
        error = json.loads(body)["error"]
        assert error["code"] == "overloaded" and headers["retry-after"] == "1"
        assert headers["x-request-id"] == request_id  # the client's id, as the app gives back
        assert headers["server"] == "uvicorn" and headers["date"]  # as every answer has
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"]
        assert "default-src 'none'" in headers["content-security-policy"]
        # The refused request's body was dropped: the same connection serves the next one.
        other.sendall(head("GET", "/healthz", 0))
        status, headers, body = read_answer(other)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert headers["x-frame-options"] == "DENY"
        alive_id = headers["x-request-id"]  # none was sent: the worker's own
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]+", alive_id), alive_id
        # Each answer at the connection wrote its request log line, as the app's answers do.
        refused = logged(one_slot.log, request_id)
        assert (refused["status"], refused["method"], refused["path"]) == (503, "POST", path)
        assert logged(one_slot.log, alive_id)["status"] == 200
        # The holder finishes its body and gets its decision.
        holder.sendall(BODY[5:])
        status, _, body = read_answer(holder)
        assert status == 200, body
        assert json.loads(body)["outputs"]
