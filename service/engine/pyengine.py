"""The compiled engine: a checked ruleset run as Python closures, the default engine.

It gives exactly the meaning the durable_rules engine gives (``runtime.py``); the tests
run every shipped example and random inputs through both and compare outputs, fired
rules and facts:

- table rows are matched first, and tables are applied when the rules are done,
  in file order (a table's value overrides, its list items come after the rules');
- rules fire one at a time, the highest priority first (file order among equals), each
  at most once; after a rule derives facts, the rule to fire next is again the first
  in that order whose condition holds now, so rules on facts are triggered (and rules
  on ``not fact(...)`` stop holding);
- ``set`` keeps the first value set; ``stop`` ends the firing; more than
  ``max_firings`` firings is the ``chain-limit`` error.

Intermediate values add stages (``depends.py``): each stage first resolves the tables
that set values, then fires its rules as above; later stages read the values decided
by earlier ones. A ruleset without values has a single stage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import ir
from .closures import Fn, compile_condition
from .errors import DecisionError
from .model import FiredRule, Rule
from .schema import FieldSpec, to_json
from .tables import Table


@dataclass(frozen=True)
class _Rule:
    index: int
    id: str
    cond: Fn
    dynamic: bool  # reads fact(): holds or not as facts are derived
    paths: tuple[str, ...]
    sets: tuple[tuple[str, Any], ...]  # outputs
    value_sets: tuple[tuple[str, Any], ...]  # intermediate values
    appends: tuple[tuple[str, tuple[Any, ...]], ...]
    value_appends: tuple[tuple[str, tuple[Any, ...]], ...]
    asserts: tuple[str, ...]
    stop: bool


@dataclass(frozen=True)
class _Table:
    index: int
    table: Table
    rows: tuple[Fn, ...]
    early: bool  # sets intermediate values: resolved in its stage, not at the end


@dataclass(frozen=True)
class _Stage:
    tables: tuple[_Table, ...]  # the early tables of this stage
    rules: tuple[_Rule, ...]  # in firing order
    dynamic: bool  # some rule reads facts


_SCALARS = (str, int, float, bool, type(None))


def _read(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value if type(value) in _SCALARS else to_json(value)


class PyProgram:
    """One ruleset compiled into closures; ``run`` makes one decision."""

    def __init__(
        self,
        name: str,
        rules: Sequence[Rule],
        tables: Sequence[Table],
        outputs: dict[str, FieldSpec],
        values: dict[str, FieldSpec],
        max_firings: int,
        rule_stages: Sequence[int] = (),
        table_stages: Sequence[int] = (),
    ) -> None:
        self.name = name
        self.max_firings = max_firings
        self.outputs = outputs
        self.values = values
        order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
        compiled = {i: self._rule(i, rules[i], values) for i in order}
        n_stages = 1 + max([*rule_stages, *table_stages, 0])
        stages = []
        self.tables = tuple(
            _Table(t, table, tuple(compile_condition(r.condition) for r in table.rows), False)
            for t, table in enumerate(tables)
        )
        early = [t for t in self.tables if any(o in values for o in t.table.outputs)]
        self.tables = tuple(_Table(t.index, t.table, t.rows, t in early) for t in self.tables)
        for s in range(n_stages):
            here = tuple(compiled[i] for i in order if (rule_stages[i] if rule_stages else 0) == s)
            stage_tables = tuple(
                t
                for t in self.tables
                if t.early and (table_stages[t.index] if table_stages else 0) == s
            )
            stages.append(_Stage(stage_tables, here, any(r.dynamic for r in here)))
        self.stages = tuple(stages)
        defaults: dict[str, Any] = {}
        for key, spec in values.items():
            if spec.has_default:
                defaults[key] = spec.default
            elif spec.type == "list":
                defaults[key] = []
        self.value_defaults = defaults
        finals: list[tuple[str, Any]] = []
        for key, spec in outputs.items():
            if spec.has_default:
                finals.append((key, to_json(spec.default)))
            elif spec.type == "list":
                finals.append((key, None))  # a fresh empty list
        self.finals = dict(finals)

    @staticmethod
    def _rule(index: int, rule: Rule, values: dict[str, FieldSpec]) -> _Rule:
        return _Rule(
            index=index,
            id=rule.id,
            cond=compile_condition(rule.condition),
            dynamic=ir.has_fact(rule.condition),
            paths=rule.paths,
            sets=tuple((k, v) for k, v in rule.set.items() if k not in values),
            value_sets=tuple((k, v) for k, v in rule.set.items() if k in values),
            appends=tuple((k, tuple(v)) for k, v in rule.append.items() if k not in values),
            value_appends=tuple((k, tuple(v)) for k, v in rule.append.items() if k in values),
            asserts=rule.asserts,
            stop=rule.stop,
        )

    def run(
        self, data: dict[str, Any], today: dt.date
    ) -> tuple[dict[str, Any], list[FiredRule], list[str], dict[str, Any]]:
        """Outputs, what fired (table rows first), derived facts and intermediate values."""
        if self.values:
            data = {**data}
            for key, value in self.value_defaults.items():
                data[key] = list(value) if isinstance(value, list) else value
        facts: dict[str, None] = {}
        fired: list[FiredRule] = []
        outputs: dict[str, Any] = {}
        value_set: set[str] = set()
        resolved: dict[int, tuple[list[Any], dict[str, Any], dict[str, list[Any]]]] = {}
        done: set[int] = set()
        stopped = False
        firings = 0
        limit = self.max_firings
        for stage in self.stages:
            for t in stage.tables:
                result = _resolve(t, data, today)
                resolved[t.index] = result
                _, sets, appends = result
                for key, value in sets.items():
                    if key in self.values:
                        data[key] = value
                for key, items in appends.items():
                    if key in self.values:
                        data.setdefault(key, []).extend(items)
            if stopped or not stage.rules:
                continue
            rules = stage.rules
            if not stage.dynamic:
                held: Any = [r for r in rules if r.cond(data, today, facts, None)]
            else:
                held = rules
            k = 0
            count = len(held)
            while k < count:
                rule = held[k]
                k += 1
                if rule.index in done:
                    continue
                if stage.dynamic and not rule.cond(data, today, facts, None):
                    continue
                firings += 1
                if firings > limit:
                    raise DecisionError(
                        "chain-limit",
                        f"ruleset '{self.name}' fired more than {limit} rules in one "
                        "decision; look for rules that keep deriving facts for each other, or "
                        "raise limits.max_firings",
                        [{"fired": [f.rule for f in fired[-10:]]}],
                    )
                done.add(rule.index)
                fired.append(FiredRule(rule.id, {p: _read(data, p) for p in rule.paths}))
                for key, value in rule.sets:
                    if key not in outputs:
                        outputs[key] = list(value) if isinstance(value, list) else value
                for key, items in rule.appends:
                    outputs.setdefault(key, []).extend(items)
                if rule.value_sets or rule.value_appends:
                    for key, value in rule.value_sets:
                        if key not in value_set:
                            value_set.add(key)
                            data[key] = list(value) if isinstance(value, list) else value
                    for key, items in rule.value_appends:
                        data.setdefault(key, []).extend(items)
                new = False
                for f in rule.asserts:  # a stopping rule's facts are derived too
                    if f not in facts:
                        facts[f] = None
                        new = True
                if rule.stop:
                    stopped = True
                    break
                if new and stage.dynamic:
                    k = 0  # a rule earlier in the order may hold now
        table_fired: list[FiredRule] = []
        for t in self.tables:
            hits, sets, appends = resolved.get(t.index) or _resolve(t, data, today)
            paths = t.table.input_paths + t.table.reads
            for row in hits:
                table_fired.append(
                    FiredRule(f"{t.table.id}#{row.number}", {p: _read(data, p) for p in paths})
                )
            for key, value in sets.items():
                if key not in self.values:
                    outputs[key] = value
            for key, items in appends.items():
                if key not in self.values:
                    outputs.setdefault(key, []).extend(items)
        for key, default in self.finals.items():
            if key not in outputs:
                outputs[key] = [] if default is None else default
        out = {k: outputs[k] for k in self.outputs if k in outputs}
        decided = {k: _value_json(data.get(k)) for k in self.values if data.get(k) is not None}
        return out, table_fired + fired, list(facts), decided


def _resolve(
    t: _Table, data: dict[str, Any], today: dt.date
) -> tuple[list[Any], dict[str, Any], dict[str, list[Any]]]:
    matched = [k for k, cond in enumerate(t.rows) if cond(data, today, (), None)]
    return t.table.resolve(matched)


def _value_json(value: Any) -> Any:
    return value if type(value) in _SCALARS else to_json(value)
