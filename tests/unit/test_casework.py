"""The case page in words (service/web/casework.py, service/graph/neighbourhood.py): money,
dates with their time zone, the claimant, linked cases grouped (the reasons: test_reasons.py)."""

from __future__ import annotations

from typing import Any

from service.graph.neighbourhood import group_links
from service.web.casework import claimant, facts, money, when, with_entries

CASE: dict[str, Any] = {
    "id": "CLM-1",
    "type": "insurance-claim",
    "attributes": {"amount": 12480.5, "currency": "GBP", "incident_date": "2026-03-02",
                   "policy": "POL-1", "vulnerable_customer": True},
    "parties": [
        {"id": "P-2", "kind": "person", "name": "Gus Garage", "roles": ["repairer"]},
        {"id": "P-1", "kind": "person", "name": "Jack Price", "roles": ["claimant"],
         "flagged": True},
    ],
    "evidence": [{"id": "CLM-1:ev4", "kind": "police_report", "description": "Theft report",
                  "verified": False, "effect": "supports"}],
}  # fmt: skip


def test_money_dates_and_flags_read_as_people_write_them() -> None:
    assert facts(CASE) == [
        ("Amount", "£12,480.50"),
        ("Incident date", "2 Mar 2026"),
        ("Policy", "POL-1"),
        ("Vulnerable customer", "yes"),
    ]
    assert money(80, "CHF") == "CHF 80.00" and money(-5, "EUR") == "−€5.00"
    assert when("2026-03-02T09:15:00+02:00") == "2 Mar 2026, 07:15 UTC"
    assert when(None) == "–"


def test_the_claimant_is_named() -> None:
    found = claimant(CASE)
    assert found is not None and found["name"] == "Jack Price" and found["as"] == "claimant"


def test_linked_cases_are_grouped_by_what_they_share_each_once() -> None:
    account = {"kind": "BankAccount", "value": "GB29"}
    party = {"kind": "Person", "id": "P-1", "name": "Jack"}
    links = [
        {"case": {"id": "C-2"}, "hops": 1, "via": [party, account]},
        {"case": {"id": "C-3"}, "hops": 1, "via": [party, account]},
        {"case": {"id": "C-4"}, "hops": 2, "via": [party, account, {"kind": "Case", "id": "C-2"},
                                                  {"kind": "Person", "id": "Q"}]},
        {"case": {"id": "C-5"}, "hops": 1, "via": [party]},
    ]  # fmt: skip
    groups = group_links(links)
    assert [(g["name"], [c["case"]["id"] for c in g["cases"]]) for g in groups] == [
        ("bank account GB29", ["C-2", "C-3", "C-4"]),
        ("person Jack", ["C-5"]),
    ]
    assert groups[0]["cases"][2]["through"] == ["C-2"]


def test_notes_go_into_the_timeline_by_their_time() -> None:
    timeline = [{"at": "2026-01-01T08:00:00+00:00", "type": "event", "item": {}},
                {"at": "2026-01-03T08:00:00+00:00", "type": "event", "item": {}}]  # fmt: skip
    note = {"at": "2026-01-02T10:00:00+01:00", "type": "note", "item": {}}
    assert [e["type"] for e in with_entries(timeline, [note])] == ["event", "note", "event"]
