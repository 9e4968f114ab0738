"""Helpers of the simulation tests: candidate files, and logged decisions made by really
evaluating a ruleset, in the decision log's shape (the shared RoutingDecision contract)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, LiteralString

from service.engine import Ruleset, load_ruleset
from service.engine.simulate import LoggedDecision
from service.graph.db import Graph

EXAMPLE = Path(__file__).parents[1] / "rules" / "invoice-approval.yaml"
T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)

# What the decision log writes for a decision: the node, and its ruleset version.
LOG_DECISIONS: LiteralString = """
UNWIND $rows AS row
MERGE (d:RoutingDecision {id: row.id})
SET d.ruleset = row.ruleset, d.version = row.version, d.input = row.input,
    d.outputs = row.outputs, d.fired = row.fired, d.facts = row.facts, d.at = row.at,
    d.caller = 'tests', d.duration_ms = row.duration_ms, d.case_opened = row.case_opened,
    d.case_id = row.case_id
MERGE (v:RulesetVersion {hash: row.version})
MERGE (d)-[:DECIDED_BY]->(v)
"""


def candidate(
    folder: Path, name: str, edit: Callable[[str], str] = lambda text: text, source: Path = EXAMPLE
) -> Path:
    """Write the example ruleset (or ``source``) renamed ``name``, changed by ``edit``."""
    text = re.sub(
        r"^(ruleset|playbook): \S+",
        lambda m: f"{m.group(1)}: {name}",
        source.read_text(encoding="utf-8"),
        count=1,
        flags=re.M,
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(edit(text), encoding="utf-8")
    return path


def invoice(amount: float, **changes: Any) -> dict[str, Any]:
    """An invoice-approval input."""
    data: dict[str, Any] = {
        "amount": amount,
        "department": "Sales",
        "vendor": {"risk": "low"},
    }
    data.update(changes)
    return data


def decide(
    ruleset: Ruleset, inputs: Iterable[dict[str, Any]], prefix: str, start: dt.datetime = T0
) -> list[dict[str, Any]]:
    """Evaluate every input (one a day from ``start``, ``today`` that day); give the log rows."""
    rows = []
    for n, data in enumerate(inputs):
        at = start + dt.timedelta(days=n)
        decision = ruleset.evaluate(data, today=at.date(), decision_id=f"{prefix}{n:05d}")
        made = decision.to_dict()
        rows.append(
            {
                "id": made["id"],
                "ruleset": ruleset.name,
                "version": ruleset.version,
                "input": json.dumps(data),
                "outputs": json.dumps(made["outputs"]),
                "fired": json.dumps(made["fired"]),
                "facts": json.dumps(made["facts"]),
                "at": at,
                "duration_ms": made["duration_ms"],
                "case_opened": made["outputs"].get("open_case") is True,
                "case_id": None,
            }
        )
    return rows


def logged(rows: Iterable[dict[str, Any]]) -> list[LoggedDecision]:
    """The log rows as the reader gives them."""
    return [
        LoggedDecision(
            r["id"], r["ruleset"], r["version"], r["input"], r["outputs"], r["fired"], r["at"]
        )
        for r in rows
    ]


def write_log(graph: Graph, rows: list[dict[str, Any]]) -> None:
    """Put the rows into the decision log in Neo4j."""
    graph.write(LOG_DECISIONS, rows=rows)


def version_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(path: Path) -> Ruleset:
    return load_ruleset(path)
