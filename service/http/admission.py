"""Admission control: each worker serves a bounded number of requests and sheds the rest.

Under more load than a worker can serve, queueing every request only makes every answer late
(and the client's retry adds more). ``AdmissionMiddleware`` keeps at most
``CASEWISE_MAX_IN_FLIGHT`` requests inside the app; the next ``CASEWISE_MAX_QUEUE`` wait, first
come first served, at most ``CASEWISE_QUEUE_TIMEOUT_MS``; any other is answered at once:

=====  ==================  ==========================================================
 503   overloaded          the worker's queue is full, or the request waited its
                           longest for a slot; ``Retry-After: 1``
 429   rate-limited        the API key made more than CASEWISE_RATE_PER_KEY requests in
                           this worker (``limits``, a moving window); ``Retry-After`` says
                           when the window lets the next one in
=====  ==================  ==========================================================

So an admitted request waits at most the queue timeout before it runs, and a shed one costs a
few microseconds instead of a decision. The probes and ``/metrics`` are never shed: an
orchestrator must see a busy worker as alive. Both sit inside ``AuthMiddleware`` (the key is
known, from its cache, and a flood of bad keys, throttled there, takes no caller's slot) and
outside the body readers (a shed request's body is never parsed).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from typing import Any

import orjson
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import count_error, error_object, respond
from service.http.tally import TALLY
from service.kernel import metrics

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths answered whatever the load: the probes and the metrics."""
RETRY_AFTER = "1"
"""Seconds a shed client is told to wait: a worker's queue turns over well within it."""
LAG_TICK_S = 0.01
"""How often a worker's event loop notes how late it runs (``Admission.lag``)."""


class Admission:
    """The slots of one worker: how many requests are in, who waits for one, in order, and how
    late the worker's event loop runs.

    A request reaches the app only when the event loop reads it from its socket: while the loop
    runs late, every request has already waited about that long (its ``lag``) in the kernel's
    buffers, where no count of the app's can see it. So a request that finds no free slot may
    wait for one only what is left of the queue timeout after that lag, and none at all once
    the lag is over the timeout (a CoDel-like rule: shed on the time waited, not on counts
    alone). An admitted request has then waited at most about the queue timeout before it runs,
    socket included, whenever the lag is under it. The requests the connection let in and whose
    tasks have not started yet (``expected``) count as taking slots or queue places, so that a
    burst read in one turn of the loop is refused there, at a fraction of the app's cost.
    """

    of_worker: Admission | None = None
    """The admission of this process's app, the last one made (service.http.shedding asks it)."""

    def __init__(self, max_in_flight: int, max_queue: int, queue_timeout_s: float) -> None:
        self.max_in_flight = max_in_flight
        self.max_queue = max_queue
        self.queue_timeout_s = queue_timeout_s
        self.in_flight = 0
        self.expected = 0  # let in at the connection, not yet at the middleware (``expect``)
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.lag = 0.0  # seconds the event loop ran late at its last tick
        self._watched: asyncio.AbstractEventLoop | None = None
        Admission.of_worker = self

    def refuses_at_once(self) -> str | None:
        """Give the reason a request arriving now would be shed without waiting, or None; the
        requests expected (let in, not yet at the middleware) count as already in or queued."""
        taken = self.in_flight + self.expected
        if taken < self.max_in_flight and not self.waiting:
            return None
        if len(self.waiting) + max(0, taken - self.max_in_flight) >= self.max_queue:
            return "queue-full"
        if self._watched is not None and self.lag >= self.queue_timeout_s:
            return "queue-timeout"
        return None

    def expect(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count a request let in at the connection until its task, just created, has taken its
        first step (which reaches the middleware, and ``enter``, unless a layer before it
        answers or waits): the requests read in one turn of the loop all reach the app only in
        the next, so without this count each would be let in against the same free slots."""
        self.expected += 1
        loop.call_soon(self._arrived)  # queued after the task's first step

    def _arrived(self) -> None:
        self.expected -= 1

    async def enter(self) -> str | None:
        """Take a slot, waiting in the queue if need be; give why not (a shed reason) or None."""
        if self.in_flight < self.max_in_flight and not self.waiting:
            self.in_flight += 1
            return None
        if len(self.waiting) >= self.max_queue:
            return "queue-full"
        loop = asyncio.get_running_loop()
        self.watch(loop)
        budget = self.queue_timeout_s - self.lag  # the rest was spent in the socket
        if budget <= 0:
            return "queue-timeout"
        slot: asyncio.Future[None] = loop.create_future()
        self.waiting.append(slot)
        expiry = loop.call_later(budget, _expire, slot)
        try:
            await slot  # a leaving request hands its slot over (``leave``)
        except TimeoutError:
            _remove(self.waiting, slot)
            return "queue-timeout"
        except asyncio.CancelledError:  # the client went away while it waited
            if slot.done() and not slot.cancelled() and slot.exception() is None:
                self.leave()  # its slot was handed over just before: pass it on
            else:
                _remove(self.waiting, slot)
            raise
        finally:
            expiry.cancel()
        return None

    def leave(self) -> None:
        """Give the slot to the first request still waiting, or free it."""
        while self.waiting:
            slot = self.waiting.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self.in_flight -= 1

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Note how late ``loop`` runs, every LAG_TICK_S from now on (started once per loop, at
        the first request that finds the slots taken: an idle worker pays nothing)."""
        if self._watched is not loop:
            self._watched = loop
            due = loop.time() + LAG_TICK_S
            loop.call_at(due, self._tick, loop, due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = loop.time()
        self.lag = max(0.0, now - due)
        if self._watched is loop:
            loop.call_at(now + LAG_TICK_S, self._tick, loop, now + LAG_TICK_S)


def _expire(slot: asyncio.Future[None]) -> None:
    if not slot.done():
        slot.set_exception(TimeoutError())


def _remove(waiting: deque[asyncio.Future[None]], slot: asyncio.Future[None]) -> None:
    try:
        waiting.remove(slot)
    except ValueError:
        pass


class KeyRate:
    """How many requests each API key may make in this worker (``limits``, moving window)."""

    def __init__(self, rate: str) -> None:
        self.item: RateLimitItem = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, key: str) -> int | None:
        """Count a request of ``key``; give the seconds to wait if it is over its rate."""
        if self.limiter.hit(self.item, key):
            return None
        reset = self.limiter.get_window_stats(self.item, key).reset_time
        return max(1, math.ceil(reset - time.time()))


class AdmissionMiddleware:
    """Admit a request into the app if a slot is free or frees in time; else answer 503.

    A shed request is answered with bytes made once: shedding must cost far less than serving.
    """

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app = app
        self.admission = admission
        self._shed = {reason: shed_answer(reason) for reason in ("queue-full", "queue-timeout")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if admission.in_flight < admission.max_in_flight and not admission.waiting:
            admission.in_flight += 1  # the common case, without a coroutine call
        else:
            shed = await admission.enter()
            if shed is not None:
                TALLY.count(metrics.SHED, (shed,))
                await self._refuse(scope, receive, send, shed)
                return
        try:
            await self.app(scope, receive, send)
        finally:
            admission.leave()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        start, body, error = self._shed[reason]
        if wants_page(scope):  # a person in a browser gets the error page
            page = respond(Request(scope), 503, error, {"Retry-After": RETRY_AFTER})
            await page(scope, receive, send)
            return
        count_error("overloaded", 503)
        await send(start)  # sent as built once: the edge middleware adds its headers to a copy
        await send(body)


def wants_page(scope: Scope) -> bool:
    """Tell whether the client asks for HTML before JSON (as ``prefers_html``, on raw bytes)."""
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = bytes(value).lower()
            html, json = accept.find(b"text/html"), accept.find(b"application/json")
            return html >= 0 and (json < 0 or html < json)
    return False


def shed_answer(reason: str) -> tuple[Message, Message, dict[str, Any]]:
    """Give the start and body messages of a 503 for ``reason``, and its error object."""
    why = "its queue is full" if reason == "queue-full" else "no slot freed in time"
    message = (
        f"the service is over its capacity ({why}); try again in {RETRY_AFTER} s "
        "(Retry-After), or spread the load over more workers"
    )
    error = error_object("overloaded", message, [{"retry_after": int(RETRY_AFTER)}])
    body = orjson.dumps({"error": error})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", RETRY_AFTER.encode()),
    ]
    start: Message = {"type": "http.response.start", "status": 503, "headers": headers}
    return start, {"type": "http.response.body", "body": body}, error


class KeyRateMiddleware:
    """Answer 429 to an API key over CASEWISE_RATE_PER_KEY (inside AuthMiddleware: the key is
    known by then, from the key cache)."""

    def __init__(self, app: ASGIApp, rate: str) -> None:
        self.app = app
        self.rate = KeyRate(rate)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in EXEMPT:
            principal = scope.get("state", {}).get("principal")
            if principal is not None and principal.kind == "key":
                wait = self.rate.retry_after(principal.name)
                if wait is not None:
                    TALLY.count(metrics.SHED, ("key-rate",))
                    message = (
                        f"the API key {principal.name!r} made more than {self.rate.item} "
                        f"requests; try again in {wait} s (Retry-After)"
                    )
                    error = error_object("rate-limited", message, [{"retry_after": wait}])
                    response = respond(Request(scope), 429, error, {"Retry-After": str(wait)})
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
