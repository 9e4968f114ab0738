"""Property tests: compiled rules agree with the plain-Python meaning of the language.

Random conditions are drawn from the grammar over a schema with every type, compiled
for both engines (generated Python, and durable_rules), and evaluated on random inputs
(with optional fields missing); each engine's answer must equal ``reference.evaluate``
on the same input.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.engine import load_ruleset
from service.engine.reference import Env, evaluate
from service.engine.schema import check_input

SCHEMA = """
ruleset: prop
input:
  a: {type: number}
  b: {type: integer}
  s: {type: string}
  flag: {type: boolean}
  d1: {type: date}
  d2: {type: date}
  at: {type: datetime}
  tags: {type: list, items: {type: string}}
  v: {type: object, fields: {risk: {type: string}, score: {type: number}}}
  raw: {type: object}
output:
  hit: {type: boolean, default: false}
rules:
  - id: r
    when: 'COND'
    then: {set: {hit: true}}
"""

WORDS = ["", "a", "ab", "b", "IT", "x"]
num_atom = st.sampled_from(
    [
        "a",
        "b",
        "v.score",
        "0",
        "1",
        "2.5",
        "-3",
        "100",
        "days(d1, d2)",
        "(d2 - d1)",
        "len(s)",
        "len(tags)",
        "abs(a)",
        "min(a, b)",
        "max(a, 1)",
        "(d1 - today)",
        "raw.n",
    ]
)
num_expr = st.recursive(
    num_atom,
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    ),
    max_leaves=3,
)
cmp_op = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
word = st.sampled_from(WORDS).map(lambda w: f'"{w}"')
str_term = st.sampled_from(["s", "v.risk", "lower(s)", "upper(v.risk)"])
date_term = st.sampled_from(["d1", "d2", "today", 'date("2026-03-01")', "d1 + 3"])

atom = st.one_of(
    st.tuples(num_expr, cmp_op, num_expr).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(num_expr, cmp_op, num_expr, cmp_op, num_expr).map(" ".join),
    st.tuples(str_term, cmp_op, st.one_of(word, str_term)).map(" ".join),
    st.tuples(
        str_term, st.sampled_from(["in", "not in"]), st.lists(word, min_size=1, max_size=3)
    ).map(lambda t: f"{t[0]} {t[1]} [{', '.join(t[2])}]"),
    st.tuples(word, st.sampled_from(["in", "not in"])).map(lambda t: f"{t[0]} {t[1]} tags"),
    st.tuples(
        str_term, st.sampled_from(["startswith", "endswith", "contains", "matches"]), word
    ).map(lambda t: f"{t[0]}.{t[1]}({t[2]})"),
    st.tuples(date_term, cmp_op, date_term).map(" ".join),
    st.sampled_from(
        [
            "flag",
            "not flag",
            "flag == false",
            "a == null",
            "v.risk != null",
            'at > datetime("2026-01-01T00:00:00")',
            "raw.k == 1",
            "true",
            "false",
            'any(tags, item == "a")',
            'all(tags, item.startswith("a"))',
            "b in [1, 2, 3]",
            "a not in [0, 2.5]",
        ]
    ),
)
condition = st.recursive(
    atom,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda c: f"not ({c})"),
    ),
    max_leaves=4,
)

maybe = st.none
text = st.sampled_from(WORDS + ["abc", "xa"])
day = st.dates(min_value=dt.date(2026, 2, 1), max_value=dt.date(2026, 4, 1)).map(str)
inputs = st.fixed_dictionaries(
    {},
    optional={
        "a": st.one_of(st.integers(-5, 5), st.sampled_from([0.5, 2.5, 100.0, -3.0])),
        "b": st.integers(-3, 5),
        "s": text,
        "flag": st.booleans(),
        "d1": day,
        "d2": day,
        "at": st.sampled_from(
            ["2025-12-31T23:00:00", "2026-01-01T00:00:00Z", "2026-06-01T10:00:00"]
        ),
        "tags": st.lists(text, max_size=3),
        "v": st.fixed_dictionaries({}, optional={"risk": text, "score": st.integers(-2, 3)}),
        "raw": st.fixed_dictionaries({}, optional={"n": st.integers(0, 2), "k": st.integers(0, 2)}),
    },
)
TODAY = dt.date(2026, 3, 2)


def _ruleset(tmp: Path, cond: str, engine: str = "compiled") -> Any:
    path = tmp / "prop.yaml"
    path.write_text(SCHEMA.replace("COND", cond.replace("'", "''")))
    return load_ruleset(path, engine=engine)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cond=condition, samples=st.lists(inputs, min_size=1, max_size=6))
def test_compiled_conditions_agree_with_the_reference(
    tmp_path_factory: Any, cond: str, samples: list[dict[str, Any]]
) -> None:
    folder = tmp_path_factory.mktemp("p")
    rs = _ruleset(folder, cond)
    durable = _ruleset(folder, cond, "durable")
    node = rs.rules[0].condition
    for data in samples:
        values, errors = check_input(rs.inputs, data)
        assert errors == []
        expected = evaluate(node, Env(values, TODAY)) is True
        assert rs.evaluate(data, today=TODAY).outputs["hit"] == expected, (cond, data)
        got = durable.evaluate(data, today=TODAY).outputs["hit"]
        assert got == expected, (cond, data, durable.program.definition)


FACT_RULES = """
ruleset: facts
input: {a: {type: number}, b: {type: number}}
output: {hit: {type: boolean, default: false}}
rules:
  - {id: fa, when: 'a > 0', then: {assert: x}}
  - {id: fb, when: 'b > 0', then: {assert: y}}
  - {id: r, priority: -1, when: 'COND', then: {set: {hit: true}}}
"""
fact_cond = st.recursive(
    st.sampled_from(['fact("x")', 'fact("y")', "a > 1", "b < 2", "a == null"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda c: f"not ({c})"),
    ),
    max_leaves=5,
)


@settings(max_examples=150, deadline=None)
@given(
    cond=fact_cond,
    samples=st.lists(
        st.fixed_dictionaries({}, optional={"a": st.integers(-1, 3), "b": st.integers(-1, 3)}),
        min_size=1,
        max_size=5,
    ),
)
def test_conditions_over_derived_facts_agree_with_the_reference(
    tmp_path_factory: Any, cond: str, samples: list[dict[str, Any]]
) -> None:
    path = tmp_path_factory.mktemp("f") / "facts.yaml"
    path.write_text(FACT_RULES.replace("COND", cond))
    engines = [load_ruleset(path), load_ruleset(path, engine="durable")]
    node = engines[0].rules[2].condition
    for data in samples:
        values, _ = check_input(engines[0].inputs, data)
        facts = {name for name, key in (("x", "a"), ("y", "b")) if (values.get(key) or 0) > 0}
        expected = evaluate(node, Env(values, TODAY, facts)) is True
        for rs in engines:
            assert rs.evaluate(data, today=TODAY).outputs["hit"] == expected, (cond, data)
