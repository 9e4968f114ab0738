"""The compiled engine, the default: a checked ruleset run as generated Python functions.

Conditions, table rows and firings are generated from the checked IR by ``codegen.py``
(with ``closures.py`` for what has no inline form); this module runs the agenda.

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
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import ir
from .closures import Fn, compile_condition
from .codegen import compile_filter, compile_fire, compile_reads, compile_test
from .compile import may_hold_without_facts
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
    reads: Callable[[dict[str, Any]], dict[str, Any]]  # the values its condition read
    sets: tuple[tuple[str, Any], ...]  # outputs
    value_sets: tuple[tuple[str, Any], ...]  # intermediate values
    appends: tuple[tuple[str, tuple[Any, ...]], ...]
    value_appends: tuple[tuple[str, tuple[Any, ...]], ...]
    asserts: tuple[str, ...]
    stop: bool
    fire: Callable[..., bool]  # applies the effects; True when it derived a new fact
    needs: frozenset[str]  # facts one of which must exist before it can hold (empty: none)
    facts: frozenset[str]  # the facts its condition reads


Select = Callable[[dict[str, Any], dt.date, Any], list[Any]]


@dataclass(frozen=True)
class _Table:
    index: int
    table: Table
    match: Select  # the indexes of the rows that match
    early: bool  # sets intermediate values: resolved in its stage, not at the end
    reads: Callable[[dict[str, Any]], dict[str, Any]]  # the values its inputs read
    labels: tuple[str, ...]  # "<table>#<row>" by row index


@dataclass(frozen=True)
class _Stage:
    tables: tuple[_Table, ...]  # the early tables of this stage
    rules: tuple[_Rule, ...]  # in firing order
    dynamic: bool  # some rule reads facts
    select: Select  # the rules that read no facts and hold, in firing order
    position: dict[int, int]  # rule index -> its place in the firing order
    on_facts: tuple[_Rule, ...]  # the rules that read facts, in firing order
    readers: dict[str, tuple[_Rule, ...]]  # fact -> the rules that read it


def _selector(nodes: Sequence[ir.Node], items: Sequence[Any], *, first: bool = False) -> Select:
    """Generated source when it compiles; closures for what Python's parser cannot nest."""
    try:
        return compile_filter(nodes, items, first=first)
    except (SyntaxError, RecursionError, MemoryError):
        tests = [(compile_condition(n), item) for n, item in zip(nodes, items, strict=True)]
        if first:
            return lambda d, t, fs: [item for test, item in tests if test(d, t, fs, None)][:1]
        return lambda d, t, fs: [item for test, item in tests if test(d, t, fs, None)]


def _test(node: ir.Node) -> Fn:
    try:
        return compile_test(node)
    except (SyntaxError, RecursionError, MemoryError):
        return compile_condition(node)


_SCALARS = (str, int, float, bool, type(None))


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
        inputs: dict[str, FieldSpec] | None = None,
    ) -> None:
        self.name = name
        self.max_firings = max_firings
        self.outputs = outputs
        self.values = values
        order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
        plain = _plain_paths({**(inputs or {}), **values})
        compiled = {i: self._rule(i, rules[i], values, plain) for i in order}
        n_stages = 1 + max([*rule_stages, *table_stages, 0])
        stages = []
        self.tables = tuple(
            _Table(
                t,
                table,
                _selector(
                    [r.condition for r in table.rows],
                    range(len(table.rows)),
                    first=table.hit == "first",  # the later rows cannot count
                ),
                any(o in values for o in table.outputs),
                compile_reads(table.input_paths + table.reads, plain),
                tuple(f"{table.id}#{r.number}" for r in table.rows),
            )
            for t, table in enumerate(tables)
        )
        for s in range(n_stages):
            here = tuple(compiled[i] for i in order if (rule_stages[i] if rule_stages else 0) == s)
            stage_tables = tuple(
                t
                for t in self.tables
                if t.early and (table_stages[t.index] if table_stages else 0) == s
            )
            static = [r for r in here if not r.dynamic]
            select = _selector([rules[r.index].condition for r in static], static)
            readers: dict[str, list[_Rule]] = {}
            for r in here:
                for fact in r.facts:
                    readers.setdefault(fact, []).append(r)
            stages.append(
                _Stage(
                    stage_tables,
                    here,
                    any(r.dynamic for r in here),
                    select,
                    {r.index: p for p, r in enumerate(here)},
                    tuple(r for r in here if r.dynamic),
                    {f: tuple(rs) for f, rs in readers.items()},
                )
            )
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
    def _rule(index: int, rule: Rule, values: dict[str, FieldSpec], plain: frozenset[str]) -> _Rule:
        sets = tuple((k, v) for k, v in rule.set.items() if k not in values)
        value_sets = tuple((k, v) for k, v in rule.set.items() if k in values)
        appends = tuple((k, tuple(v)) for k, v in rule.append.items() if k not in values)
        value_appends = tuple((k, tuple(v)) for k, v in rule.append.items() if k in values)
        cond = rule.condition
        facts = frozenset(n.name for n in ir.walk(cond) if isinstance(n, ir.Fact))
        return _Rule(
            index=index,
            id=rule.id,
            cond=_test(rule.condition) if ir.has_fact(rule.condition) else _never,
            dynamic=ir.has_fact(rule.condition),
            reads=compile_reads(rule.paths, plain),
            sets=sets,
            value_sets=value_sets,
            appends=appends,
            value_appends=value_appends,
            asserts=rule.asserts,
            stop=rule.stop,
            fire=_firing(rule, sets, appends, value_sets, value_appends, plain),
            needs=frozenset() if may_hold_without_facts(cond) else facts,
            facts=facts,
        )

    def _chain_limit(self, fired: list[FiredRule]) -> DecisionError:
        return _chain_limit_error(self.name, self.max_firings, fired)

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
        done: set[int] = set()  # the rules fired
        stopped = False
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
            held: Any = stage.select(data, today, facts)
            if not stage.dynamic:
                for rule in held:
                    if len(done) >= limit:
                        raise self._chain_limit(fired)
                    done.add(rule.index)
                    rule.fire(data, outputs, fired, facts, value_set)
                    if rule.stop:
                        stopped = True
                        break
                continue
            # the agenda: positions (in firing order) of the rules that hold now
            position = stage.position
            heap = [position[r.index] for r in held]  # ascending: already a heap
            holding = set(heap)
            for rule in stage.on_facts:
                if rule.needs and rule.needs.isdisjoint(facts):
                    continue  # it cannot hold before one of its facts is derived
                if rule.cond(data, today, facts, None):
                    holding.add(position[rule.index])
                    heapq.heappush(heap, position[rule.index])
            rules = stage.rules
            while heap:
                p = heapq.heappop(heap)
                if p not in holding:
                    continue  # it stopped holding, or it fired
                holding.discard(p)
                rule = rules[p]
                if len(done) >= limit:
                    raise self._chain_limit(fired)
                done.add(rule.index)
                before = len(facts)
                rule.fire(data, outputs, fired, facts, value_set)
                if rule.stop:
                    stopped = True
                    break
                if len(facts) == before:
                    continue
                # new facts: the rules that read them may start (or stop) holding
                for fact in list(facts)[before:]:
                    for reader in stage.readers.get(fact, ()):
                        if reader.index in done:
                            continue
                        q = position[reader.index]
                        if reader.cond(data, today, facts, None):
                            if q not in holding:
                                holding.add(q)
                                heapq.heappush(heap, q)
                        else:
                            holding.discard(q)
        table_fired: list[FiredRule] = []
        for t in self.tables:
            hits, sets, appends = resolved.get(t.index) or _resolve(t, data, today)
            if hits:
                read = t.reads(data)
                for row in hits:
                    table_fired.append(FiredRule(t.labels[row.number - 1], dict(read)))
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
    return t.table.resolve(t.match(data, today, ()))


def _plain_paths(schema: dict[str, FieldSpec], prefix: str = "") -> frozenset[str]:
    """Dotted paths whose values are JSON as they are: numbers, strings and booleans."""
    out: set[str] = set()
    for name, spec in schema.items():
        if spec.type in ("number", "integer", "string", "boolean"):
            out.add(prefix + name)
        elif spec.type == "object" and spec.fields:
            out |= _plain_paths(spec.fields, f"{prefix}{name}.")
    return frozenset(out)


def _chain_limit_error(name: str, limit: int, fired: list[FiredRule]) -> DecisionError:
    return DecisionError(
        "chain-limit",
        f"ruleset '{name}' fired more than {limit} rules in one decision; look for rules "
        "that keep deriving facts for each other, or raise limits.max_firings",
        [{"fired": [f.rule for f in fired[-10:]]}],
    )


def _firing(
    rule: Rule,
    sets: tuple[tuple[str, Any], ...],
    appends: tuple[tuple[str, tuple[Any, ...]], ...],
    value_sets: tuple[tuple[str, Any], ...],
    value_appends: tuple[tuple[str, tuple[Any, ...]], ...],
    plain: frozenset[str],
) -> Callable[..., bool]:
    try:
        return compile_fire(
            rule.id,
            rule.paths,
            sets,
            [(k, list(v)) for k, v in appends],
            value_sets,
            [(k, list(v)) for k, v in value_appends],
            rule.asserts,
            FiredRule,
            plain,
        )
    except (SyntaxError, RecursionError, MemoryError):
        reads = compile_reads(rule.paths)

        def fire(d: Any, out: Any, fired: Any, facts: Any, vs: Any) -> bool:
            fired.append(FiredRule(rule.id, reads(d)))
            for key, value in sets:
                if key not in out:
                    out[key] = list(value) if isinstance(value, list) else value
            for key, items in appends:
                out.setdefault(key, []).extend(items)
            for key, value in value_sets:
                if key not in vs:
                    vs.add(key)
                    d[key] = list(value) if isinstance(value, list) else value
            for key, items in value_appends:
                d.setdefault(key, []).extend(items)
            new = False
            for f in rule.asserts:
                if f not in facts:
                    facts[f] = None
                    new = True
            return new

        return fire


def _never(d: Any, t: Any, fs: Any, i: Any) -> bool:
    return False  # a rule on the input only: its stage's select decides whether it holds


def _value_json(value: Any) -> Any:
    return value if type(value) in _SCALARS else to_json(value)
