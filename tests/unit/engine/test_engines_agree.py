"""The compiled engine and durable_rules check each other.

Every example test of every shipped rule file and playbook is decided by both engines
(``run_suite`` does it for each case), and so are random inputs drawn from each file's
schema and random rulesets that chain facts, use priorities, ``stop`` and tables of each
hit policy: outputs, fired rules with the values they read, and facts must be the same.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from service.engine import ir, load_ruleset
from service.engine.schema import FieldSpec
from service.engine.testing import engine_differences, other_engine, run_suite

ROOT = Path(__file__).parents[3]
SHIPPED = sorted(
    p
    for folder in (ROOT / "rules", ROOT / "knowledge" / "playbooks")
    for p in folder.glob("*.yaml")
    if not p.name.endswith(".test.yaml")
)
TODAY = dt.date(2026, 3, 2)


@pytest.mark.parametrize("folder", ["rules", "knowledge/playbooks"])
def test_every_shipped_example_passes_on_both_engines(folder: str) -> None:
    suite = run_suite(ROOT / folder)
    assert suite.ok, suite.report()
    assert suite.passed >= 20


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_file_loads_on_both_engines(path: Path) -> None:
    compiled = load_ruleset(path)
    assert compiled.engine == "compiled"
    twin = other_engine(compiled)
    assert twin is not None and twin.engine == "durable"


def _constants(path: Path) -> list[Any]:
    rs = load_ruleset(path)
    nodes = [r.condition for r in rs.rules] + [row.condition for t in rs.tables for row in t.rows]
    out: list[Any] = []
    for node in nodes:
        for n in ir.walk(node):
            if isinstance(n, ir.Const) and isinstance(n.value, int | float | str):
                out.append(n.value)
            elif isinstance(n, ir.Const) and isinstance(n.value, tuple):
                out.extend(v for v in n.value if isinstance(v, int | float | str))
    return out


def _field(spec: FieldSpec, consts: list[Any]) -> st.SearchStrategy[Any]:
    if spec.enum is not None:
        return st.sampled_from(list(spec.enum))
    nums = [c for c in consts if isinstance(c, int | float) and not isinstance(c, bool)]
    if spec.type in ("number", "integer"):
        near = st.sampled_from(nums).flatmap(lambda c: st.sampled_from([c - 1, c, c + 1]))
        base = st.integers(-5, 100_000)
        if spec.minimum is not None:
            base = st.integers(int(spec.minimum), int(spec.minimum) + 100_000)
        picked = st.one_of(near, base) if nums else base
        lo, hi = spec.minimum, spec.maximum
        return picked.filter(lambda v: (lo is None or v >= lo) and (hi is None or v <= hi))
    if spec.type == "string":
        words = [c for c in consts if isinstance(c, str)] or ["x"]
        return st.sampled_from([*words, "other"])
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "date":
        return st.dates(dt.date(2025, 6, 1), dt.date(2026, 9, 1)).map(str)
    if spec.type == "datetime":
        return st.sampled_from(["2026-03-01T10:00:00Z", "2025-12-31T23:00:00Z"])
    if spec.type == "list" and spec.items is not None:
        return st.lists(_field(spec.items, consts), max_size=3)
    if spec.type == "object":
        return _record(spec.fields, consts)
    return st.none()


def _record(fields: dict[str, FieldSpec], consts: list[Any]) -> st.SearchStrategy[Any]:
    required = {k: _field(s, consts) for k, s in fields.items() if s.required}
    optional = {k: _field(s, consts) for k, s in fields.items() if not s.required}
    return st.fixed_dictionaries(required, optional=optional)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_random_inputs_decide_the_same_on_both_engines(path: Path) -> None:
    compiled = load_ruleset(path)
    durable = other_engine(compiled)
    assert durable is not None
    strategy = _record(compiled.inputs, _constants(path))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=strategy)
    def check(data: dict[str, Any]) -> None:
        assert engine_differences(compiled, durable, data, TODAY) == [], data

    check()


# ------------------------------------------------------------ random rulesets

FACTS = ["x", "y", "z"]
cond = st.recursive(
    st.sampled_from(
        [
            'fact("x")',
            'fact("y")',
            'fact("z")',
            "a > 1",
            "b < 2",
            "a == null",
            "true",
            "a + b > 3",
            'k in ["p", "q"]',
        ]
    ),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda c: f"not ({c})"),
    ),
    max_leaves=4,
)
rule = st.fixed_dictionaries(
    {
        "priority": st.sampled_from([-1, 0, 0, 1, 2]),
        "when": cond,
        "then": st.fixed_dictionaries(
            {},
            optional={
                "set": st.fixed_dictionaries({"route": st.sampled_from(["auto", "manual", "no"])}),
                "append": st.fixed_dictionaries({"notes": st.sampled_from(["n1", "n2"])}),
                "assert": st.lists(st.sampled_from(FACTS), min_size=1, max_size=2, unique=True),
                "stop": st.booleans(),
            },
        ).filter(bool),
    }
)
HITS = ["unique", "first", "priority", "any", "collect", "rule order", "output order"]
cell = st.sampled_from(["-", "> 1", "<= 2", "[0..3]", "not(1)", "2"])
table = st.tuples(
    st.sampled_from(HITS),
    st.sampled_from([None, "sum", "min", "max", "count"]),
    st.lists(
        st.tuples(cell, cell, st.sampled_from(["low", "mid", "high"])), min_size=1, max_size=4
    ),
)


def _yaml_rules(rules: list[dict[str, Any]], tables: list[Any], max_firings: int) -> str:
    lines = [
        "ruleset: random",
        "input: {a: {type: integer}, b: {type: integer}, k: {type: string}}",
        "output:",
        "  route: {type: string}",
        "  notes: {type: list, items: {type: string}}",
        "  band: {type: string, enum: [high, mid, low]}",
        "  bands: {type: list, items: {type: string, enum: [high, mid, low]}}",
        "  score: {type: number}",
        f"limits: {{max_firings: {max_firings}}}",
        "rules:",
    ]
    for i, r in enumerate(rules):
        lines.append(f"  - {{id: r{i}, priority: {r['priority']}, when: '{r['when']}', then: ")
        lines[-1] += repr_flow(r["then"]) + "}"
    # every fact a condition may read is asserted by some rule
    for n, (fact, when) in enumerate(zip(FACTS, ["a == 3", "b == 3", "k == 'r'"], strict=True)):
        lines.append(f'  - {{id: f{n}, when: "{when}", then: {{assert: {fact}}}}}')
    if tables:
        lines.append("tables:")
    for j, (hit, aggregate, rows) in enumerate(tables):
        if aggregate is not None:
            hit = "collect"
            out = "score"
            body = [f"['{c1}', '{c2}', {['low', 'mid', 'high'].index(v)}]" for c1, c2, v in rows]
        else:
            out = "bands" if hit in ("collect", "rule order", "output order") else "band"
            body = [f"['{c1}', '{c2}', {v}]" for c1, c2, v in rows]
        agg = f", aggregate: {aggregate}" if aggregate else ""
        lines.append(
            f"  - {{id: t{j}, hit: {hit}{agg}, inputs: [a, b], outputs: [{out}], "
            f"rows: [{', '.join(body)}]}}"
        )
    return "\n".join(lines) + "\n"


def repr_flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {repr_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(repr_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure prints its ruleset
)
@given(
    rules=st.lists(rule, min_size=1, max_size=6),
    tables=st.lists(table, max_size=2),
    max_firings=st.sampled_from([2, 1000]),
    samples=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "a": st.integers(-1, 4),
                "b": st.integers(-1, 4),
                "k": st.sampled_from(["p", "q", "r"]),
            },
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_random_rulesets_decide_the_same_on_both_engines(
    tmp_path_factory: Any,
    rules: list[dict[str, Any]],
    tables: list[Any],
    max_firings: int,
    samples: list[dict[str, Any]],
) -> None:
    path = tmp_path_factory.mktemp("r") / "random.yaml"
    text = _yaml_rules(rules, tables, max_firings)
    path.write_text(text)
    rs = load_ruleset(path)
    twin = other_engine(rs)
    assert twin is not None
    for data in samples:
        assert engine_differences(rs, twin, data, TODAY) == [], (text, data)
