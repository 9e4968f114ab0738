"""The next-activity model learnt from an imported event log of known structure."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.graph.db import Graph
from service.graph.importer import LogColumns, import_log
from service.recommend.nextaction import evaluate, load_sequences, train
from tests.graphs import cli_env

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

COLUMNS = LogColumns("case_id", "activity", "timestamp", "resource")
CASES = 300


def write_log(path: Path, seed: int = 11) -> None:
    """A -> B -> (C 70 % | D 30 %) -> E, a case an hour, rows shuffled (the import sorts them)."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    rows = []
    for i in range(CASES):
        middle = "check stock" if rng.random() < 0.7 else "order parts"
        kinds = ["receive order", "review order", middle, "ship order"]
        began = start + timedelta(hours=i)
        for step, kind in enumerate(kinds):
            at = began + timedelta(minutes=10 * step)
            rows.append([f"ORD-{i:04d}", kind, at.strftime("%Y-%m-%d %H:%M:%S"), "clerk"])
    rng.shuffle(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "activity", "timestamp", "resource"])
        writer.writerows(rows)


@pytest.fixture
def imported(graph: Graph, p: str, tmp_path: Path) -> str:
    """Import the generated log under the test's prefix; give the case type it used."""
    case_type = "order-" + p.rstrip("-")
    path = tmp_path / "orders.csv"
    write_log(path)
    summary = import_log(graph, path, COLUMNS, case_type=case_type, id_prefix=p)
    assert (summary.rows_written, summary.cases_new) == (CASES * 4, CASES)
    return case_type


def test_the_model_recovers_the_process_from_the_graph(graph: Graph, p: str, imported: str) -> None:
    sequences = load_sequences(graph, case_type=imported)
    assert len(sequences) == CASES
    # cases come in order of their start, events in time order
    assert [s.case_id for s in sequences[:3]] == [f"{p}ORD-0000", f"{p}ORD-0001", f"{p}ORD-0002"]
    assert all(s.activities[0] == "receive order" for s in sequences)
    model = train(graph, case_type=imported)
    assert model.observations == CASES * 4
    after = {x["activity"]: x["probability"] for x in model.predict(["receive order"], k=2)}
    assert after["review order"] > 0.95
    branch = {
        x["activity"]: x["probability"]
        for x in model.predict(["receive order", "review order"], k=2)
    }
    assert branch["check stock"] == pytest.approx(0.7, abs=0.07)
    assert branch["order parts"] == pytest.approx(0.3, abs=0.07)


def test_evaluation_splits_by_case_start(graph: Graph, imported: str) -> None:
    result = evaluate(graph, case_type=imported, split=0.8)
    assert (result.train_cases, result.test_cases) == (240, 60)
    assert result.predictions == 60 * 3
    # certain steps always right; the branch right when it went the likelier way (~70 %)
    assert 0.8 <= result.top1 <= 0.97
    assert result.top3 == 1.0


def test_learn_evaluate_prints_the_accuracy(
    neo4j_server: Neo4jServer, imported: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in cli_env(neo4j_server).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    shown = runner.invoke(app, ["learn", "evaluate", "--case-type", imported])
    assert shown.exit_code == 0, shown.output
    assert "top-1" in shown.output and "top-3        1.000" in shown.output
    as_json = runner.invoke(app, ["learn", "evaluate", "--case-type", imported, "--json"])
    figures = json.loads(as_json.output)
    assert figures["test_cases"] == 60 and figures["top3"] == 1.0
    none = runner.invoke(app, ["learn", "evaluate", "--case-type", "no-such-type-at-all"])
    assert none.exit_code == 1 and "nothing to evaluate" in none.output
