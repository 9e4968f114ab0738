"""Recommendation figures for `make bench`: latency per case, and learning from 100,000 events.

``recommend_rows(graph, ...)`` runs on a graph that holds the demo data (bench/graph.py loads
the 10,000-case set); the lead's bench/run.py calls it inside the graph section. Alone:
``NEO4J_URI=... python -m bench.recommend [--prefix P]`` on a graph with the demo loaded.

Measured:
- ``recommend`` (facts, playbook, scoring, MERGE of the Recommendation nodes) per open case;
- ``similar_actions`` per open case (the k nearest closed cases of the type and their actions);
- the next-activity model learning 100,000 events (the graph's case histories, cycled until
  there are that many), one ``update`` each, and its top-1/top-3 accuracy on a chronological
  80/20 split of the graph's cases.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, LiteralString

from service.graph.db import Graph
from service.recommend.nextaction import NextActivityModel, evaluate, load_sequences
from service.recommend.playbooks import PlaybookRegistry
from service.recommend.recommend import recommend
from service.recommend.similar import similar_actions

from .report import Row

KNOWLEDGE = Path(__file__).parents[1] / "knowledge"

OPEN_CASES: LiteralString = """
MATCH (c:Case) WHERE c.status <> 'closed' AND c.id STARTS WITH $prefix
RETURN c.id AS id ORDER BY c.id
"""


def _latency(call: Callable[[str], Any], ids: Sequence[str], n: int) -> tuple[float, float]:
    """Give p50 and p95 in ms of ``call`` on ``n`` random ids, after a tenth as many untimed."""
    rng = random.Random(5)
    for _ in range(max(1, n // 10)):
        call(rng.choice(ids))
    times = []
    for _ in range(n):
        case_id = rng.choice(ids)
        began = time.perf_counter()
        call(case_id)
        times.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[94]


def learn_seconds(sequences: Sequence[Sequence[str]], events: int) -> tuple[float, int]:
    """Give the seconds the model takes to learn ``events`` events (sequences cycled), and N."""
    model = NextActivityModel()
    began = time.perf_counter()
    seen = 0
    while seen < events and sequences:
        for sequence in sequences:
            for i, activity in enumerate(sequence):
                model.update(sequence[:i], activity)
            seen += len(sequence)
            if seen >= events:
                break
    return time.perf_counter() - began, seen


def recommend_rows(
    graph: Graph,
    *,
    prefix: str = "",
    calls: int = 300,
    events: int = 100_000,
    knowledge: Path = KNOWLEDGE,
    say: Callable[[str], None] = print,
) -> list[Row]:
    """Time recommendations, similar-case actions and learning on the graph's demo cases."""
    registry = PlaybookRegistry.load(knowledge)
    if registry.problems:
        raise RuntimeError("playbooks refused: " + "; ".join(map(str, registry.problems)))
    ids = [r["id"] for r in graph.read(OPEN_CASES, prefix=prefix)]
    if not ids:
        raise RuntimeError(f"no open case with the id prefix {prefix!r}; load the demo data")
    say(f"recommend: {len(ids):,} open cases")
    rows: list[Row] = []
    timed: list[tuple[str, Callable[[str], Any]]] = [
        ("recommend (facts, playbook, score, MERGE)",
         lambda c: recommend(graph, registry, registry.actions, c)),
        ("similar_actions k=5", lambda c: similar_actions(graph, c, 5)),
    ]  # fmt: skip
    for name, call in timed:
        p50, p95 = _latency(call, ids, calls)
        say(f"recommend: {name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
        rows.append(Row(f"{name} per open case", f"p50 {p50:.2f} ms", "p95", f"{p95:.2f} ms"))

    began = time.perf_counter()
    histories = load_sequences(graph, id_prefix=prefix)
    read = time.perf_counter() - began
    sequences = [s.activities for s in histories]
    total = sum(len(s) for s in sequences)
    seconds, learnt = learn_seconds(sequences, events)
    say(f"recommend: learnt {learnt:,} events in {seconds:.2f} s (histories read in {read:.2f} s)")
    rows.append(
        Row(f"next-activity model: learn {learnt:,} events", f"{seconds:.2f} s",
            "reading the histories", f"{read:.2f} s ({total:,} events)")
    )  # fmt: skip
    result = evaluate(histories, split=0.8)
    say(f"recommend: next activity top-1 {result.top1:.3f}, top-3 {result.top3:.3f}")
    rows.append(
        Row(f"next activity on {result.test_cases:,} later cases (80/20 by start)",
            f"top-1 {result.top1:.3f}", "top-3", f"{result.top3:.3f}")
    )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--prefix", default="", help="id prefix of the demo cases")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per measurement")
    args = parser.parse_args(argv)
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        print("set NEO4J_URI to a graph with the demo data loaded", file=sys.stderr)
        return 2
    graph = Graph.connect(
        uri,
        os.environ.get("NEO4J_USER", "neo4j"),
        os.environ.get("NEO4J_PASSWORD", "neo4j"),
        os.environ.get("NEO4J_DATABASE", "neo4j"),
    )
    try:
        for row in recommend_rows(graph, prefix=args.prefix, calls=args.calls):
            print(" | ".join(row.cells()))
    finally:
        graph.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
