"""The expression language, feature by feature, on known inputs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rulefiles import TODAY, Make

SCHEMA = """
ruleset: ex
input:
  amount: {type: number}
  limit: {type: number}
  name: {type: string}
  start: {type: date}
  end: {type: date}
  tags: {type: list, items: {type: string}}
  lines: {type: list, items: {type: object, fields: {amount: {type: number}, sku: {type: string}}}}
  vendor: {type: object, fields: {risk: {type: string}, country: {type: string}}}
output:
  hit: {type: boolean, default: false}
rules:
  - id: r
    when: 'COND'
    then: {set: {hit: true}}
"""

CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("500 < amount <= 10000", {"amount": 10000}, True),
    ("500 < amount <= 10000", {"amount": 500}, False),
    ("amount > limit * 2", {"amount": 9, "limit": 4}, True),
    ("amount > limit * 2", {"amount": 9}, False),  # missing value: comparison is false
    ("amount % 2 == 1 and -amount < 0", {"amount": 7}, True),
    ("not (amount > 5)", {}, True),  # not of a false comparison
    ('vendor.country in ["DE", "FR"]', {"vendor": {"country": "FR"}}, True),
    ('vendor.country not in ["DE", "FR"]', {"vendor": {"country": "NL"}}, True),
    ('"urgent" in tags', {"tags": ["x", "urgent"]}, True),
    ('"urgent" not in tags', {"tags": []}, True),
    ('name.startswith("ACME") and name.endswith("Ltd")', {"name": "ACME Tools Ltd"}, True),
    ('name.contains("Tools")', {"name": "ACME Tools Ltd"}, True),
    ('name.matches("^[A-Z]+ [0-9]{3}$")', {"name": "ACME 123"}, True),
    ('lower(name) == "acme"', {"name": "ACME"}, True),
    ("len(tags) >= 2", {"tags": ["a", "b"]}, True),
    ("any(lines, item.amount > 100)", {"lines": [{"amount": 5}, {"amount": 500}]}, True),
    ("all(lines, item.amount > 100)", {"lines": [{"amount": 5}, {"amount": 500}]}, False),
    ('all(tags, item != "blocked")', {"tags": ["a", "b"]}, True),
    ("days(start, end) > 10", {"start": "2026-01-01", "end": "2026-01-20"}, True),
    ("end - start == 19", {"start": "2026-01-01", "end": "2026-01-20"}, True),
    ("start - today >= 14", {"start": "2026-03-16"}, True),  # TODAY is 2026-03-02
    ("start - today >= 14", {"start": "2026-03-15"}, False),
    ('start < date("2026-03-01")', {"start": "2026-02-28"}, True),
    ("start + 30 > today", {"start": "2026-02-01"}, True),
    ("max(amount, limit) == 7 and min(amount, limit) == 3", {"amount": 3, "limit": 7}, True),
    ("abs(amount) > 2", {"amount": -3}, True),
    ("vendor.risk == null", {"vendor": {}}, True),
    ("vendor.risk != null", {"vendor": {"risk": "low"}}, True),
    ('name > "M"', {"name": "Zed"}, True),
    ("true", {}, True),
]


@pytest.mark.parametrize(("cond", "data", "expected"), CASES)
def test_condition(make: Make, cond: str, data: dict[str, Any], expected: bool) -> None:
    rs = make(SCHEMA.replace("COND", cond.replace("'", "''")))
    assert rs.evaluate(data, today=TODAY).outputs["hit"] is expected


def test_today_defaults_to_the_current_date(make: Make) -> None:
    import datetime as dt

    rs = make(SCHEMA.replace("COND", "start == today"))
    assert rs.evaluate({"start": dt.date.today().isoformat()}).outputs["hit"] is True
