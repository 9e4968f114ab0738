"""A real `casewise serve` refuses at the connection what admission would refuse at once (one
ready-made 503, the body dropped, the connection kept for the next request) and answers
/healthz there, even while every slot is taken."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration]

RULES = Path(__file__).parents[2] / "rules"
BODY = json.dumps({"amount": 120, "department": "IT", "vendor": {"risk": "low"}}).encode()


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One worker with one slot and no queue, without a graph."""
    folder = tmp_path_factory.mktemp("shedding")
    env = served_env() | {
        "CASEWISE_AUTH": "off",
        "CASEWISE_WATCH": "off",
        "CASEWISE_SPOOL_DIR": str(folder / "spool"),
        "CASEWISE_MAX_IN_FLIGHT": "1",
        "CASEWISE_MAX_QUEUE": "0",
    }
    args = ["--workers", "1", "--rules", str(RULES)]
    with casewise_serve(args, env, folder / "serve.log") as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def head(method: str, path: str, length: int) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


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
    one_slot: tuple[str, int],
) -> None:
    with (
        socket.create_connection(one_slot, timeout=10) as holder,
        socket.create_connection(one_slot, timeout=10) as other,
    ):
        # The holder's request is admitted and waits for the rest of its body: the slot is taken.
        holder.sendall(head("POST", "/v1/decisions/invoice-approval", len(BODY)) + BODY[:5])
        # Until the holder's request is in, the other one may still get the slot: ask until not.
        for _ in range(50):
            other.sendall(head("POST", "/v1/decisions/invoice-approval", len(BODY)) + BODY)
            status, headers, body = read_answer(other)
            if status == 503:
                break
        assert status == 503, body
        error = json.loads(body)["error"]
        assert error["code"] == "overloaded" and headers["retry-after"] == "1"
        assert "x-request-id" not in headers  # answered before the app: no request id given
        assert headers["server"] == "uvicorn" and headers["date"]  # as every answer has
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"]
        assert "default-src 'none'" in headers["content-security-policy"]
        # The refused request's body was dropped: the same connection serves the next one.
        other.sendall(head("GET", "/healthz", 0))
        status, headers, body = read_answer(other)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert headers["x-frame-options"] == "DENY"
        assert "x-request-id" not in headers  # answered in the loop's read, not by the app
        # The holder finishes its body and gets its decision.
        holder.sendall(BODY[5:])
        status, _, body = read_answer(holder)
        assert status == 200, body
        assert json.loads(body)["outputs"]
