"""Decision input is checked against the schema; every bad field is named in one error."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine import InputError, load_ruleset
from service.engine.schema import check_input
from tests.rulefiles import TODAY, Make

SCHEMA = """
ruleset: inp
input:
  amount: {type: number, required: true, minimum: 0, maximum: 1000000}
  days: {type: integer, minimum: 1, maximum: 60, default: 1}
  code: {type: string, pattern: "E[0-9]{4}"}
  kind: {type: string, enum: [a, b]}
  urgent: {type: boolean}
  start: {type: date}
  at: {type: datetime}
  tags: {type: list, items: {type: string}}
  vendor: {type: object, fields: {risk: {type: string, enum: [low, high]}}}
output:
  seen: {type: list}
rules:
  - id: r
    when: amount >= 0
    then: {append: {seen: [ok]}}
"""


def fields(exc: InputError) -> dict[str, str]:
    return {d["field"]: d["message"] for d in exc.details}


def test_every_bad_field_is_named_in_one_error(make: Make) -> None:
    rs = make(SCHEMA)
    with pytest.raises(InputError) as info:
        rs.evaluate(
            {
                "days": 2.5,
                "code": "X1",
                "kind": "c",
                "urgent": "yes",
                "start": "31/01/2026",
                "at": "noon",
                "tags": ["a", 3],
                "vendor": {"risk": "mid"},
                "amont": 5,
            },
            today=TODAY,
        )
    got = fields(info.value)
    assert got == {
        "amount": "'amount' is required (number); it is missing",
        "amont": "unknown field 'amont'; did you mean 'amount'? (known: amount, days, code, kind, "
        "urgent, start, at, tags, vendor)",
        "days": "'days' must be a whole number, got 2.5",
        "code": "'code' must match the pattern E[0-9]{4}; got \"X1\"",
        "kind": "'kind' must be one of a, b; got \"c\"",
        "urgent": "'urgent' must be true or false, got \"yes\"",
        "start": '\'start\' must be a date as "YYYY-MM-DD", got "31/01/2026"',
        "at": "'at' must be an ISO 8601 date-time, got \"noon\"",
        "tags[1]": "'tags[1]' must be a string, got 3",
        "vendor.risk": "'vendor.risk' must be one of low, high; got \"mid\"",
    }
    values = {d["field"]: d["value"] for d in info.value.details}
    assert values["days"] == 2.5 and values["vendor.risk"] == "mid"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (-1, "'amount' must be at least 0; got -1"),
        (2_000_000, "'amount' must be at most 1000000; got 2000000"),
        (True, "'amount' must be a number, got true"),
        ("5", "'amount' must be a number, got \"5\""),
    ],
)
def test_numbers(make: Make, amount: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        make(SCHEMA).evaluate({"amount": amount}, today=TODAY)
    assert fields(info.value) == {"amount": message}


def test_good_input_with_defaults_and_nulls(make: Make) -> None:
    d = make(SCHEMA).evaluate(
        {"amount": 5, "kind": None, "start": "2026-01-31", "at": "2026-01-31T10:00:00Z"},
        today=TODAY,
    )
    assert d.outputs == {"seen": ["ok"]}


def test_input_that_is_not_an_object(make: Make) -> None:
    with pytest.raises(InputError) as info:
        make(SCHEMA).evaluate([1, 2], today=TODAY)  # type: ignore[arg-type]
    assert info.value.details[0]["message"] == "input must be a JSON object"


_any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2_000_000),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(
        ["a", "b", "c", "E1234", "X1", "2026-01-31", "31/01/2026", "2026-01-31T10:00:00Z", "noon"]
    ),
    st.lists(st.sampled_from(["a", 3]), max_size=2),
    st.fixed_dictionaries(
        {}, optional={"risk": st.sampled_from(["low", "mid", 5]), "other": st.just(1)}
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(
            ["amount", "days", "code", "kind", "urgent", "start", "at", "tags", "vendor", "amont"]
        ),
        _any_value,
        max_size=6,
    )
)
def test_fast_checker_agrees_with_the_full_check(
    tmp_path_factory: Any, data: dict[str, Any]
) -> None:
    path = tmp_path_factory.getbasetemp() / "inp.yaml"
    if not path.exists():
        path.write_text(textwrap.dedent(SCHEMA).lstrip())
    rs = load_ruleset(path)
    assert rs.checker(data) == check_input(rs.inputs, data)


def test_engine_form_converts_dates_wherever_they_are(make: Make) -> None:
    from service.engine.compile import engine_value
    from service.engine.fastcheck import engine_form

    rs = make("""
        ruleset: dates
        input:
          a: {type: date}
          o: {type: object, fields: {b: {type: datetime}, c: {type: string}}}
          n: {type: number}
        output: {x: {type: boolean}}
        rules: [{id: r, when: "a > today", then: {set: {x: true}}}]
        """)
    values, _ = rs.checker(
        {"a": "2026-01-02", "o": {"b": "2026-01-02T00:00:00Z", "c": "x"}, "n": 1}
    )
    assert engine_form(rs.inputs)(values) == engine_value(values)
    assert values["a"].isoformat() == "2026-01-02"  # the checked input is left as it was
    rs2 = make("""
        ruleset: dates2
        input: {l: {type: list, items: {type: date}}}
        output: {x: {type: boolean}}
        rules: [{id: r, when: "len(l) > 0", then: {set: {x: true}}}]
        """)
    values, _ = rs2.checker({"l": ["2026-01-02"]})
    assert engine_form(rs2.inputs)(values) == {"l": [739618]}


def test_messages_say_the_value_once_in_json_and_offer_the_enum_value_meant(
    make: Make,
) -> None:
    rs = make(
        """
        ruleset: claim
        input:
          category: {type: string, enum: [meals, travel, gifts_small]}
          amount: {type: number, minimum: 0, required: true}
          tags: {type: list, items: {type: string}, required: true}
        output: {ok: {type: boolean}}
        rules: [{id: r, when: 'true', then: {set: {ok: true}}}]
        """
    )
    with pytest.raises(InputError) as info:
        rs.evaluate({"category": "Meals", "tags": [True]}, today=TODAY)
    got = {d["field"]: d["message"] for d in info.value.details}
    assert got == {
        "category": "'category' must be one of meals, travel, gifts_small; got \"Meals\"; "
        'did you mean "meals"?',
        "tags[0]": "'tags[0]' must be a string, got true",
        "amount": "'amount' is required (number); it is missing",
    }
    with pytest.raises(InputError) as info:
        rs.evaluate({"category": "gifts", "amount": -5, "tags": []}, today=TODAY)
    got = {d["field"]: d["message"] for d in info.value.details}
    assert got == {
        "category": "'category' must be one of meals, travel, gifts_small; got \"gifts\"",
        "amount": "'amount' must be at least 0; got -5",
    }
