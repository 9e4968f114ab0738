"""Simulation throughput: logged decisions replayed on a candidate per second, on one core.

The log is made by deciding the bench's invoice-approval inputs (one a minute from a fixed
day, so ``today`` varies as it would) and keeping them as the decision log stores them (JSON
text). The candidate raises the CFO threshold from 50,000 to 70,000, so some decisions change.
``replay`` times ``Replay.add`` alone (parsing the stored JSON included); ``with_reading``
also writes the log into Neo4j under a ruleset name of its own and times the whole
``simulate_ruleset``: reading in pages plus the replay.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, LiteralString

import orjson

from service.engine import Ruleset, load_ruleset
from service.engine.simulate import LoggedDecision, Replay
from service.graph.db import Graph, apply_schema

from .report import Row, rate

SCHEMA = Path(__file__).resolve().parents[1] / "knowledge" / "schema.cypher"
TARGET = 10_000  # decisions replayed per second (issue 6)
START = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
WRITE_BATCH = 5_000

LOG: LiteralString = """
UNWIND $rows AS row
MERGE (d:RoutingDecision {id: row.id})
SET d.ruleset = row.ruleset, d.version = row.version, d.input = row.input,
    d.outputs = row.outputs, d.fired = row.fired, d.at = row.at
"""


def _copy(source: Path, folder: Path, name: str, edit: Callable[[str], str]) -> Ruleset:
    text = source.read_text(encoding="utf-8").replace(
        "ruleset: invoice-approval", f"ruleset: {name}", 1
    )
    path = folder / f"{name}.yaml"
    path.write_text(edit(text), encoding="utf-8")
    return load_ruleset(path)


def _raise_cfo(text: str) -> str:
    return text.replace("amount > 50000", "amount > 70000").replace(
        "10000 < amount <= 50000", "10000 < amount <= 70000"
    )


def make_log(served: Ruleset, inputs: list[dict[str, Any]], count: int) -> list[LoggedDecision]:
    """Give ``count`` logged decisions of ``served`` on ``inputs`` (cycled), one a minute."""
    log = []
    for n in range(count):
        data = inputs[n % len(inputs)]
        at = START + dt.timedelta(minutes=n)
        made = served.evaluate(data, today=at.date(), decision_id=f"sim{n:08d}")
        fired = [{"rule": f.rule, "values": f.values} for f in made.fired]
        log.append(
            LoggedDecision(
                made.id,
                served.name,
                served.version,
                orjson.dumps(data).decode(),
                orjson.dumps(made.outputs).decode(),
                orjson.dumps(fired).decode(),
                at,
            )
        )
    return log


def simulation_rows(
    source: Path,
    inputs: list[dict[str, Any]],
    count: int,
    say: Callable[[str], None],
    graph: Graph | None = None,
    prefix: str = "",
) -> list[Row]:
    """Time the replay alone, and (with ``graph``) reading the log from Neo4j plus the replay."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="casewise-sim-") as tmp:
        name = f"{prefix}invoice-approval"
        folder_a, folder_b = Path(tmp) / "served", Path(tmp) / "candidate"
        folder_a.mkdir()
        folder_b.mkdir()
        served = _copy(source, folder_a, name, lambda t: t)
        candidate = _copy(source, folder_b, name, _raise_cfo)
        say(f"simulation: logging {count:,} invoice-approval decisions (not timed)")
        log = make_log(served, inputs, count)
        replay = Replay(candidate, baseline_version=served.version)
        started = time.perf_counter()
        for decision in log:
            replay.add(decision)
        seconds = time.perf_counter() - started
        report = replay.report(seconds)
        per_second = count / seconds
        say(
            f"simulation: replayed {count:,} in {seconds:.2f} s ({per_second:,.0f}/s), "
            f"{report.changed:,} would change"
        )
        rows.append(
            Row(
                f"simulation replay, invoice-approval, {count:,} logged decisions (one core)",
                rate(per_second),
                "would change",
                f"{report.changed:,}",
                f">= {TARGET:,}/s",
                per_second >= TARGET,
            )
        )
        if graph is None:
            say("simulation: no NEO4J_URI, so reading the log from Neo4j is not timed")
            return rows
        from service.simulation.run import simulate_ruleset

        say(f"simulation: writing the {count:,} decisions into Neo4j as ruleset {name}")
        apply_schema(graph, SCHEMA)  # the (ruleset, at) index the reading uses
        for i in range(0, count, WRITE_BATCH):
            batch = log[i : i + WRITE_BATCH]
            graph.write(
                LOG,
                rows=[
                    {
                        "id": f"{prefix}{d.id}",
                        "ruleset": d.ruleset,
                        "version": d.version,
                        "input": d.input,
                        "outputs": d.outputs,
                        "fired": d.fired,
                        "at": d.at,
                    }
                    for d in batch
                ],
            )
        started = time.perf_counter()
        read = simulate_ruleset(graph, candidate, baseline_version=served.version)
        seconds = time.perf_counter() - started
        per_second = read.replayed / seconds
        say(
            f"simulation: read and replayed {read.replayed:,} in {seconds:.2f} s "
            f"({per_second:,.0f}/s)"
        )
        rows.append(
            Row(
                f"simulation reading the log from Neo4j + replay, {read.replayed:,} decisions",
                rate(per_second),
                "would change",
                f"{read.changed:,}",
                f">= {TARGET:,}/s",
                per_second >= TARGET,
            )
        )
    return rows
