"""Admission control of one worker: slots, a bounded queue served in order, and the shedding."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.server import ServerState

from service.http.admission import Admission, AdmissionMiddleware, KeyRate
from service.http.requestlog import RequestLog
from service.http.shedding import EdgeProtocol
from service.settings import Settings
from tests.auth import make_client
from tests.connections import Transport
from tests.fixtures import RULES


def test_requests_beyond_the_slots_wait_in_order_and_get_the_slot_handed_over() -> None:
    async def scenario() -> list[str]:
        admission = Admission(max_in_flight=1, max_queue=2, queue_timeout_s=5)
        order: list[str] = []
        assert await admission.enter() is None  # the one slot
        first = asyncio.ensure_future(admission.enter())
        second = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)  # let both join the queue
        assert len(admission.waiting) == 2
        first.add_done_callback(lambda _: order.append("first"))
        second.add_done_callback(lambda _: order.append("second"))
        admission.leave()  # hands the slot to the first waiter
        assert await first is None
        assert not second.done()
        admission.leave()
        assert await second is None
        admission.leave()
        assert admission.in_flight == 0 and not admission.waiting
        return order

    assert asyncio.run(scenario()) == ["first", "second"]


def test_a_full_queue_sheds_at_once_and_a_long_wait_sheds_after_the_timeout() -> None:
    async def scenario() -> tuple[str | None, str | None]:
        admission = Admission(max_in_flight=1, max_queue=1, queue_timeout_s=0.02)
        assert await admission.enter() is None
        waiter = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)
        full = await admission.enter()  # the queue holds one: refused without waiting
        late = await waiter  # nobody leaves: its wait times out
        assert not admission.waiting and admission.in_flight == 1
        return full, late

    assert asyncio.run(scenario()) == ("queue-full", "queue-timeout")


def test_a_request_read_late_by_a_lagging_loop_is_shed_at_once_instead_of_queued() -> None:
    async def scenario() -> tuple[str | None, float, int]:
        admission = Admission(max_in_flight=1, max_queue=4, queue_timeout_s=0.05)
        loop = asyncio.get_running_loop()
        assert await admission.enter() is None  # the one slot
        admission.watch(loop)
        time.sleep(0.12)  # the worker's loop is held up, so requests wait unread in sockets
        for _ in range(3):  # the overdue tick runs in the iteration that reads the requests
            await asyncio.sleep(0)
        lag = admission.lag
        started = time.monotonic()
        shed = await admission.enter()  # it has waited longer than the queue timeout already
        waited = time.monotonic() - started
        assert waited < 0.01 and not admission.waiting  # refused without waiting in the queue
        # Once the loop keeps time again, a request waits in the queue for a slot as before.
        deadline = time.monotonic() + 5
        while admission.lag > 0.02 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        waiter = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)
        queued = len(admission.waiting)
        admission.leave()
        assert await waiter is None
        return shed, lag, queued

    shed, lag, queued = asyncio.run(scenario())
    assert shed == "queue-timeout"
    assert lag >= 0.05, lag
    assert queued == 1


def test_the_connection_is_told_to_refuse_only_what_admission_would_refuse_at_once() -> None:
    async def scenario() -> list[str | None]:
        admission = Admission(max_in_flight=1, max_queue=1, queue_timeout_s=0.05)
        told = [admission.refuses_at_once()]  # a free slot
        assert await admission.enter() is None
        told.append(admission.refuses_at_once())  # slot taken, room in the queue, no lag
        waiter = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)
        told.append(admission.refuses_at_once())  # and now the queue is full
        admission.leave()
        assert await waiter is None
        time.sleep(0.12)  # the loop falls behind by more than the queue timeout
        for _ in range(3):
            await asyncio.sleep(0)
        told.append(admission.refuses_at_once())
        return told

    assert asyncio.run(scenario()) == [None, None, "queue-full", "queue-timeout"]


def test_a_waiter_that_goes_away_leaves_the_queue_and_loses_no_slot() -> None:
    async def scenario() -> int:
        admission = Admission(max_in_flight=1, max_queue=4, queue_timeout_s=5)
        assert await admission.enter() is None
        gone = asyncio.ensure_future(admission.enter())
        stays = asyncio.ensure_future(admission.enter())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        assert len(admission.waiting) == 1
        admission.leave()
        assert await stays is None
        admission.leave()
        return admission.in_flight

    assert asyncio.run(scenario()) == 0


def test_a_key_over_its_rate_is_told_when_to_come_back() -> None:
    rate = KeyRate("3/minute")
    assert [rate.retry_after("erp") for _ in range(3)] == [None, None, None]
    wait = rate.retry_after("erp")
    assert wait is not None and 1 <= wait <= 60
    assert rate.retry_after("crm") is None  # another key has its own count


def test_every_shed_answer_carries_its_headers_once(tmp_path: Path) -> None:
    # The 503's messages are made once; the layers around admission must not pile onto them.
    settings = Settings(rules_dir=RULES, watch="off", spool_dir=tmp_path, neo4j_uri=None)
    with make_client(settings) as client:
        admission = client.app.state.admission  # type: ignore[attr-defined]
        admission.in_flight, admission.max_queue = admission.max_in_flight, 0
        for _ in range(3):
            answer = client.post("/v1/decisions/invoice-approval", json={"amount": 1})
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "overloaded"
            names = [name.lower() for name, _ in answer.headers.raw]
            assert names.count(b"x-request-id") == 1, names
            assert names.count(b"retry-after") == 1 and names.count(b"x-frame-options") == 1
        admission.in_flight = 0


DECISION = (
    b"POST /v1/decisions/invoice-approval HTTP/1.1\r\nHost: test\r\n"
    b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
)


def test_a_burst_read_in_one_turn_is_refused_at_the_connection_beyond_slots_and_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Requests read in one turn of the event loop reach the app only in the next: the ones the
    # connection lets in must count, or each is let in against the same free slot and the app
    # refuses them itself, at several times the cost of a refusal at the connection.
    monkeypatch.setattr(EdgeProtocol, "request_log", RequestLog())

    async def scenario() -> tuple[list[bytes], list[bytes], int, int]:
        admission = Admission(max_in_flight=1, max_queue=1, queue_timeout_s=5)
        release = asyncio.Event()

        async def held(scope: Scope, receive: Receive, send: Send) -> None:
            await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        app = AdmissionMiddleware(held, admission)
        config = Config(app=app, http=EdgeProtocol, log_level="warning", access_log=False)
        config.load()
        state = ServerState()
        connections = [Transport() for _ in range(4)]
        for transport in connections:  # four requests read in the same turn
            protocol = EdgeProtocol(config=config, server_state=state, app_state={})
            protocol.connection_made(transport)  # type: ignore[arg-type]
            protocol.data_received(DECISION)
        at_once = [t.written for t in connections]
        for _ in range(3):
            await asyncio.sleep(0)
        in_app = (admission.in_flight, len(admission.waiting))
        release.set()
        deadline = time.monotonic() + 5
        while not all(t.written for t in connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        return at_once, [t.written for t in connections], *in_app

    at_once, answers, in_flight, waiting = asyncio.run(scenario())
    # one slot and one place in the queue: the other two are refused before any app runs
    assert [a[:12] for a in at_once] == [b"", b"", b"HTTP/1.1 503", b"HTTP/1.1 503"]
    assert (in_flight, waiting) == (1, 1)
    assert [a[:12] for a in answers] == [b"HTTP/1.1 200"] * 2 + [b"HTTP/1.1 503"] * 2
    # the refusals carry a request id of their own, as the app's answers do
    ids = [re.search(rb"\r\nx-request-id: ([^\r]+)\r\n", a) for a in at_once[2:]]
    assert all(ids) and len({m.group(1) for m in ids if m}) == 2, at_once
