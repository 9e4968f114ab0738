"""Building a ruleset's durable_rules program, after refusing what durable_rules would hang on."""

from __future__ import annotations

from typing import Any

from . import durable_guard, ir
from .compile import Atoms, CompileError, condition, may_hold_without_facts
from .errors import RuleFileError
from .filereader import FileReader
from .model import Action, Rule
from .runtime import Program
from .source import Pos
from .tables import Table

# durable_rules orders its agenda by "pri", lowest first, held in 16 bits (0..65535):
# table rows all take 0 (matched before any rule fires), rules take 1.. in firing order.
ROW_PRI = 0
MAX_RULES = 65_000


class DurableBuilder(FileReader):
    """Compiles read rules and tables into a durable_rules program."""

    def _compile(
        self, name: str, rules: list[Rule], tables: list[Table]
    ) -> tuple[Program | None, dict[str, Action], list[ir.Node]]:
        atoms = Atoms()
        definition: dict[str, Any] = {}
        actions: dict[str, Action] = {}
        where: dict[str, Pos] = {}
        for t, table in enumerate(tables):
            positions = self.row_pos.get(table.id, [])
            for row in table.rows:
                self.deadline.check()
                key = f"t{t}_{row.number}"
                known = row.number <= len(positions)
                where[key] = positions[row.number - 1] if known else Pos(1, 1)
                try:
                    cond = condition(row.condition, atoms)
                except CompileError as exc:
                    self.err(where[key], f"table '{table.id}', row {row.number}: {exc}")
                    continue
                definition[key] = {"all": [{"m": cond}], "pri": ROW_PRI}
                actions[key] = Action("row", t, row.number - 1)
        if len(rules) > MAX_RULES:
            self.err(Pos(1, 1), f"{len(rules)} rules in one file; at most {MAX_RULES}")
        order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
        rank = {i: 1 + n for n, i in enumerate(order)}
        for i, rule in enumerate(rules):
            self.deadline.check()
            key = f"r{i}"
            where[key] = self.when_pos.get(rule.id, Pos(rule.line, rule.col))
            try:
                cond = condition(rule.condition, atoms)
            except CompileError as exc:
                self.err(where[key], f"rule '{rule.id}': {exc}")
                continue
            definition[key] = {"all": [{"m": cond}], "pri": rank[i]}
            actions[key] = Action("rule", i)
        if self.src.problems:
            raise RuleFileError(self.src.problems)
        self._check_engine(definition, where, actions, rules, tables)
        eager = any(ir.has_fact(r.condition) and may_hold_without_facts(r.condition) for r in rules)
        self.deadline.check()
        try:
            program = Program(f"{name}@{self.version[:12]}", definition, facts_from_start=eager)
        except Exception as exc:  # noqa: BLE001 - durable_rules_engine.error, untyped
            self.err(Pos(1, 1), durable_guard.translate(str(exc)))
            raise RuleFileError(self.src.problems) from None
        return program, actions, atoms.nodes

    def _check_engine(
        self,
        definition: dict[str, Any],
        where: dict[str, Pos],
        actions: dict[str, Action],
        rules: list[Rule],
        tables: list[Table],
    ) -> None:
        """Refuse what durable_rules would hang or fail on, before it is built in this process."""
        refusal, unsure = durable_guard.check(definition)
        message = refusal.message if refusal is not None else None
        key = refusal.key if refusal is not None else None
        if message is None and unsure:
            message = durable_guard.probe(definition, self.deadline.left())
        if message is None:
            return
        pos = where.get(key, Pos(1, 1)) if key is not None else Pos(1, 1)
        action = actions.get(key) if key is not None else None
        if action is not None and action.kind == "rule":
            message = f"rule '{rules[action.index].id}': {message}"
        elif action is not None:
            message = f"table '{tables[action.index].id}', row {action.row + 1}: {message}"
        self.err(pos, message)
        raise RuleFileError(self.src.problems)
