"""The decisions of a rule file written out as one plain Python function: the ceiling.

``python_source(model)`` writes the function a careful engineer would write by hand for
that ruleset: locals for the fields, the table rows as if/elif chains, then each rule's
condition as an ``if`` in firing order. ``compile_plain`` turns it into a callable that
takes the decision input (a JSON-like dict) and returns the outputs dict.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from .model import MISSING, Node, Rule, RuleModel, Table, Unsupported, row_condition, type_of

_PY_CMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


def _ident(text: str) -> str:
    return re.sub(r"\W", "_", text)


class _Writer:
    def __init__(self, model: RuleModel, today: dt.date) -> None:
        self.model = model
        self.today = today
        self.lines: list[str] = []
        self.temp = 0
        self.used: dict[tuple[str, ...], str] = {}

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    # ------------------------------------------------------------ expressions

    def var(self, parts: tuple[str, ...]) -> str:
        self.model.field(parts)
        name = self.used.get(parts)
        if name is None:
            name = "v_" + "__".join(_ident(p) for p in parts)
            self.used[parts] = name
        return name

    def maybe_none(self, node: Node) -> bool:
        kind = node[0]
        if kind == "path":
            return self.model.field(node[1]).may_be_missing
        if kind == "item":
            return True
        if kind in ("arith", "neg", "call"):
            args = node[2:4] if kind == "arith" else [node[1]] if kind == "neg" else node[2]
            if kind == "arith" and node[1] in ("/", "%"):
                return True
            return any(self.maybe_none(a) for a in args)
        return False

    def expr(self, node: Node) -> str:
        kind = node[0]
        if kind == "const":
            value = node[1]
            if isinstance(value, dt.date):
                return f"_date({value.isoformat()!r})"
            return repr(tuple(value)) if isinstance(value, list) else repr(value)
        if kind == "path":
            return self.var(node[1])
        if kind == "item":
            return "item" + "".join(f".get({p!r})" for p in node[1])
        if kind == "today":
            return "TODAY"
        if kind == "fact":
            return "f_" + _ident(node[1])
        if kind == "and" or kind == "or":
            return "(" + f" {kind} ".join(self.expr(i) for i in node[1]) + ")"
        if kind == "not":
            return f"(not {self.expr(node[1])})"
        if kind == "cmp":
            return self.compare(node)
        if kind == "in":
            left, right, negated = node[1], node[2], node[3]
            op = "not in" if negated else "in"
            test = f"{self.expr(left)} {op} {self.expr(right)}"
            guards = [self.expr(n) for n in (left, right) if self.maybe_none(n)]
            return "(" + " and ".join([f"{g} is not None" for g in guards] + [test]) + ")"
        if kind == "arith":
            return self.arith(node)
        if kind == "neg":
            return f"(-{self.expr(node[1])})"
        if kind == "call":
            return self.call(node)
        if kind == "quant":
            fn = "any" if node[1] == "any" else "all"
            return f"{fn}({self.expr(node[3])} for item in ({self.expr(node[2])} or ()))"
        raise Unsupported(f"plain Python: {kind}")

    def compare(self, node: Node) -> str:
        _, op, left, right = node
        lt = type_of(left, self.model)
        rt = type_of(right, self.model)
        a, b = self.expr(left), self.expr(right)
        guards = []
        for side, code in ((left, a), (right, b)):
            if self.maybe_none(side):
                if side[0] in ("path", "item"):
                    guards.append(f"{code} is not None")
                else:
                    self.temp += 1
                    tmp = f"_t{self.temp}"
                    guards.append(f"({tmp} := {code}) is not None")
                    if code == a:
                        a = tmp
                    else:
                        b = tmp
        if "null" in (lt, rt):
            raise Unsupported("plain Python: comparison with null")
        return "(" + " and ".join([*guards, f"{a} {_PY_CMP[op]} {b}"]) + ")"

    def arith(self, node: Node) -> str:
        _, op, left, right = node
        a, b = self.expr(left), self.expr(right)
        if type_of(left, self.model) == "date" and type_of(right, self.model) == "date":
            return f"({a} - {b}).days"
        if op in ("/", "%"):
            return f"(None if {b} == 0 else {a} {op} {b})"
        return f"({a} {op} {b})"

    def call(self, node: Node) -> str:
        name, args = node[1], node[2]
        code = [self.expr(a) for a in args]
        if name == "days":
            body = f"({code[1]} - {code[0]}).days"
        elif name == "len":
            body = f"len({code[0]})"
        elif name in ("lower", "upper"):
            body = f"{code[0]}.{name}()"
        elif name == "abs":
            body = f"abs({code[0]})"
        elif name in ("min", "max"):
            body = f"{name}({', '.join(code)})"
        elif name in ("startswith", "endswith"):
            body = f"{code[0]}.{name}({code[1]})"
        elif name == "contains":
            body = f"({code[1]} in {code[0]})"
        elif name == "matches":
            body = f"(_re_search({code[1]}, {code[0]}) is not None)"
        else:
            raise Unsupported(f"plain Python: function {name}")
        missing = [c for a, c in zip(args, code, strict=True) if self.maybe_none(a)]
        if not missing:
            return body
        fallback = "False" if name in ("startswith", "endswith", "contains", "matches") else "None"
        return f"({fallback} if {' or '.join(f'{m} is None' for m in missing)} else {body})"

    # ------------------------------------------------------------ the function

    def write(self) -> str:
        m = self.model
        body: list[str] = []
        self.lines = body
        facts = m.facts()
        for name in facts:
            self.emit(1, f"f_{_ident(name)} = False")
        singles = [o for o in m.outputs.values() if o.type != "list"]
        for out in singles:
            self.emit(1, f"o_{_ident(out.name)} = _UNSET")
        for out in m.outputs.values():
            if out.type == "list":
                self.emit(1, f"o_{_ident(out.name)} = []")
        for table in m.tables:
            self.table(table)
        stops = any(r.stop for r in m.rules)
        depth = 1
        if stops:
            self.emit(1, "while True:  # left by `break` when a rule stops the decision")
            depth = 2
        for rule in m.order:
            self.rule(rule, depth)
        if stops:
            self.emit(2, "break")
        self.emit(1, "out = {}")
        for out in m.outputs.values():
            var = f"o_{_ident(out.name)}"
            if out.type == "list":
                self.emit(1, f"out[{out.name!r}] = {var}")
            elif out.default is not MISSING:
                self.emit(1, f"out[{out.name!r}] = {out.default!r} if {var} is _UNSET else {var}")
            else:
                self.emit(1, f"if {var} is not _UNSET:")
                self.emit(2, f"out[{out.name!r}] = {var}")
        self.emit(1, "return out")
        head: list[str] = ["def decide(d):", f'    """{m.name}: outputs for one input."""']
        for parts, var in self.used.items():
            head.append(f"    {var} = {self.read(parts)}")
        return "\n".join(head + body) + "\n"

    def read(self, parts: tuple[str, ...]) -> str:
        f = self.model.field(parts)
        code = "d"
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            default = f.default if last and f.default is not MISSING else None
            code = f"{code}.get({p!r}, {default!r})" if last else f"({code}.get({p!r}) or {{}})"
        if f.type == "date":
            code = f"_date_or_none({code})"
        return code

    def table(self, t: Table) -> None:
        hit = t.hit
        if hit in ("unique", "any"):
            hit = "first"  # the bench uses only inputs these tables decide without conflict
        if hit not in ("first", "collect", "rule order"):
            raise Unsupported(f"plain Python: hit policy {t.hit}")
        if t.aggregate is not None:
            self.emit(1, f"_acc_{_ident(t.id)} = []")
        keyword = "if"
        for row in t.rows:
            cond = self.expr(row_condition(t, row))
            self.emit(1, f"{keyword} {cond}:")
            if hit == "first":
                keyword = "elif"
                for name, value in row.values.items():
                    self.emit(2, f"o_{_ident(name)} = {value!r}")
            elif t.aggregate is not None:
                self.emit(2, f"_acc_{_ident(t.id)}.append({row.values[t.outputs[0]]!r})")
            else:
                for name, value in row.values.items():
                    items = value if isinstance(value, list) else [value]
                    self.emit(2, f"o_{_ident(name)}.extend({items!r})")
        if t.aggregate is not None:
            acc = f"_acc_{_ident(t.id)}"
            target = f"o_{_ident(t.outputs[0])}"
            if t.aggregate == "count":
                self.emit(1, f"{target} = len({acc})")
            else:
                self.emit(1, f"if {acc}:")
                self.emit(2, f"{target} = {t.aggregate}({acc})")

    def rule(self, rule: Rule, depth: int) -> None:
        self.emit(depth, f"if {self.expr(rule.cond)}:  # {rule.id}")
        for name, value in rule.set.items():
            var = f"o_{_ident(name)}"
            self.emit(depth + 1, f"if {var} is _UNSET:")
            self.emit(depth + 2, f"{var} = {value!r}")
        for name, items in rule.append.items():
            self.emit(depth + 1, f"o_{_ident(name)}.extend({items!r})")
        for name in rule.asserts:
            self.emit(depth + 1, f"f_{_ident(name)} = True")
        if rule.stop:
            self.emit(depth + 1, "break")
        if not (rule.set or rule.append or rule.asserts or rule.stop):
            self.emit(depth + 1, "pass")


def python_source(model: RuleModel, today: dt.date) -> str:
    """The source of ``decide(d)`` for ``model``."""
    return _Writer(model, today).write()


def _date_or_none(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def compile_plain(model: RuleModel, today: dt.date) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``decide(input) -> outputs`` for ``model``, as compiled Python."""
    import re as _re

    source = python_source(model, today)
    namespace: dict[str, Any] = {
        "_UNSET": object(),
        "TODAY": today,
        "_date": dt.date.fromisoformat,
        "_date_or_none": _date_or_none,
        "_re_search": _re.search,
    }
    # The source is generated by the bench from a rule file, never from request data.
    exec(compile(source, f"<plain {model.name}>", "exec"), namespace)  # noqa: S102
    decide: Callable[[dict[str, Any]], dict[str, Any]] = namespace["decide"]
    return decide
