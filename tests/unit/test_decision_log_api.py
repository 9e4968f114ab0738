"""The decision routes record every answered decision in the spool before answering."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from service.settings import Settings
from tests.auth import as_role, make_app
from tests.fixtures import RULES


def spooled(spool: Path) -> list[dict[str, object]]:
    lines = []
    for path in sorted((spool / "decisions").glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def test_an_answered_decision_is_in_the_spool_when_the_answer_arrives(
    tmp_path: Path, rules_registry: Registry
) -> None:
    settings = Settings(rules_dir=RULES, spool_dir=tmp_path, neo4j_uri=None)
    with as_role(TestClient(make_app(settings, rules_registry)), "system") as client:
        data = {"tier": "gold", "amount": 500}
        answer = client.post("/v1/decisions/discount", json=data).json()
        # no flusher (no graph), so the record is exactly as the spool holds it
        [record] = spooled(tmp_path)
        assert record["id"] == answer["id"] and record["input"] == data
        assert record["outputs"] == answer["outputs"] and record["version"] == answer["version"]
        assert record["caller"] == "system" and record["case_id"] is None
        assert record["case_opened"] is False and str(record["at"]).endswith("+00:00")
        batch = client.post(
            "/v1/decisions/discount/batch",
            json={"items": [data, {"tier": "nope"}, data]},
            headers={"Idempotency-Key": "b1"},
        ).json()["results"]
        assert "error" in batch[1]
        assert [r["id"] for r in spooled(tmp_path)] == [answer["id"], "b1.0", "b1.2"]
        # without a graph the log cannot be read
        author = as_role(TestClient(client.app), "author")
        assert author.get("/v1/decisions").status_code == 503
    # the records stay (in a segment no process holds) for a start with a graph
    assert len(spooled(tmp_path)) == 3


def test_with_the_decision_log_off_nothing_is_spooled(
    tmp_path: Path, rules_registry: Registry
) -> None:
    settings = Settings(rules_dir=RULES, spool_dir=tmp_path, decision_log="off")
    with as_role(TestClient(make_app(settings, rules_registry)), "system") as client:
        assert (
            client.post("/v1/decisions/discount", json={"tier": "gold", "amount": 5}).status_code
            == 200
        )
    assert spooled(tmp_path) == []


def test_a_decision_whose_record_cannot_be_written_is_503_and_the_next_one_is_kept(
    tmp_path: Path, rules_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(rules_dir=RULES, spool_dir=tmp_path, neo4j_uri=None)
    data = {"tier": "gold", "amount": 5}
    with as_role(TestClient(make_app(settings, rules_registry)), "system") as client:
        real_write = os.write

        def disk_full(fd: int, data: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "write", disk_full)
        refused = client.post("/v1/decisions/discount", json=data)
        assert refused.status_code == 503, refused.text
        error = refused.json()["error"]
        assert error["code"] == "decision-log-unavailable"
        assert "No space left" in error["message"] and "CASEWISE_SPOOL_DIR" in error["message"]
        monkeypatch.setattr(os, "write", real_write)
        kept = client.post("/v1/decisions/discount", json=data).json()
    assert [r["id"] for r in spooled(tmp_path)] == [kept["id"]]
