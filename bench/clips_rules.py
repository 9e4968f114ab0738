"""The decisions of a rule file as CLIPS deftemplates and defrules (run through clipspy).

CLIPS is a forward-chaining engine like Casewise, so rules translate one to one: the
salience of each rule encodes Casewise's agenda order (priority, then file order),
derived facts are ``(derived (name ...))`` facts that other rules join on, ``stop`` is
``(halt)``, and "the first rule to set an output wins" is a check in ``set-out``.
Decision-table rows are rules with a salience above every rule, so tables are matched
first, as in Casewise.

One decision: ``(reset)``, assert the input (``assert-input``, which also applies the
schema's defaults and turns ISO dates into day numbers), ``(run)``, then read the
outputs back with ``read-outputs``. (Asserting through clipspy's ``Template.assert_fact``
leaks retracted facts across resets in clipspy 1.0 and slows every later reset, so the
input is asserted by a deffunction instead.)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from .model import (
    METHODS,
    MISSING,
    Field,
    Node,
    RuleModel,
    Table,
    Unsupported,
    row_condition,
    type_of,
    walk,
)

_UNIX_ORDINAL = dt.date(1970, 1, 1).toordinal()
_TABLE_SALIENCE = 9000
_RULE_SALIENCE = 5000
_CMP_NUM = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "<>"}

_PRELUDE = [
    "(deftemplate derived (slot name))",
    "(deftemplate out (slot name) (slot value))",
    "(deftemplate add (slot name) (slot seq) (slot value))",
    "(deftemplate hit (slot table))",
    "(defglobal ?*seq* = 0)",
    """(deffunction set-out (?n ?v)
  (if (not (any-factp ((?o out)) (eq ?o:name ?n))) then (assert (out (name ?n) (value ?v)))))""",
    """(deffunction add-out (?n ?v ?base)
  (bind ?*seq* (+ ?*seq* 1))
  (assert (add (name ?n) (seq (+ ?base ?*seq*)) (value ?v))))""",
    # days since 1970-01-01 of an ISO date "YYYY-MM-DD" (Howard Hinnant's days_from_civil)
    """(deffunction iso-day (?s)
  (bind ?y (string-to-field (sub-string 1 4 ?s)))
  (bind ?m (string-to-field (sub-string 6 7 ?s)))
  (bind ?d (string-to-field (sub-string 9 10 ?s)))
  (if (<= ?m 2) then (bind ?y (- ?y 1)))
  (bind ?era (div ?y 400))
  (bind ?yoe (- ?y (* ?era 400)))
  (bind ?mp (if (> ?m 2) then (- ?m 3) else (+ ?m 9)))
  (bind ?doy (+ (div (+ (* 153 ?mp) 2) 5) (- ?d 1)))
  (bind ?doe (+ (* ?yoe 365) (div ?yoe 4) (- 0 (div ?yoe 100)) ?doy))
  (+ (* ?era 146097) ?doe -719468))""",
]


def _ident(text: str) -> str:
    return re.sub(r"\W", "_", text)


def _slot(f: Field) -> str:
    return "__".join(_ident(p) for p in f.path)


def _str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "nil"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return str(value.toordinal() - _UNIX_ORDINAL)
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, list):
        return "(create$ " + " ".join(_lit(v) for v in value) + ")"
    raise Unsupported(f"CLIPS: constant {value!r}")


class _Expr:
    """Bench IR -> a CLIPS function call expression (for a test CE)."""

    def __init__(self, model: RuleModel, today: dt.date) -> None:
        self.model = model
        self.today = today
        self.used: dict[str, Field] = {}

    def var(self, f: Field) -> str:
        self.used[_slot(f)] = f
        return ("$?" if f.type == "list" else "?") + "v_" + _slot(f)

    def guards(self, node: Node) -> list[str]:
        out = []
        for n in walk(node):
            if n[0] == "path":
                f = self.model.field(n[1])
                if f.may_be_missing and f.type != "list":
                    g = f"(neq {self.var(f)} nil)"
                    if g not in out:
                        out.append(g)
        return out

    def guarded(self, node: Node, code: str) -> str:
        guards = self.guards(node)
        return f"(and {' '.join(guards)} {code})" if guards else code

    def __call__(self, node: Node) -> str:
        kind = node[0]
        if kind == "const":
            return _lit(node[1])
        if kind == "path":
            return self.var(self.model.field(node[1]))
        if kind == "today":
            return _lit(self.today)
        if kind in ("and", "or"):
            return f"({kind} " + " ".join(self(i) for i in node[1]) + ")"
        if kind == "not":
            return f"(not {self(node[1])})"
        if kind == "cmp":
            return self.guarded(node, self.compare(*node[1:]))
        if kind == "in":
            _, left, right, negated = node
            code = f"(member$ {self(left)} {self(right)})"
            return self.guarded(node, f"(not {code})" if negated else code)
        if kind == "arith":
            _, op, left, right = node
            fn = {"+": "+", "-": "-", "*": "*", "/": "/", "%": "mod"}[op]
            return f"({fn} {self(left)} {self(right)})"
        if kind == "neg":
            return f"(- 0 {self(node[1])})"
        if kind == "call":
            code = self.call(node[1], node[2])
            # numbers from a call are guarded by the comparison that reads them
            return self.guarded(node, code) if node[1] in METHODS else code
        if kind == "fact":
            raise Unsupported("CLIPS: fact() other than as a plain condition joined by and")
        raise Unsupported(f"CLIPS: {kind}")

    def compare(self, op: str, left: Node, right: Node) -> str:
        types = {type_of(left, self.model), type_of(right, self.model)}
        a, b = self(left), self(right)
        if types & {"number", "date"}:
            return f"({_CMP_NUM[op]} {a} {b})"
        if op in ("==", "!="):
            return f"({'eq' if op == '==' else 'neq'} {a} {b})"
        return f"({op} (str-compare {a} {b}) 0)"

    def call(self, name: str, args: list[Node]) -> str:
        code = [self(a) for a in args]
        if name == "days":
            return f"(- {code[1]} {code[0]})"
        if name == "len":
            kind = type_of(args[0], self.model)
            return f"({'length$' if kind == 'list' else 'str-length'} {code[0]})"
        if name in ("lower", "upper"):
            return f"({'lowcase' if name == 'lower' else 'upcase'} {code[0]})"
        if name in ("abs", "min", "max"):
            return f"({name} {' '.join(code)})"
        if name == "startswith":
            return f"(eq (str-index {code[1]} {code[0]}) 1)"
        if name == "contains":
            return f"(neq (str-index {code[1]} {code[0]}) FALSE)"
        if name == "endswith":
            s, x = code
            return (
                f"(and (>= (str-length {s}) (str-length {x})) (eq (sub-string "
                f"(- (+ (str-length {s}) 1) (str-length {x})) (str-length {s}) {s}) {x}))"
            )
        raise Unsupported(f"CLIPS: function {name}")


def _split_facts(cond: Node) -> tuple[list[str], list[str], list[Node]]:
    """Facts that must exist, facts that must not, and the input-only conjuncts."""
    conjuncts = cond[1] if cond[0] == "and" else [cond]
    present, absent, rest = [], [], []
    for c in conjuncts:
        if c[0] == "fact":
            present.append(c[1])
        elif c[0] == "not" and c[1][0] == "fact":
            absent.append(c[1][1])
        else:
            rest.append(c)
    return present, absent, rest


class _Program:
    def __init__(self, model: RuleModel, today: dt.date) -> None:
        self.model = model
        self.today = today
        self.expr = _Expr(model, today)
        self.constructs: list[str] = []
        self.aggregates: list[Table] = []

    def lhs(self, extra: list[str], test: str | None) -> str:
        slots = " ".join(
            f"({slot} {('$?' if f.type == 'list' else '?')}v_{slot})"
            for slot, f in self.expr.used.items()
        )
        parts = [f"(input {slots})" if slots else "(input)", *extra]
        if test is not None:
            parts.append(f"(test {test})")
        return "\n  ".join(parts)

    def rule(self, name: str, salience: int, cond: Node, extra: list[str], rhs: list[str]) -> None:
        self.expr.used = {}
        test = self.expr(cond) if cond != ("const", True) else None
        lhs = self.lhs(extra, test)
        self.constructs.append(
            f"(defrule {name} (declare (salience {salience}))\n  {lhs}\n  =>\n  "
            + "\n  ".join(rhs)
            + ")"
        )

    def build(self) -> list[str]:
        m = self.model
        row_salience = _TABLE_SALIENCE
        for table in m.tables:
            row_salience = self.table(table, row_salience)
        ranked = sorted(m.rules, key=lambda r: (-r.priority, r.index))
        for position, rule in enumerate(ranked):
            present, absent, rest = _split_facts(rule.cond)
            extra = [f"(derived (name {_str(n)}))" for n in present]
            extra += [f"(not (derived (name {_str(n)})))" for n in absent]
            cond: Node = ("const", True)
            if rest:
                cond = rest[0] if len(rest) == 1 else ("and", rest)
            rhs = [f"(set-out {_str(k)} {_lit(v)})" for k, v in rule.set.items()]
            rhs += [
                f"(add-out {_str(k)} {_lit(item)} 0)"
                for k, items in rule.append.items()
                for item in items
            ]
            rhs += [f"(assert (derived (name {_str(n)})))" for n in rule.asserts]
            if rule.stop:
                rhs.append("(halt)")
            self.rule(f"rule-{_ident(rule.id)}", _RULE_SALIENCE - position, cond, extra, rhs)
        template = self.input_template()
        return [*_PRELUDE, template, *self.assert_input(), *self.constructs, self.reader()]

    def table(self, t: Table, salience: int) -> int:
        hit = t.hit
        if hit in ("unique", "any"):
            hit = "first"  # the bench uses only inputs these tables decide without conflict
        if hit not in ("first", "collect"):
            raise Unsupported(f"CLIPS: hit policy {t.hit}")
        tid = _str(t.id)
        if t.aggregate is not None:
            self.aggregates.append(t)
            self.constructs.append(
                f"(defglobal ?*acc_{_ident(t.id)}* = nil ?*n_{_ident(t.id)}* = 0)"
            )
        for row in t.rows:
            cond = row_condition(t, row)
            extra: list[str] = []
            rhs: list[str] = []
            if hit == "first":
                extra.append(f"(not (hit (table {tid})))")
                rhs.append(f"(assert (hit (table {tid})))")
                rhs += [f"(set-out {_str(k)} {_lit(v)})" for k, v in row.values.items()]
            elif t.aggregate is not None:
                acc, n = f"?*acc_{_ident(t.id)}*", f"?*n_{_ident(t.id)}*"
                value = _lit(row.values[t.outputs[0]])
                update = {
                    "sum": f"(+ {acc} {value})",
                    "min": f"(min {acc} {value})",
                    "max": f"(max {acc} {value})",
                    "count": f"(+ {acc} 1)",
                }[t.aggregate]
                first = "1" if t.aggregate == "count" else value
                rhs.append(f"(bind {acc} (if (eq {acc} nil) then {first} else {update}))")
                rhs.append(f"(bind {n} (+ {n} 1))")
            else:
                for k, v in row.values.items():
                    items = v if isinstance(v, list) else [v]
                    rhs += [f"(add-out {_str(k)} {_lit(i)} 1000000)" for i in items]
            self.rule(f"table-{_ident(t.id)}-{row.number}", salience, cond, extra, rhs)
            salience -= 1
        return salience

    def leaves(self) -> list[Field]:
        return [f for f in self.model.fields.values() if f.type != "object"]

    def input_template(self) -> str:
        slots = []
        for f in self.leaves():
            kind = "multislot" if f.type == "list" else "slot"
            slots.append(f"({kind} {_slot(f)})")
        return f"(deftemplate input {' '.join(slots)})"

    def assert_input(self) -> list[str]:
        params = " ".join(f"?{_slot(f)}" for f in self.leaves())
        body = []
        for f in self.leaves():
            v = f"?{_slot(f)}"
            if f.default is not MISSING and f.type != "list":
                body.append(f"(if (eq {v} nil) then (bind {v} {_lit(f.default)}))")
            if f.type == "date":
                body.append(f"(if (neq {v} nil) then (bind {v} (iso-day {v})))")
        slots = " ".join(f"({_slot(f)} ?{_slot(f)})" for f in self.leaves())
        body.append(f"(assert (input {slots}))")
        body.append("TRUE")
        return [f"(deffunction assert-input ({params})\n  " + "\n  ".join(body) + ")"]

    def reader(self) -> str:
        parts = [
            "(do-for-all-facts ((?o out)) TRUE (bind ?r (create$ ?r S ?o:name ?o:value)))",
            "(do-for-all-facts ((?o add)) TRUE (bind ?r (create$ ?r A ?o:name ?o:seq ?o:value)))",
        ]
        for t in self.aggregates:
            name = _str(t.outputs[0])
            parts.append(
                f"(if (> ?*n_{_ident(t.id)}* 0) then "
                f"(bind ?r (create$ ?r S {name} ?*acc_{_ident(t.id)}*)))"
            )
            if t.aggregate == "count":
                parts.append(
                    f"(if (= ?*n_{_ident(t.id)}* 0) then (bind ?r (create$ ?r S {name} 0)))"
                )
        return (
            "(deffunction read-outputs () (bind ?r (create$))\n  " + "\n  ".join(parts) + "\n  ?r)"
        )


def clips_constructs(model: RuleModel, today: dt.date) -> list[str]:
    """The CLIPS constructs for ``model``, in the order they are built."""
    return _Program(model, today).build()


def _to_python(value: Any) -> Any:
    if isinstance(value, str) and type(value) is not str:  # a CLIPS symbol
        return {"TRUE": True, "FALSE": False, "nil": None}.get(value, str(value))
    return value


def clips_decider(model: RuleModel, today: dt.date) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``decide(input) -> outputs`` evaluated by CLIPS: reset, assert, run, read."""
    import clips

    env = clips.Environment()
    program = _Program(model, today)
    for construct in program.build():
        env.build(construct)
    leaves = program.leaves()
    readers = [_getter(f) for f in leaves]
    outputs = model.outputs
    defaults = {
        name: o.default
        for name, o in outputs.items()
        if o.default is not MISSING and o.type != "list"
    }
    lists = [name for name, o in outputs.items() if o.type == "list"]
    reset, run, call = env.reset, env.run, env.call

    def decide(data: dict[str, Any]) -> dict[str, Any]:
        reset()
        call("assert-input", *[read(data) for read in readers])
        run()
        flat = call("read-outputs")
        out: dict[str, Any] = dict(defaults)
        added: list[tuple[int, str, Any]] = []
        i = 0
        while i < len(flat):
            if flat[i] == "S":
                out[flat[i + 1]] = _to_python(flat[i + 2])
                i += 3
            else:
                added.append((flat[i + 2], flat[i + 1], _to_python(flat[i + 3])))
                i += 4
        for name in lists:
            out[name] = []
        for _, name, value in sorted(added):
            out[name].append(value)
        return out

    return decide


def _getter(f: Field) -> Callable[[dict[str, Any]], Any]:
    path = f.path
    if f.type == "list":

        def read_list(data: dict[str, Any]) -> Any:
            value: Any = data
            for p in path:
                value = value.get(p) if isinstance(value, dict) else None
            return list(value or [])

        return read_list
    if len(path) == 1:
        key = path[0]
        return lambda data: data.get(key)

    def read(data: dict[str, Any]) -> Any:
        value: Any = data
        for p in path:
            value = value.get(p) if isinstance(value, dict) else None
        return value

    return read
