"""The decisions of a rule file as a GoRules zen-engine JDM decision graph.

The graph is what a zen author would draw for the same ruleset:

    input -> state (expression node: derived facts and `stop`, in firing order)
          -> one decision table per output a rule sets (hit policy first, rows in firing
             order, so the first rule to fire wins as in Casewise)
          -> one collect table per list output rules append to
          -> the rule file's own decision tables (first / collect, native unary cells)
          -> outputs (expression node: defaults, aggregates, lists) -> output

Every node passes its input through, so later nodes see the facts and earlier results.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from .model import METHODS, MISSING, Node, RuleModel, Table, Unsupported, type_of, walk

_KEY = "decision"


def _ident(text: str) -> str:
    return re.sub(r"\W", "_", text)


def _lit(value: Any) -> str:
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


class _Expr:
    """Bench IR -> zen expression text."""

    def __init__(self, model: RuleModel, today: dt.date, facts_prefix: str = "") -> None:
        self.model = model
        self.today = today
        self.prefix = facts_prefix

    def missing(self, node: Node) -> list[str]:
        """Field paths in ``node`` that may be null (comparisons with them are false)."""
        out = []
        for n in walk(node):
            if n[0] == "path" and self.model.field(n[1]).may_be_missing:
                code = ".".join(n[1])
                if code not in out:
                    out.append(code)
        return out

    def guarded(self, node: Node, code: str) -> str:
        guards = [f"{p} != null" for p in self.missing(node)]
        return "(" + " and ".join([*guards, code]) + ")" if guards else code

    def __call__(self, node: Node) -> str:
        kind = node[0]
        if kind == "const":
            return _lit(node[1])
        if kind == "path":
            f = self.model.field(node[1])
            code = ".".join(node[1])
            if f.default is not MISSING and f.reachable:
                return f"({code} ?? {_lit(f.default)})"  # Casewise fills in defaults
            return code
        if kind == "item":
            return "#" + "".join(f".{p}" for p in node[1])
        if kind == "today":
            return _lit(self.today)
        if kind == "fact":
            return f"{self.prefix}f_{_ident(node[1])}"
        if kind in ("and", "or"):
            return "(" + f" {kind} ".join(self(i) for i in node[1]) + ")"
        if kind == "not":
            return f"(not {self(node[1])})"
        if kind == "cmp":
            _, op, left, right = node
            if "date" in (type_of(left, self.model), type_of(right, self.model)):
                raise Unsupported("zen: comparison of dates (use days())")
            return self.guarded(node, f"({self(left)} {op} {self(right)})")
        if kind == "in":
            code = f"({self(node[1])} in {self(node[2])})"
            return self.guarded(node, f"(not {code})" if node[3] else code)
        if kind == "arith":
            _, op, left, right = node
            if "date" in (type_of(left, self.model), type_of(right, self.model)):
                raise Unsupported("zen: date arithmetic (use days())")
            return f"({self(left)} {op} {self(right)})"
        if kind == "neg":
            return f"(-{self(node[1])})"
        if kind == "call":
            code = self.call(node[1], node[2])
            # numbers from a call are guarded by the comparison that reads them
            return self.guarded(node, code) if node[1] in METHODS else code
        if kind == "quant":
            fn = "some" if node[1] == "any" else "all"
            return f"{fn}({self(node[2])}, {self(node[3])})"
        raise Unsupported(f"zen: {kind}")

    def call(self, name: str, args: list[Node]) -> str:
        code = [self(a) for a in args]
        if name == "days":
            return f'd({code[1]}).diff(d({code[0]}), "day")'
        if name in ("min", "max"):
            return f"{name}([{', '.join(code)}])"
        renamed = {"startswith": "startsWith", "endswith": "endsWith"}
        if name in ("len", "lower", "upper", "abs", "contains", "matches", *renamed):
            return f"{renamed.get(name, name)}({', '.join(code)})"
        raise Unsupported(f"zen: function {name}")


def _cell(test: Any) -> str:
    """A table cell as a zen unary test."""
    if test is None:
        return ""
    kind = test[0]
    if kind == "cmp":
        op, value = test[1], test[2]
        if op == "==":
            return _lit(value)
        if op == "!=":
            return f"$ != {_lit(value)}"
        return f"{op} {_lit(value)}"
    if kind == "oneof":
        return ", ".join(_lit(v) for v in test[1])
    if kind == "range":
        lo, lo_closed, hi, hi_closed = test[1:]
        return f"{'[' if lo_closed else '('}{_lit(lo)}..{_lit(hi)}{']' if hi_closed else ')'}"
    return f"not ({_dollar(test[1])})"


def _dollar(test: Any) -> str:
    """A cell test as a boolean expression over ``$`` (for not(...))."""
    kind = test[0]
    if kind == "cmp":
        return f"$ {test[1]} {_lit(test[2])}"
    if kind == "oneof":
        return f"$ in [{', '.join(_lit(v) for v in test[1])}]"
    if kind == "range":
        lo, lo_closed, hi, hi_closed = test[1:]
        low = f"$ {'>=' if lo_closed else '>'} {_lit(lo)}"
        return f"{low} and $ {'<=' if hi_closed else '<'} {_lit(hi)}"
    return f"not ({_dollar(test[1])})"


class _Graph:
    def __init__(self, model: RuleModel, today: dt.date) -> None:
        self.model = model
        self.today = today
        self.nodes: list[dict[str, Any]] = []
        self.ids = 0

    def uid(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}{self.ids}"

    def node(self, kind: str, name: str, content: dict[str, Any] | None = None) -> None:
        n: dict[str, Any] = {"id": name, "type": kind, "name": name, "position": {"x": 0, "y": 0}}
        if content is not None:
            n["content"] = content
        self.nodes.append(n)

    def expression_node(self, name: str, pairs: list[tuple[str, str]], passthrough: bool) -> None:
        expressions = [{"id": self.uid("e"), "key": k, "value": v} for k, v in pairs]
        content = {"expressions": expressions, "passThrough": passthrough}
        self.node("expressionNode", name, content)

    def table_node(
        self,
        name: str,
        hit: str,
        columns: list[str],
        outputs: list[str],
        rows: list[tuple[list[str], list[str]]],
    ) -> None:
        inputs = [{"id": f"i{i}", "name": f"in{i}", "field": c} for i, c in enumerate(columns)]
        outs = [{"id": f"o{i}", "name": o, "field": o} for i, o in enumerate(outputs)]
        if hit == "collect":
            # zen's collect drops rows whose outputs equal an earlier row's; keep them apart
            outs.append({"id": "row", "name": "row", "field": "_row"})
        rules = []
        for number, (cells, values) in enumerate(rows, start=1):
            row: dict[str, str] = {"_id": self.uid("r")}
            row.update({f"i{i}": c for i, c in enumerate(cells)})
            row.update({f"o{i}": v for i, v in enumerate(values)})
            if hit == "collect":
                row["row"] = str(number)
            rules.append(row)
        content = {
            "hitPolicy": hit,
            "inputs": inputs,
            "outputs": outs,
            "rules": rules,
            "passThrough": True,
            "outputPath": name,
            "executionMode": "single",
        }
        self.node("decisionTableNode", name, content)

    def build(self) -> dict[str, Any]:
        m = self.model
        self.node("inputNode", "input")
        state = _Expr(m, self.today, facts_prefix="$.")
        plain = _Expr(m, self.today)
        # -- derived facts and stop, in firing order
        pairs: list[tuple[str, str]] = []
        guard: dict[str, str | None] = {}
        halt: str | None = None
        last_asserter = {name: r.id for r in m.order for name in r.asserts}
        asserted_by: dict[str, list[str]] = {}
        for rule in m.order:
            guard[rule.id] = halt
            if not (rule.asserts or rule.stop):
                continue
            cond = state(rule.cond)
            alive = f"(not $.{halt}) and {cond}" if halt else cond
            if rule.asserts:
                key = f"r_{_ident(rule.id)}"
                pairs.append((key, alive))
                for name in rule.asserts:
                    asserted_by.setdefault(name, []).append(key)
                    if last_asserter[name] == rule.id:
                        keys = " or ".join(f"$.{k}" for k in asserted_by[name])
                        pairs.append((f"f_{_ident(name)}", keys))
            if rule.stop:
                new = f"halt_{_ident(rule.id)}"
                pairs.append((new, f"$.{halt} or {cond}" if halt else cond))
                halt = new
        stages = ["input"]
        if pairs:
            self.expression_node("state", pairs, passthrough=True)
            stages.append("state")

        def rule_cond(rule_id: str, cond: Node) -> str:
            code = plain(cond)
            h = guard[rule_id]
            return f"(not {h}) and {code}" if h else code

        # -- single outputs set by rules: first hit in firing order
        set_outputs = [o for o in m.outputs.values() if o.type != "list"]
        for out in set_outputs:
            rows = [
                ([rule_cond(r.id, r.cond)], [_lit(r.set[out.name])])
                for r in m.order
                if out.name in r.set
            ]
            if rows:
                name = f"set_{_ident(out.name)}"
                self.table_node(name, "first", [""], [out.name], rows)
                stages.append(name)
        # -- list outputs appended to by rules: collect in firing order
        for out in (o for o in m.outputs.values() if o.type == "list"):
            rows = [
                ([rule_cond(r.id, r.cond)], [_lit(r.append[out.name])])
                for r in m.order
                if out.name in r.append
            ]
            if rows:
                name = f"add_{_ident(out.name)}"
                self.table_node(name, "collect", [""], ["v"], rows)
                stages.append(name)
        # -- the rule file's tables
        for table in m.tables:
            stages.append(self.table(table, plain))
        # -- outputs
        final: list[tuple[str, str]] = []
        for out in m.outputs.values():
            final.append((out.name, self.output(out.name, out.type, out.default)))
        self.expression_node("outputs", final, passthrough=False)
        stages.append("outputs")
        self.node("outputNode", "output")
        stages.append("output")
        edges = [
            {"id": f"edge{i}", "sourceId": a, "targetId": b, "type": "edge"}
            for i, (a, b) in enumerate(zip(stages, stages[1:], strict=False))
        ]
        return {
            "contentType": "application/vnd.gorules.decision",
            "nodes": self.nodes,
            "edges": edges,
        }

    def table(self, t: Table, plain: _Expr) -> str:
        hit = t.hit
        if hit in ("unique", "any"):
            hit = "first"  # the bench uses only inputs these tables decide without conflict
        if hit not in ("first", "collect"):
            raise Unsupported(f"zen: hit policy {t.hit}")
        columns = [plain(c) for c in t.columns]
        rows = []
        for row in t.rows:
            cells = []
            for column, test in zip(t.columns, row.cells, strict=True):
                if test is not None and plain.missing(column):
                    # a unary test on null is an error in zen; Casewise says "no match"
                    cells.append(f"$ != null and ({_dollar(test)})")
                else:
                    cells.append(_cell(test))
            rows.append((cells, [_lit(row.values[o]) for o in t.outputs]))
        name = f"table_{_ident(t.id)}"
        self.table_node(name, hit, columns, list(t.outputs), rows)
        return name

    def output(self, name: str, otype: str, default: Any) -> str:
        m = self.model
        fallback = "null" if default is MISSING else _lit(default)
        key = _ident(name)
        for t in m.tables:
            if name not in t.outputs:
                continue
            tname = f"table_{_ident(t.id)}"
            if t.aggregate is not None:
                if t.aggregate == "count":
                    return f"len({tname})"
                fn = t.aggregate
                return f"len({tname}) > 0 ? {fn}(map({tname}, #.{name})) : {fallback}"
            if t.hit == "collect":
                items = f"flatMap({tname}, #.{name})"
                rules = f"flatMap(add_{key}, #.v)" if any(name in r.append for r in m.rules) else ""
                return f"{rules} + {items}" if rules else items
            return f"{tname}.{name} ?? {fallback}"
        if otype == "list":
            if any(name in r.append for r in m.rules):
                return f"flatMap(add_{key}, #.v)"
            return "[]"
        if any(name in r.set for r in m.rules):
            return f"set_{key}.{name} ?? {fallback}"
        return fallback


def build_graph(model: RuleModel, today: dt.date) -> dict[str, Any]:
    """The JDM decision graph (as a dict) for ``model``; ``today`` is fixed into it."""
    return _Graph(model, today).build()


def zen_decider(
    model: RuleModel, today: dt.date, *, api: str = "engine"
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``decide(input) -> outputs`` evaluated by zen-engine.

    ``api="engine"`` evaluates through ``ZenEngine.evaluate`` with a loader that hands
    out pre-compiled ``ZenDecisionContent`` (the fastest synchronous path, and the one
    zen's docs recommend); ``api="decision"`` uses ``create_decision(...).evaluate``,
    which in zen-engine 2.1 is several times slower per call.
    """
    import zen

    content = json.dumps(build_graph(model, today))
    if api == "decision":
        decision = zen.ZenEngine().create_decision(content)

        def decide_decision(data: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = decision.evaluate(data)["result"]
            return result

        return decide_decision
    compiled = zen.ZenDecisionContent(content)
    engine = zen.ZenEngine({"loader": lambda key: compiled})
    evaluate = engine.evaluate

    def decide(data: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = evaluate(_KEY, data)["result"]
        return result

    return decide
