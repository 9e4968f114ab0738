"""Reading a rule file's rules: ids, priorities, conditions and what each rule does."""

from __future__ import annotations

from typing import Any

from . import expr, ir
from .filereader import NAME, FileReader
from .model import Rule
from .playbook import RECOMMENDATIONS, read_recommend
from .schema import FieldSpec
from .source import Pos, check_keys, key_pos, suggest, value_pos

RULE_KEYS = ("id", "description", "priority", "when", "then")
THEN_KEYS = ("set", "append", "assert", "stop")
PLAYBOOK_THEN_KEYS = (*THEN_KEYS, "recommend")
MAX_PRIORITY = 1000


class RuleReader(FileReader):
    """Reads the ``rules`` of a rule file."""

    def _rules(self) -> list[Rule]:
        """The file's rules; a rule with a mistake is reported and left out."""
        rules = []
        for rnode, pos in self._entries(
            "rules",
            "'rules' must be a list of rules (each starting with '- id: ...')",
            "each rule must be a mapping with id, when and then",
        ):
            check_keys(self.src, rnode, RULE_KEYS, "a rule", pos)
            rid = self._claim_id(rnode, pos, "a rule")
            priority = rnode.get("priority", 0)
            if (
                not isinstance(priority, int)
                or isinstance(priority, bool)
                or abs(priority) > MAX_PRIORITY
            ):
                self.err(
                    value_pos(rnode, "priority", pos),
                    f"priority must be a whole number from -{MAX_PRIORITY} to "
                    f"{MAX_PRIORITY}, got {priority!r}",
                )
                priority = 0
            cond = None
            if "when" not in rnode:
                self.err(
                    pos,
                    f"{_label(rid)} has no 'when'; write the condition it fires on "
                    "(use 'when: true' for always)",
                )
            elif getattr(self, "feel_reader", None) is not None:
                cond = self.feel_reader.condition(rnode, pos)  # type: ignore[attr-defined]
            else:
                cond = self._expression(
                    rnode, "when", pos, expr.Scope(self.inputs, values=self.values), ir.BOOLEAN
                )
            then = self._then(rnode, pos, rid)
            if rid is None or cond is None or then is None:
                continue
            self.when_pos[rid] = value_pos(rnode, "when", pos)
            rules.append(
                Rule(
                    id=rid,
                    description=str(rnode.get("description", "")),
                    priority=priority,
                    when=str(rnode["when"]),
                    condition=cond,
                    paths=(*ir.input_paths(cond), *ir.value_names(cond)),
                    set=then[0],
                    append=then[1],
                    asserts=then[2],
                    stop=then[3],
                    line=pos.line,
                    col=pos.col,
                )
            )
        return rules

    def _then(
        self, rnode: Any, pos: Pos, rid: str | None
    ) -> tuple[dict[str, Any], dict[str, list[Any]], tuple[str, ...], bool] | None:
        node = rnode.get("then")
        tpos = value_pos(rnode, "then", pos)
        if not isinstance(node, dict) or not node:
            self.err(
                tpos if "then" in rnode else pos,
                f"{_label(rid)} needs 'then' with set, append, assert"
                + (", recommend" if self.is_playbook else "")
                + " or stop",
            )
            return None
        check_keys(
            self.src, node, PLAYBOOK_THEN_KEYS if self.is_playbook else THEN_KEYS, "'then'", tpos
        )
        sets: dict[str, Any] = {}
        appends: dict[str, list[Any]] = {}
        ok = True
        if "recommend" in node and self.is_playbook:
            items = read_recommend(
                self.src,
                node["recommend"],
                value_pos(node, "recommend", tpos),
                self.facts,
                self.catalogue,
                rid or "?",
            )
            if items is None:
                ok = False
            else:
                appends[RECOMMENDATIONS] = items
        for key, target in (("set", sets), ("append", appends)):
            values = node.get(key)
            if values is None:
                continue
            kpos = value_pos(node, key, tpos)
            if not isinstance(values, dict):
                self.err(kpos, f"'{key}' must map output names to values, e.g. {{route: auto}}")
                ok = False
                continue
            for out, value in values.items():
                vpos = key_pos(values, out, kpos)
                spec = self._output(str(out), vpos)
                if spec is None:
                    ok = False
                    continue
                if key == "append":
                    if spec.type != "list":
                        self.err(
                            vpos,
                            f"cannot append to '{out}': it is a {spec.type}; "
                            "use set, or declare it {type: list}",
                        )
                        ok = False
                        continue
                    items = value if isinstance(value, list) else [value]
                    item_spec = spec.items
                    if item_spec is not None and not self._value_ok(
                        FieldSpec(str(out), "list", items=item_spec), items, vpos, str(out)
                    ):
                        ok = False
                    target[str(out)] = list(items)
                elif self._value_ok(spec, value, value_pos(values, out, vpos), str(out)):
                    target[str(out)] = value
                else:
                    ok = False
        facts: list[str] = []
        if "assert" in node:
            raw = node["assert"]
            names = raw if isinstance(raw, list) else [raw]
            for f in names:
                if not isinstance(f, str) or not NAME.fullmatch(f):
                    self.err(
                        value_pos(node, "assert", tpos),
                        f"'assert' takes a fact name such as fraud-check (or a list), got {f!r}",
                    )
                    ok = False
                else:
                    facts.append(f)
        stop = node.get("stop", False)
        if not isinstance(stop, bool):
            self.err(value_pos(node, "stop", tpos), f"'stop' must be true or false, got {stop!r}")
            ok = False
        return (sets, appends, tuple(facts), bool(stop)) if ok else None

    def _check_facts(self, rules: list[Rule]) -> None:
        asserted = {f for r in rules for f in r.asserts}
        for rule in rules:
            for node in ir.walk(rule.condition):
                if isinstance(node, ir.Fact) and node.name not in asserted:
                    self.err(
                        Pos(rule.line, rule.col),
                        f"rule '{rule.id}' matches fact(\"{node.name}\") but no rule "
                        f"asserts it{suggest(node.name, asserted)}",
                    )


def _label(rid: str | None) -> str:
    return f"rule '{rid}'" if rid else "this rule"
