"""A loaded ruleset and the decisions it makes."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import ir
from .compile import FACTS_KEY, INPUT_KEY, TODAY_KEY
from .errors import DecisionError, InputError
from .fastcheck import InputChecker, engine_form
from .playbook import FactQuery
from .reference import Env, evaluate
from .runtime import Program
from .schema import FieldSpec, check_input, to_json
from .tables import Table

if TYPE_CHECKING:
    from .pyengine import PyProgram

ENGINES = ("compiled", "durable")


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    priority: int
    when: str
    condition: ir.Node
    paths: tuple[str, ...]
    set: dict[str, Any]
    append: dict[str, list[Any]]
    asserts: tuple[str, ...]
    stop: bool
    line: int
    col: int

    def describe(self) -> dict[str, Any]:
        then: dict[str, Any] = {}
        if self.set:
            then["set"] = self.set
        if self.append:
            then["append"] = self.append
        if self.asserts:
            then["assert"] = list(self.asserts)
        if self.stop:
            then["stop"] = True
        return {
            "id": self.id,
            "description": self.description,
            "priority": self.priority,
            "when": self.when,
            "then": then,
            "reads": list(self.paths),
        }


@dataclass(frozen=True)
class Action:
    """What one compiled engine rule stands for: a rule, or a table row."""

    kind: str  # "rule" | "row"
    index: int
    row: int = 0


class FiredRule(NamedTuple):
    """A rule (or table row, "<table>#<row>") that fired, and the values its condition read.

    A named tuple, so the compiled engine makes one in a single C call
    (``tuple.__new__(FiredRule, (rule, values))``)."""

    rule: str
    values: dict[str, Any]


@dataclass(slots=True)
class Decision:
    id: str
    ruleset: str
    version: str
    outputs: dict[str, Any]
    fired: list[FiredRule]
    facts: list[str]
    duration_ms: float
    values: dict[str, Any] = field(default_factory=dict)  # intermediate values decided

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "ruleset": self.ruleset,
            "version": self.version,
            "outputs": self.outputs,
            "fired": [{"rule": f.rule, "values": f.values} for f in self.fired],
            "facts": self.facts,
            "duration_ms": self.duration_ms,
        }
        if self.values:
            out["values"] = self.values
        return out


@dataclass
class Ruleset:
    """A rule file, checked and compiled: call ``evaluate`` for each decision."""

    name: str
    description: str
    path: Path
    version: str
    inputs: dict[str, FieldSpec]
    outputs: dict[str, FieldSpec]
    rules: list[Rule]
    tables: list[Table]
    max_firings: int
    program: Program | None = field(repr=False)  # the durable engine, when asked for
    actions: dict[str, Action] = field(repr=False)
    atoms: list[ir.Node] = field(repr=False)
    kind: str = "ruleset"  # or "playbook"
    facts: dict[str, FactQuery] = field(default_factory=dict, repr=False)  # playbooks only
    compiled: PyProgram | None = field(default=None, repr=False)  # the compiled engine
    engine: str = "compiled"  # which of ENGINES makes the decisions
    values: dict[str, FieldSpec] = field(default_factory=dict)  # intermediate values
    checker: InputChecker = field(init=False, repr=False)
    engine_form: Callable[[dict[str, Any]], dict[str, Any]] = field(init=False, repr=False)
    # the compiled engine's decision as one generated function (unrolled/): from the raw
    # input (None when it is not valid), and from input schema.check_input accepted
    fast: Callable[..., Decision | None] | None = field(init=False, repr=False)
    checked: Callable[..., Decision | None] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.checker = InputChecker(self.inputs)
        self.engine_form = engine_form(self.inputs)
        self.fast = self.checked = None
        unrolled = self.compiled.unrolled if self.compiled is not None else None
        if unrolled is not None:
            self.fast, self.checked = unrolled.make(self.name, self.version)

    def evaluate(
        self, data: dict[str, Any], *, today: dt.date | None = None, decision_id: str | None = None
    ) -> Decision:
        """Decide for one input; raises InputError or DecisionError."""
        started = time.perf_counter()
        day = today or dt.date.today()
        if self.fast is not None:
            decision = self.fast(data, day, decision_id, started)
            if decision is not None:
                return decision
            values, errors = check_input(self.inputs, data)  # names every problem
            if errors:
                raise InputError(self.name, errors)
            assert self.checked is not None
            made = self.checked(values, day, decision_id, started)
            assert made is not None  # only the fast entry refuses input
            return made
        values, errors = self.checker(data)
        if errors:
            raise InputError(self.name, errors)
        if self.compiled is not None:
            outputs, fired, facts, decided = self.compiled.run(values, day)
            return Decision(
                id=decision_id or new_id(),
                ruleset=self.name,
                version=self.version,
                outputs=outputs,
                fired=fired,
                facts=facts,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                values=decided,
            )
        assert self.program is not None
        fact: dict[str, Any] = {
            "$t": "in",
            INPUT_KEY: self.engine_form(values),
            TODAY_KEY: day.toordinal(),
            FACTS_KEY: {},
        }
        if self.atoms:
            env = Env(values, day)
            for i, node in enumerate(self.atoms):
                fact[f"c{i}"] = evaluate(node, env) is True
        run = _Run(self, values)
        self.program.run(fact, run.fire)
        outputs, fired = run.finish()
        return Decision(
            id=decision_id or new_id(),
            ruleset=self.name,
            version=self.version,
            outputs=outputs,
            fired=fired,
            facts=list(run.facts),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            **({"facts": {k: f.describe() for k, f in self.facts.items()}} if self.facts else {}),
            "description": self.description,
            "version": self.version,
            "engine": self.engine,
            "input": {k: f.describe() for k, f in self.inputs.items()},
            "output": {k: f.describe() for k, f in self.outputs.items()},
            **(
                {"values": {k: f.describe() for k, f in self.values.items()}} if self.values else {}
            ),
            "rules": [r.describe() for r in self.rules],
            "tables": [t.describe() for t in self.tables],
            "limits": {"max_firings": self.max_firings},
        }


class _Ids:
    """Unique decision ids without a system call each: a random per-process prefix and a
    counter (the prefix is drawn again in a forked child). ``next(ids.stream)`` gives the
    next one without a Python call: the iterator chain runs in C."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = uuid.uuid4().hex[:20]
        self.stream = map(self.prefix.__add__, map("{:012x}".format, itertools.count()))

    def __call__(self) -> str:
        return next(self.stream)


new_id = _Ids()


def _read(values: dict[str, Any], dotted: str) -> Any:
    value: Any = values
    for part in dotted.split("."):
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value if type(value) in _SCALARS else to_json(value)


_SCALARS = (str, int, float, bool, type(None))


class _Run:
    """The state of one decision while its rules fire."""

    __slots__ = (
        "rs",
        "values",
        "facts",
        "fired",
        "rows",
        "outputs",
        "set_by",
        "stopped",
        "firings",
        "done",
    )

    def __init__(self, rs: Ruleset, values: dict[str, Any]) -> None:
        self.rs = rs
        self.values = values
        self.facts: dict[str, None] = {}
        self.fired: list[FiredRule] = []
        self.rows: dict[int, set[int]] = {}
        self.outputs: dict[str, Any] = {}
        self.set_by: dict[str, str] = {}
        self.stopped = False
        self.firings = 0
        self.done: set[int] = set()

    def fire(self, name: str) -> Iterable[str]:
        action = self.rs.actions[name]
        if action.kind == "row":
            self.rows.setdefault(action.index, set()).add(action.row)
            return ()
        if self.stopped or action.index in self.done:
            return ()  # refraction: a rule fires at most once per decision
        self.firings += 1
        if self.firings > self.rs.max_firings:
            raise DecisionError(
                "chain-limit",
                f"ruleset '{self.rs.name}' fired more than {self.rs.max_firings} rules in one "
                "decision; look for rules that keep deriving facts for each other, or raise "
                "limits.max_firings",
                [{"fired": [f.rule for f in self.fired[-10:]]}],
            )
        self.done.add(action.index)
        rule = self.rs.rules[action.index]
        self.fired.append(FiredRule(rule.id, {p: _read(self.values, p) for p in rule.paths}))
        for key, value in rule.set.items():
            if key not in self.set_by:
                self.outputs[key] = list(value) if isinstance(value, list) else value
                self.set_by[key] = rule.id
        for key, items in rule.append.items():
            self.outputs.setdefault(key, []).extend(items)
        if rule.stop:
            self.stopped = True
        new = [f for f in rule.asserts if f not in self.facts]
        for f in new:
            self.facts[f] = None
        return new

    def finish(self) -> tuple[dict[str, Any], list[FiredRule]]:
        table_fired: list[FiredRule] = []
        for index, table in enumerate(self.rs.tables):
            hits, sets, appends = table.resolve(sorted(self.rows.get(index, ())))
            for row in hits:
                table_fired.append(
                    FiredRule(
                        f"{table.id}#{row.number}",
                        {p: _read(self.values, p) for p in table.input_paths},
                    )
                )
            for key, value in sets.items():
                self.outputs[key] = value
            for key, items in appends.items():
                self.outputs.setdefault(key, []).extend(items)
        out: dict[str, Any] = {}
        for key, spec in self.rs.outputs.items():
            if key in self.outputs:
                out[key] = self.outputs[key]
            elif spec.has_default:
                out[key] = to_json(spec.default)
            elif spec.type == "list":
                out[key] = []
        return out, table_fired + self.fired
