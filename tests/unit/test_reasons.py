"""A recommendation's reasons in words (service/recommend/reasons.py): what the case shares with
which cases and how they ended, evidence and parties by name, the score explained."""

from __future__ import annotations

from typing import Any

from service.recommend import scoring
from service.recommend.reasons import (
    Context,
    conceal,
    explain,
    fact_texts,
    named_ids,
    rationale,
    score_words,
)


def path(*nodes: tuple[str, str]) -> dict[str, Any]:
    return {"nodes": [{"kind": kind, "id": key} for kind, key in nodes]}


VIA_ACCOUNT = path(("Case", "CLM-1"), ("Person", "P-1"), ("BankAccount", "NL91ABNA0417164300"),
                   ("Person", "X"), ("Case", "CLM-31"))  # fmt: skip
VIA_GARAGE = path(("Case", "CLM-1"), ("Organisation", "G-1"), ("Case", "CLM-40"))


def context(**extra: Any) -> Context:
    return Context(
        "CLM-1",
        due_at="2026-03-02T09:00:00+00:00",
        evidence={"CLM-1:ev4": {"id": "CLM-1:ev4", "kind": "police_report",
                                "description": "Theft report", "verified": False,
                                "effect": "supports"},
                  "CLM-1:ev5": {"id": "CLM-1:ev5", "kind": "photo", "verified": True,
                                "effect": "contradicts"}},
        parties={"P-1": {"id": "P-1", "name": "Jack Price", "roles": ["claimant"],
                         "flagged": True},
                 "G-1": {"id": "G-1", "name": "Gus Garage", "roles": ["repairer"]}},
        events={"CLM-1:e2": {"id": "CLM-1:e2", "kind": "customer-contacted",
                             "at": "2026-03-04T10:00:00+00:00"}},
        cases={"CLM-31": {"id": "CLM-31", "status": "closed", "outcome": "fraud-confirmed"},
               "CLM-40": {"id": "CLM-40", "status": "open", "outcome": None}},
        **extra,
    )  # fmt: skip


def test_the_reasons_name_the_shared_identifier_and_how_the_linked_case_ended() -> None:
    rec = {"evidence": {"linked_claims": [VIA_ACCOUNT, VIA_GARAGE]}}
    assert explain(rec, context()) == [
        "shares bank account NL91ABNA0417164300 with case CLM-31 (closed: fraud confirmed)",
        "shares repairer Gus Garage with case CLM-40 (open)",
    ]


def test_cases_sharing_one_identifier_are_one_reason_and_many_are_counted() -> None:
    others = [f"CLM-{n}" for n in range(50, 58)]
    paths = [
        path(("Case", "CLM-1"), ("Person", "P-1"), ("Phone", "+447700900123"),
             ("Person", f"Q-{o}"), ("Case", o))
        for o in others
    ]  # fmt: skip
    (line,) = explain({"evidence": {"linked": paths}}, context())
    assert (
        line
        == "shares phone +447700900123 with cases CLM-50, CLM-51, CLM-52, CLM-53, CLM-54 and 3 more"
    )


def test_a_case_the_reader_may_not_see_is_counted_never_named_nor_its_outcome_told() -> None:
    rec = {"evidence": {"linked_claims": [VIA_ACCOUNT, VIA_GARAGE]}}
    hidden = explain(rec, context(hidden=frozenset({"CLM-31"})))
    assert hidden[0] == "shares bank account NL91ABNA0417164300 with 1 other case"
    assert not any("CLM-31" in line or "fraud" in line for line in hidden)


def test_evidence_parties_and_events_are_named_with_their_state() -> None:
    rec = {
        "evidence": {
            "unverified": ["CLM-1:ev4", "CLM-1:ev5"],
            "flagged": ["P-1"],
            "contacted": ["CLM-1:e2"],
            "overdue": ["CLM-1"],
            "unknown": ["gone", 3],
        }
    }
    assert explain(rec, context()) == [
        "police report “Theft report” is unverified and supports the case",
        "photo is verified and contradicts the case",
        "claimant Jack Price was flagged by an earlier investigation",
        "customer contacted on 4 Mar 2026",
        "the case was due on 2 Mar 2026",
    ]


def test_the_rationale_is_the_reasons_in_one_sentence_else_the_rules_words() -> None:
    assert rationale([], "the claim is past its due date") == "The claim is past its due date"
    reasons = ["shares phone 1 with case A (open)", "photo is verified and supports the case"]
    assert rationale(reasons, "ignored") == (
        "Shares phone 1 with case A (open); photo is verified and supports the case"
    )
    many = [f"reason {n}" for n in range(5)]
    assert rationale(many, "x") == "Reason 0; reason 1; reason 2; and 2 more"


def test_the_ids_to_read_are_those_the_evidence_names_but_not_identifier_values() -> None:
    recs: list[dict[str, Any]] = [
        {"evidence": {"a": [VIA_ACCOUNT], "b": ["CLM-1:ev4"]}},
        {"evidence": {}},
    ]
    assert named_ids(recs) == {"CLM-1", "P-1", "X", "CLM-31", "CLM-1:ev4"}


def test_hidden_cases_and_what_only_they_hold_keep_their_place_without_their_ids() -> None:
    ring = path(("Case", "CLM-1"), ("Person", "P-1"), ("Phone", "+447700900123"),
                ("Person", "X"), ("Case", "CLM-31"), ("Person", "Y"), ("Email", "y@ex.org"),
                ("Person", "Z"), ("Case", "CLM-32"))  # fmt: skip
    recs: list[dict[str, Any]] = [
        {"evidence": {"linked": [VIA_GARAGE, ring], "cases": ["CLM-31", "CLM-40", "CLM-31:e1"]}}
    ]
    unseen = frozenset({"CLM-31", "CLM-32", "X", "Y", "Z", "CLM-31:e1"})
    conceal(recs, unseen)
    garage, hidden = recs[0]["evidence"]["linked"]
    assert garage == VIA_GARAGE
    # the phone the case's own party holds stays; the e-mail only hidden parties hold does not
    assert [n["id"] for n in hidden["nodes"]] == ["CLM-1", "P-1", "+447700900123"] + [None] * 6
    assert recs[0]["evidence"]["cases"] == [None, "CLM-40", None]
    # the words say no more than the ids
    line = explain({"evidence": {"linked": [ring]}}, context(hidden=unseen))
    assert line == ["shares phone +447700900123 with 1 other case"]


def test_the_score_is_explained_from_the_decisions_behind_it() -> None:
    rec = {"action": "refer-to-siu", "rule": "ring", "base_weight": 0.9, "score": 1.2}
    assert "No expert has decided on it in an insurance claim" in score_words(
        rec, {}, "insurance-claim"
    )
    words = score_words(rec, {("refer-to-siu", "ring"): (6, 1)}, "insurance-claim")
    assert "accepted it 6 times" in words and "1 times" in words and "raises it to 1.20" in words
    lowered = score_words({**rec, "score": 0.5}, {("refer-to-siu", "ring"): (0, 6)}, "x")
    assert "lowers it to 0.50" in lowered
    assert scoring.PRIOR_MEAN == 0.5


def test_ids_a_playbooks_facts_hold_are_checked_blanked_and_unsaid() -> None:
    recs: list[dict[str, Any]] = [
        {
            "evidence": {},
            "facts": {"linked": ["CLM-31", "CLM-40"], "first": "CLM-31", "count": 2},
            "trigger": "linked to CLM-31 and CLM-40 (CLM-310 is another)",
            "rationale": "linked to CLM-31 and CLM-40 (CLM-310 is another)",
        }
    ]
    assert {"CLM-31", "CLM-40"} <= fact_texts(recs)  # asked of the graph as evidence ids are
    conceal(recs, frozenset({"CLM-31"}))
    assert recs[0]["facts"] == {"linked": [None, "CLM-40"], "first": None, "count": 2}
    said = "linked to (not shown) and CLM-40 (CLM-310 is another)"
    assert recs[0]["trigger"] == said and recs[0]["rationale"] == said
