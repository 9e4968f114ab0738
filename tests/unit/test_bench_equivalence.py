"""The benchmark compares like with like: its translations decide exactly as Casewise does.

`make bench` checks every implementation on its full input sample before timing anything;
these tests keep that true between benchmark runs, on a smaller sample. The zen-engine and
CLIPS parts need the `bench` extra and are skipped without it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import pytest

from bench.generate import GENERATED_NAME, ruleset_yaml, sample_regex, write_ruleset
from bench.model import load_model, parse_cell
from bench.subjects import (
    CLIPS,
    PLAIN,
    ZEN,
    NotEquivalent,
    Subject,
    check_equivalent,
    implementations,
    prepare,
)

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "rules" / "invoice-approval.yaml"
TODAY = dt.date(2026, 3, 2)
SAMPLE = 300


@pytest.fixture(scope="module")
def invoice() -> Subject:
    return prepare(INVOICE, SAMPLE, TODAY)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Subject:
    return prepare(write_ruleset(tmp_path_factory.mktemp("bench")), SAMPLE, TODAY)


@pytest.fixture(params=["invoice", "generated"])
def subject(request: pytest.FixtureRequest) -> Subject:
    chosen: Subject = request.getfixturevalue(request.param)
    return chosen


def test_the_sample_is_accepted_by_casewise_and_varied(subject: Subject) -> None:
    assert subject.rejected == 0
    assert len(subject.inputs) == SAMPLE
    # the inputs reach many different decisions, not one path through the rules
    assert len(set(subject.expected)) >= 20


def test_plain_python_decides_as_casewise(subject: Subject) -> None:
    check_equivalent(subject, PLAIN, implementations(subject, [PLAIN])[PLAIN])


def test_zen_engine_graph_decides_as_casewise(subject: Subject) -> None:
    pytest.importorskip("zen")
    check_equivalent(subject, ZEN, implementations(subject, [ZEN])[ZEN])


def test_clips_rules_decide_as_casewise(subject: Subject) -> None:
    pytest.importorskip("clips")
    check_equivalent(subject, CLIPS, implementations(subject, [CLIPS])[CLIPS])


def test_generated_ruleset_is_deterministic_and_has_fifty_rules(tmp_path: Path) -> None:
    assert ruleset_yaml() == ruleset_yaml()
    model = load_model(write_ruleset(tmp_path))
    assert model.name == GENERATED_NAME
    assert len(model.rules) == 50
    assert [t.hit for t in model.tables] == ["collect"]
    assert any(r.stop for r in model.rules)
    assert sum(1 for r in model.rules if r.asserts) == 7
    assert model.notes == []  # facts are read only as plain conditions


def test_a_wrong_translation_is_caught(invoice: Subject) -> None:
    plain = implementations(invoice, [PLAIN])[PLAIN]

    def off_by_one(data: dict[str, object]) -> dict[str, object]:
        outputs = plain(data)
        if outputs.get("route") == "manager":
            outputs["route"] = "director"
        return outputs

    with pytest.raises(NotEquivalent, match="disagrees with Casewise"):
        check_equivalent(invoice, "off-by-one", off_by_one)


@pytest.mark.parametrize(
    ("cell", "test"),
    [
        ("-", None),
        ("> 5000", ("cmp", ">", 5000)),
        ('"IT","Ops"', ("oneof", ["IT", "Ops"])),
        ('"Finance"', ("cmp", "==", "Finance")),
        ("[100..500)", ("range", 100, True, 500, False)),
        ('not("IT")', ("not", ("cmp", "==", "IT"))),
        (48, ("cmp", "==", 48)),
    ],
)
def test_table_cells_read_as_unary_tests(cell: object, test: object) -> None:
    assert parse_cell(cell) == test


@pytest.mark.parametrize("pattern", ["INV-[0-9]{6}", r"^E\d{4}$", "(ab|cd)x?[A-F]{2,3}"])
def test_free_text_inputs_match_their_pattern(pattern: str) -> None:
    rnd = random.Random(7)
    for _ in range(20):
        assert re.fullmatch(pattern, sample_regex(pattern, rnd))
