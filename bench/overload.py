"""The overload run of `make bench`: `casewise serve --workers 2` offered 1x, 2x and 4x its
capacity; goodput, shed requests, and the latency of the admitted ones.

Capacity is measured first: closed-loop clients on 64 connections, decisions answered per
second. Each level then offers a fixed rate (open loop: request ``i`` is due at ``i / rate``,
whatever came back) from up to 512 connections, and a request's latency is counted from the
moment it was due, so a client held up behind a slow answer counts that wait too. Meanwhile
``GET /healthz`` is asked every 0.1 s on a connection of its own.

The server is the production setup: the decision log on, its records flushed to a Neo4j (the
bench's own, or NEO4J_URI's), the default admission bounds; auth is off, so no key's cache
differs between levels. The load comes from this process (raw HTTP/1.1 on asyncio streams, a
few tens of microseconds a request), on the same two cores: the capacity it measures is the
capacity with that client running. Only 127.0.0.1 is a target; every level is bounded in time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.devtools.localneo4j import LOCAL_USER, password

from . import http_load
from .graph import DATA_DIR as GRAPH_DATA_DIR
from .graph import _graph as bench_graph
from .report import Row, rate

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
PATH = "/v1/decisions/invoice-approval"
BODY = json.dumps({"amount": 120, "department": "IT", "vendor": {"risk": "low"}}).encode()
LEVELS = (1, 2, 4)
CAPACITY_CONNECTIONS = 64
MOST_CONNECTIONS = 512
GOODPUT_TARGET = 0.8  # goodput over capacity at 2x and 4x
P99_TARGET_MS = 1000.0  # of admitted requests, at every level
HEALTHZ_TARGET_MS = 100.0


@dataclass(frozen=True)
class Level:
    """What one offered load gave."""

    offered: float  # requests/s offered
    seconds: float
    statuses: dict[int, int]
    admitted_ms: list[float]  # latencies of the 200s, from when each was due
    healthz_ms: list[float]

    @property
    def goodput(self) -> float:
        return self.statuses.get(200, 0) / self.seconds

    @property
    def shed(self) -> float:
        return (self.statuses.get(503, 0) + self.statuses.get(429, 0)) / self.seconds


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _request(port: int, method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {http_load.HOST}:{port}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 answer; give its status."""
    status = int((await reader.readline()).split(b" ", 2)[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _healthz(port: int, stop: asyncio.Event, took: list[float]) -> None:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(http_load.HOST, port)
    request = _request(port, "GET", "/healthz")
    try:
        while not stop.is_set():
            started = loop.time()
            writer.write(request)
            await writer.drain()
            await _answer(reader)
            took.append((loop.time() - started) * 1000)
            await asyncio.sleep(0.1)  # a probe's period, as an orchestrator's
    finally:
        writer.close()


async def _offer(port: int, offered: float | None, seconds: float, connections: int) -> Level:
    """Offer ``offered`` requests/s for ``seconds`` (None: as fast as ``connections`` go)."""
    loop = asyncio.get_running_loop()
    request = _request(port, "POST", PATH, BODY)
    numbers = itertools.count()
    start = loop.time() + 0.2
    end = start + seconds
    total = int(offered * seconds) if offered else None
    statuses: dict[int, int] = {}
    admitted: list[float] = []
    healthz: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection(http_load.HOST, port)
        try:
            while True:
                number = next(numbers)
                if total is not None:
                    if number >= total:
                        return
                    due = start + number / offered  # type: ignore[operator]
                    if due > loop.time():
                        await asyncio.sleep(due - loop.time())  # open loop: keep the rate
                else:
                    due = loop.time()
                    if due >= end:
                        return
                writer.write(request)
                await writer.drain()
                status = await _answer(reader)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    admitted.append((loop.time() - due) * 1000)
        finally:
            writer.close()

    stop = asyncio.Event()
    probe = asyncio.ensure_future(_healthz(port, stop, healthz))
    await asyncio.gather(*(client() for _ in range(connections)))
    stop.set()
    await probe
    took = max(seconds, loop.time() - start)
    return Level(offered or 0.0, took, statuses, admitted, healthz)


def measure(port: int, seconds: float, say: Callable[[str], None]) -> tuple[float, list[Level]]:
    """Give the capacity (decisions/s) and the level of each multiple of it in LEVELS."""
    asyncio.run(_offer(port, None, min(2.0, seconds), CAPACITY_CONNECTIONS))  # warm-up
    closed = asyncio.run(_offer(port, None, seconds, CAPACITY_CONNECTIONS))
    capacity = closed.goodput
    say(f"  capacity: {capacity:,.0f} decisions/s ({CAPACITY_CONNECTIONS} closed-loop clients)")
    levels = []
    for multiple in LEVELS:
        offered = capacity * multiple
        level = asyncio.run(_offer(port, offered, seconds, MOST_CONNECTIONS))
        levels.append(level)
        say(
            f"  {multiple}x ({offered:,.0f}/s offered): goodput {level.goodput:,.0f}/s, shed "
            f"{level.shed:,.0f}/s, admitted p50 {percentile(level.admitted_ms, 0.5):,.0f} ms "
            f"p99 {percentile(level.admitted_ms, 0.99):,.0f} ms max "
            f"{max(level.admitted_ms, default=0):,.0f} ms; /healthz p99 "
            f"{percentile(level.healthz_ms, 0.99):,.0f} ms; statuses {level.statuses}"
        )
    return capacity, levels


def rows(capacity: float, levels: list[Level]) -> list[Row]:
    """The results table's rows of an overload run."""
    out = [Row("overload: capacity (closed loop, decision log on)", rate(capacity))]
    for multiple, level in zip(LEVELS, levels, strict=True):
        name = f"overload {multiple}x ({level.offered:,.0f}/s offered)"
        share = level.goodput / capacity if capacity else 0.0
        goodput_target = GOODPUT_TARGET if multiple > 1 else None
        out.append(
            Row(
                f"{name}: goodput, shed",
                f"{rate(level.goodput)}, {level.shed:,.0f} shed/s",
                "goodput / capacity",
                f"{share:.0%}",
                f">= {goodput_target:.0%}" if goodput_target else "info",
                share >= goodput_target if goodput_target else None,
            )
        )
        p99 = percentile(level.admitted_ms, 0.99)
        healthz = percentile(level.healthz_ms, 0.99)
        out.append(
            Row(
                f"{name}: admitted p50 / p99; /healthz p99",
                f"{percentile(level.admitted_ms, 0.5):,.0f} / {p99:,.0f} ms; {healthz:,.0f} ms",
                "p99 admitted; /healthz p99",
                "",
                f"<= {P99_TARGET_MS:,.0f} ms; <= {HEALTHZ_TARGET_MS:,.0f} ms",
                p99 <= P99_TARGET_MS and healthz <= HEALTHZ_TARGET_MS,
            )
        )
    return out


def overload_rows(say: Callable[[str], None], quick: bool) -> list[Row]:
    """Serve the example rules with the decision log on, measure, stop; give the rows."""
    seconds = 4.0 if quick else 10.0
    with (
        tempfile.TemporaryDirectory(prefix="casewise-overload-") as tmp,
        bench_graph(say) as (
            graph,
            _,
        ),
    ):
        env = {
            "CASEWISE_AUTH": "off",
            "CASEWISE_WATCH": "off",
            "CASEWISE_SPOOL_DIR": str(Path(tmp, "spool")),
            "CASEWISE_LOG_LEVEL": "WARNING",
            "NEO4J_URI": graph.uri,
            "NEO4J_USER": os.environ.get("NEO4J_USER", LOCAL_USER),
            "NEO4J_PASSWORD": os.environ.get("NEO4J_PASSWORD", "neo4j")
            if os.environ.get("NEO4J_URI")
            else password(GRAPH_DATA_DIR),
            "NEO4J_DATABASE": graph.database,
        }
        port = http_load.free_port()
        command = http_load.casewise_command(port, RULES)
        say(
            f"overload: casewise serve --workers {http_load.WORKERS}, decision log on; "
            f"{seconds:g} s per level"
        )
        with http_load.serving("overload", command, port, PATH, BODY, None, env):
            capacity, levels = measure(port, seconds, say)
    return rows(capacity, levels)


if __name__ == "__main__":
    import sys

    table = overload_rows(print, "--quick" in sys.argv)
    from .report import text_table

    print(text_table(table))
