"""Lint a loaded ruleset: rules that never fire, conflicting sets, table gaps and overlaps,
inputs nothing reads and outputs nothing sets.

The search is over candidate inputs (``candidates.py``): each is evaluated with the plain
reference evaluator, firing rules in priority order as the engine does, and every example
that is reported is confirmed with the real engine (``Ruleset.evaluate``) first, so an
example never lies. "Never fires" is a finding of that search, not a proof — except for a
contradiction shown directly (disjoint ranges on one field in a conjunction,
``contradiction.py``). Findings point at lines of the file (``lintlines.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from . import ir
from .candidates import ABSENT, Constants, build, combine, field_values, leaves
from .contradiction import contradiction, show
from .errors import DecisionError, InputError, Problem, RuleFileError
from .lintlines import FileLines
from .loader import load_ruleset
from .model import Decision, Rule, Ruleset
from .reference import Env, evaluate
from .registry import rule_files

ERROR, WARNING = "error", "warning"
LIMIT = 3000  # candidate inputs per ruleset
_GAP_HITS = ("unique", "first", "priority", "any")


@dataclass(frozen=True, order=True)
class Finding:
    """One problem the linter found, at a line of the rule file."""

    path: str
    line: int
    severity: str
    message: str
    example: dict[str, Any] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}: {self.severity}: {self.message}"
        if self.example is not None:
            text += f" (example: {json.dumps(self.example, ensure_ascii=False)})"
        return text


@dataclass
class _Case:
    """One candidate input and what the reference evaluation made of it."""

    data: dict[str, Any]
    holds: list[bool]  # per rule: its condition held (with the facts derived in the end)
    fired: list[int]  # rule indexes, in firing order
    rows: list[list[int]]  # per table: numbers of the rows that match


def lint_ruleset(rs: Ruleset, *, today: dt.date | None = None, limit: int = LIMIT) -> list[Finding]:
    """Every finding for one loaded ruleset, sorted by line."""
    return _Linter(rs, today or dt.date.today(), limit).run()


def lint_path(
    path: Path, *, today: dt.date | None = None, max_firings: int | None = None
) -> tuple[list[Finding], list[Problem]]:
    """Findings for a rule file or every rule file in a folder, and the files' load problems."""
    findings: list[Finding] = []
    problems: list[Problem] = []
    for file in rule_files(path):
        try:
            rs = load_ruleset(file, max_firings=max_firings)
        except RuleFileError as exc:
            problems.extend(exc.problems)
            continue
        findings.extend(lint_ruleset(rs, today=today))
    return findings, problems


class _Linter:
    def __init__(self, rs: Ruleset, today: dt.date, limit: int) -> None:
        self.rs, self.today = rs, today
        self.file = str(rs.path)
        self.lines = FileLines(rs.path)
        self.order = sorted(range(len(rs.rules)), key=lambda i: (-rs.rules[i].priority, i))
        self.cases = self._cases(limit)
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        if self.cases:
            self._never_fire()
            self._conflicting_sets()
            self._tables()
        else:
            self.add(
                1,
                WARNING,
                "lint could build no valid candidate input from the input schema (a pattern "
                "it cannot sample?), so rules and tables were not searched",
            )
        self._unused()
        return sorted(self.findings)

    def add(self, line: int, severity: str, message: str, example: Any = None) -> None:
        self.findings.append(Finding(self.file, line, severity, message, example))

    # ------------------------------------------------------------ candidates

    def _cases(self, limit: int) -> list[_Case]:
        consts = Constants()
        for rule in self.rs.rules:
            consts.scan(rule.condition)
        for table in self.rs.tables:
            for row in table.rows:
                consts.scan(row.condition)
        fields = list(leaves(self.rs.inputs))
        domains = [field_values(spec, path, consts, self.today) for path, spec in fields]
        paths = [p for p, _ in fields]
        self.domains, self.paths = domains, paths
        cases = []
        for pick in combine([len(d) for d in domains], limit):
            data = build(paths, tuple(d[i] for d, i in zip(domains, pick, strict=True)))
            values, errors = self.rs.checker(data)
            if not errors:
                cases.append(self._simulate(data, values))
        return cases

    def _simulate(self, data: dict[str, Any], values: dict[str, Any]) -> _Case:
        rules = self.rs.rules
        if self.rs.values:  # conditions read the intermediate values the input decides
            try:
                values = {**values, **self.rs.evaluate(data, today=self.today).values}
            except (InputError, DecisionError):
                pass
        plain = {
            i: evaluate(r.condition, Env(values, self.today)) is True
            for i, r in enumerate(rules)
            if not ir.has_fact(r.condition)
        }
        facts: set[str] = set()
        fired: list[int] = []

        def holds(i: int) -> bool:
            if i in plain:
                return plain[i]
            return evaluate(rules[i].condition, Env(values, self.today, facts)) is True

        stopped = False
        while not stopped and len(fired) <= self.rs.max_firings:
            nxt = next((i for i in self.order if i not in fired and holds(i)), None)
            if nxt is None:
                break
            fired.append(nxt)
            facts.update(rules[nxt].asserts)
            stopped = rules[nxt].stop
        # facts the rules would derive without stop, so "holds" does not blame a stop twice
        every = set(facts)
        for i in self.order:
            if holds(i):
                every.update(rules[i].asserts)
        final = [
            plain[i]
            if i in plain
            else evaluate(r.condition, Env(values, self.today, every)) is True
            for i, r in enumerate(rules)
        ]
        env = Env(values, self.today)
        rows = [
            [row.number for row in t.rows if evaluate(row.condition, env) is True]
            for t in self.rs.tables
        ]
        return _Case(data, final, fired, rows)

    def _confirm(self, data: dict[str, Any], check: Callable[[Decision], bool]) -> bool:
        try:
            return check(self.rs.evaluate(data, today=self.today))
        except (InputError, DecisionError):
            return False

    def _decision_error(self, data: dict[str, Any], code: str) -> bool:
        try:
            self.rs.evaluate(data, today=self.today)
        except DecisionError as exc:
            return exc.reason == code
        except InputError:
            return False
        return False

    # ------------------------------------------------------------ rules

    def _never_fire(self) -> None:
        n = len(self.cases)
        for i, rule in enumerate(self.rs.rules):
            clash = contradiction(rule.condition)
            if clash:
                self.add(
                    rule.line, ERROR, f"rule '{rule.id}' can never fire: its condition {clash}"
                )
                continue
            if any(i in c.fired for c in self.cases):
                continue
            held = [c for c in self.cases if c.holds[i]]
            if not held:
                found = self._search(i)
                if found is not None:
                    self.cases.append(found)
                    if i in found.fired:
                        continue
                    self._shadowed(i, rule, [found])
                    continue
                self.add(
                    rule.line,
                    ERROR,
                    f"rule '{rule.id}' never fires: its condition held on none of {n} "
                    "candidate inputs (a search, not a proof; check the condition)",
                )
                continue
            self._shadowed(i, rule, held)

    def _search(self, i: int, rounds: int = 3) -> _Case | None:
        """An input on which rule ``i``'s condition holds, found one field at a time.

        The candidates combine fields pairwise, so a condition that needs four fields just
        so (``category == "meals" and level == "staff" and amount > 100 * max(days, 1)``)
        may hold on none of them. Starting from the candidates on which most of its parts
        hold, each field in turn takes the value that makes most parts hold, until all do.
        """
        cond = self.rs.rules[i].condition
        if ir.has_fact(cond) or not self.cases:
            return None
        parts = list(cond.items) if isinstance(cond, ir.And) else [cond]

        def score(data: dict[str, Any]) -> int:
            values, errors = self.rs.checker(data)
            if errors:
                return -1
            if self.rs.values:
                try:
                    values = {**values, **self.rs.evaluate(data, today=self.today).values}
                except (InputError, DecisionError):
                    return -1
            env = Env(values, self.today)
            return sum(evaluate(p, env) is True for p in parts)

        starts = sorted(self.cases, key=lambda c: -score(c.data))[:3]
        for start in starts:
            picks = [_value_at(start.data, p) for p in self.paths]
            best = score(build(self.paths, tuple(picks)))
            for _ in range(rounds):
                for k, domain in enumerate(self.domains):
                    for value in domain:
                        trial = [*picks[:k], value, *picks[k + 1 :]]
                        got = score(build(self.paths, tuple(trial)))
                        if got > best:
                            best, picks = got, trial
                if best == len(parts):
                    data = build(self.paths, tuple(picks))
                    values, _ = self.rs.checker(data)
                    return self._simulate(data, values)
        return None

    def _shadowed(self, i: int, rule: Rule, held: list[_Case]) -> None:
        stoppers = {c.fired[-1] for c in held if c.fired and self.rs.rules[c.fired[-1]].stop}
        names = " or ".join(f"'{self.rs.rules[s].id}'" for s in sorted(stoppers))
        for case in held:
            if not self._confirm(case.data, lambda d: rule.id not in _fired(d)):
                continue
            why = (
                f"rule{'s' if len(stoppers) > 1 else ''} {names} (stop: true) fired first"
                if stoppers
                else "other rules fired"
            )
            self.add(
                rule.line,
                ERROR,
                f"rule '{rule.id}' never fires: on all {len(held)} of {len(self.cases)} "
                f"candidate inputs where its condition holds, {why} (a search, not a proof)",
                case.data,
            )
            return

    def _conflicting_sets(self) -> None:
        rules = self.rs.rules
        done: set[tuple[int, int]] = set()
        for case in self.cases:
            for a_pos, a in enumerate(case.fired):
                for b in case.fired[a_pos + 1 :]:
                    if (a, b) in done:
                        continue
                    ra, rb = rules[a], rules[b]
                    if _is_default(rb) and rb.priority < ra.priority:
                        continue  # a catch-all below: giving way is what it is for
                    keys = [k for k in ra.set if k in rb.set and ra.set[k] != rb.set[k]]
                    if not keys:
                        continue
                    ids = {ra.id, rb.id}
                    if not self._confirm(case.data, partial(_fires_all, ids)):
                        continue
                    done.add((a, b))
                    what = ", ".join(f"{k} ({show(ra.set[k])} vs {show(rb.set[k])})" for k in keys)
                    self.add(
                        rb.line,
                        WARNING,
                        f"rules '{ra.id}' (line {ra.line}) and '{rb.id}' both fire and set "
                        f"{what}; '{ra.id}' fires first and wins",
                        case.data,
                    )

    # ------------------------------------------------------------ tables

    def _tables(self) -> None:
        for t, table in enumerate(self.rs.tables):
            if hasattr(table, "computed"):
                continue  # FEEL (feel/tables.py): its cells are not read by this analysis
            line = self.lines.table(table.id)
            prefix = f"{table.id}#"
            if table.hit in _GAP_HITS:
                gaps = [c for c in self.cases if not c.rows[t]]
                gaps.sort(key=lambda c: -_size(c.data))  # fullest input first
                for case in gaps:
                    if self._confirm(case.data, partial(_no_row_fired, prefix)):
                        combos = {_columns(table.input_paths, c.data) for c in gaps}
                        self.add(
                            line,
                            WARNING,
                            f"table '{table.id}': no row matches "
                            f"{_columns(table.input_paths, case.data)} "
                            f"({len(combos)} uncovered combination(s) of its inputs found)",
                            case.data,
                        )
                        break
            if table.hit == "unique":
                seen: set[tuple[int, ...]] = set()
                for case in self.cases:
                    hit = tuple(case.rows[t])
                    if len(hit) < 2 or hit in seen:
                        continue
                    if not self._decision_error(case.data, "table-not-unique"):
                        continue
                    seen.add(hit)
                    rows = " and ".join(str(n) for n in hit)
                    self.add(
                        self.lines.row(table.id, hit[-1]) or line,
                        ERROR,
                        f"table '{table.id}' has hit policy unique but rows {rows} all match "
                        f"{_columns(table.input_paths, case.data)}",
                        case.data,
                    )

    # ------------------------------------------------------------ unused

    def _unused(self) -> None:
        read: set[str] = set()
        for rule in self.rs.rules:
            read.update(rule.paths)
        for table in self.rs.tables:
            read.update(table.input_paths)
        for path, _spec in leaves(self.rs.inputs):
            if not any(
                r == path or r.startswith(path + ".") or path.startswith(r + ".") for r in read
            ):
                self.add(
                    self.lines.field("input", path),
                    WARNING,
                    f"input '{path}' is read by no rule and no table",
                )
        written: set[str] = set()
        for rule in self.rs.rules:
            written.update(rule.set, rule.append)
        for table in self.rs.tables:
            written.update(table.outputs)
        for name, spec in self.rs.outputs.items():
            if name not in written and not spec.has_default:
                self.add(
                    self.lines.field("output", name),
                    WARNING,
                    f"output '{name}' is set by no rule, no table and no default",
                )


def _fired(decision: Decision) -> set[str]:
    return {f.rule for f in decision.fired}


def _fires_all(ids: set[str], decision: Decision) -> bool:
    return ids <= _fired(decision)


def _no_row_fired(prefix: str, decision: Decision) -> bool:
    return not any(f.rule.startswith(prefix) for f in decision.fired)


def _size(data: dict[str, Any]) -> int:
    return sum(_size(v) if isinstance(v, dict) else 1 for v in data.values())


def _columns(paths: tuple[str, ...], data: dict[str, Any]) -> str:
    shown = []
    for path in paths:
        value: Any = data
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        shown.append(f"{path} = {'missing' if value is None else show(value)}")
    return ", ".join(shown)


def _is_default(rule: Rule) -> bool:
    """A default: a rule with a negative priority or ``when: true``, which gives the usual
    answer when no rule above it gave another (docs/rules.md, "Output precedence")."""
    cond = rule.condition
    constant = not ir.input_paths(cond) and not ir.has_fact(cond) and not ir.uses_today(cond)
    return rule.priority < 0 or (constant and evaluate(cond, Env({}, dt.date(2000, 1, 1))) is True)


def _value_at(data: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted path of a candidate input, or ABSENT."""
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return ABSENT
        value = value[part]
    return value
