"""A ruleset's whole decision written out as one generated Python function, once per load.

This is the compiled engine's fast path; ``PyProgram`` (pyengine.py) runs the same meaning
as an agenda over generated pieces, and is what runs when this source cannot be compiled.
The function takes the JSON-shaped input and gives the ``Decision``:

- the input is checked inline (``checkgen.py``) into locals; a valid input never becomes
  a dict (unless a condition needs a closure, which reads one);
- each stage's rules are written in firing order (priority, then file order), each tested
  once when its turn comes. After a rule derives a fact that a rule *earlier* in the order
  reads, a catch-up walk tests the earlier rules on facts (the input-only ones are settled)
  before the walk goes on: the next rule to fire is always the first in order whose
  condition holds now, and each fires at most once (a flag per rule on facts). Where the
  catch-ups would make too much source, the stage's walk starts again from the top
  instead, with its input-only conditions tested once up front. Conditions have no
  effects, so the agenda's order of *testing* them is not kept, only its firings;
- ``stop`` leaves the walk (and the later stages' rules); the chain limit is a counter,
  written only when the ruleset has more rules than ``max_firings``;
- tables of hit policy first, collect and rule order are written row by row; the others,
  and tables that set intermediate values, apply ``Table.resolve`` to the rows that match;
- outputs, intermediate values and "set keeps the first value" are locals and flags until
  the outputs are assembled in schema order.

The source is built from the validated IR only (``codegen._Writer``: names are generated,
text constants written with ``repr``, everything else passed by reference).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from . import ir
from .checkgen import check_lines
from .codegen import _json_read, _Writer
from .errors import DecisionError
from .fastcheck import _Invalid, compile_object
from .model import Decision, FiredRule, Rule, new_id
from .schema import FieldSpec, to_json
from .tables import Row, Table

Parts = tuple[str, ...]
Entry = Callable[[dict[str, Any], dt.date, str | None, float], Decision | None]
_SCALARS = frozenset((str, int, float, bool, type(None)))
_B = "        "  # the body's indent: inside make() and its two functions
# Rules copied into catch-up walks, per stage, beyond which the stage's walk starts again
# from the top instead (the source would grow with the square of the rules on facts).
CATCH_UP_LIMIT = 500


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


@dataclass(frozen=True)
class Unrolled:
    """The generated source, and ``make(name, version)`` giving its two entry points:
    ``fast(input, today, id, started)`` (None when the input is not valid) and
    ``checked(values, today, id, started)`` for input ``schema.check_input`` accepted."""

    source: str
    make: Callable[[str, str], tuple[Entry, Entry]]


class _W(_Writer):
    """The expression writer, with fields read from locals set up front."""

    def __init__(self, values: dict[str, FieldSpec], present: frozenset[Parts]) -> None:
        super().__init__()
        self.inputs: dict[Parts, str] = {}  # input paths the body reads -> their locals
        self.present_paths = present  # input paths that valid input always has
        self.present: set[str] = set()  # their locals: never None
        self.vals = {name: f"x{i}" for i, name in enumerate(values)}
        self.section: list[str] = []  # reads to run where the current part begins
        self.closures = False

    def bind(self, value: Any) -> str:
        name = f"_k{next(self.counter)}"
        self.names[name] = value
        return name

    def path(self, node: ir.Path) -> str:
        if node.scope == "value":
            return self.value_path(node.parts)
        return self.input(node.parts)

    def input(self, parts: Parts) -> str:
        name = self.inputs.get(parts)
        if name is None:
            name = self.inputs[parts] = f"i{len(self.inputs)}"
            if parts in self.present_paths:
                self.present.add(name)
        return name

    def never_none(self, node: ir.Node, code: str) -> bool:
        return code in self.present or super().never_none(node, code)

    def call(self, node: ir.Call) -> str:
        args = node.args
        if node.name == "days" and len(args) == 2 and all(a.type == ir.DATE for a in args):
            # two dates (never date-times): the days between them, as apply_function gives
            a, b = self.temp(), self.temp()
            return (
                f"(({b} - {a}).days if (type({a} := {self.expr(args[0])}) is _date) "
                f"& (type({b} := {self.expr(args[1])}) is _date) "  # both evaluated: & not and
                f"else _call('days', None, {a}, {b}))"
            )
        return super().call(node)

    def value_path(self, parts: Parts) -> str:
        if len(parts) == 1:
            return self.vals[parts[0]]
        key = ("value", parts)
        if key not in self.reads:
            parent = self.value_path(parts[:-1])
            name = f"_v{next(self.counter)}"
            self.section.append(
                f"{name} = {parent}.get({parts[-1]!r}) if isinstance({parent}, dict) else None"
            )
            self.reads[key] = name
        return self.reads[key]

    def closure(self, node: ir.Node) -> str:
        self.closures = True
        return super().closure(node)


class _Gen:
    def __init__(
        self,
        rules: Sequence[Rule],
        tables: Sequence[Table],
        outputs: dict[str, FieldSpec],
        values: dict[str, FieldSpec],
        max_firings: int,
        rule_stages: Sequence[int],
        table_stages: Sequence[int],
        inputs: dict[str, FieldSpec],
        keep_dict: bool,
    ) -> None:
        self.rules, self.tables = rules, tables
        self.outputs, self.values, self.inputs = outputs, values, inputs
        self.max_firings = max_firings
        self.rule_stages = list(rule_stages) or [0] * len(rules)
        self.table_stages = list(table_stages) or [0] * len(tables)
        self.keep_dict = keep_dict  # closures read the values as a dict `d`: keep it current
        self.w = _W(values, _present(inputs))
        self.w.names.update(
            _U=_UNSET,
            _F=FiredRule,
            _T=tuple.__new__,
            _D=Decision,
            _ids=new_id,
            _pc=time.perf_counter,
            _scalar=_SCALARS,
            _json=to_json,
            _limit=_chain_limit,
            _Invalid=_Invalid,
            _date=dt.date,
        )
        self.outs = {k: f"o{i}" for i, k in enumerate(outputs)}
        self.plain = _plain_paths({**inputs, **values})
        self.limited = len(rules) > max_firings
        self.stops = any(r.stop for r in rules)
        self.n_stages = 1 + max([*self.rule_stages, *self.table_stages, 0])
        self.early = [any(o in values for o in t.outputs) for t in tables]

    # ------------------------------------------------------------ the body

    def body(self) -> list[str]:
        lines = ["fs = {}", "fired = []"]
        if self.limited:
            lines.append("n = 0")
        if self.stops and self.n_stages > 1:
            lines.append("stopped = False")
        for key in self.outputs:
            lines.append(f"{self.outs[key]} = _U")
        if self.keep_dict and self.values:
            lines.append("d = {**d}")
        for key, spec in self.values.items():
            x = self.w.vals[key]
            if spec.has_default:
                value = spec.default
                code = f"list({self.w.const(tuple(value))})" if isinstance(value, list) else None
                lines.append(f"{x} = {code or self.w.const(value)}")
            elif spec.type == "list":
                lines.append(f"{x} = []")
            else:
                lines.append(f"{x} = None")
                continue
            if self.keep_dict:
                lines.append(f"d[{key!r}] = {x}")
        for key in self._set_values():
            lines.append(f"s{self.w.vals[key][1:]} = False")
        if self.tables:
            lines.append("tf = []")
        order = sorted(range(len(self.rules)), key=lambda i: (-self.rules[i].priority, i))
        stopped_before = False
        for s in range(self.n_stages):
            self.w.section = []
            head = []
            for ti, table in enumerate(self.tables):
                if self.early[ti] and self.table_stages[ti] == s:
                    head += self._early_table(ti, table)
            here = [i for i in order if self.rule_stages[i] == s]
            walk = self._stage(here) if here else []
            lines += self.w.section + head
            if walk and stopped_before:
                lines.append("if not stopped:")
                lines += ["    " + line for line in walk]
            else:
                lines += walk
            stopped_before = stopped_before or any(self.rules[i].stop for i in here)
        self.w.section = []
        end: list[str] = []
        for ti, table in enumerate(self.tables):
            end += self._end_table(ti, table)
        lines += self.w.section + end
        lines += self._finish()
        return lines

    def _set_values(self) -> list[str]:
        return [k for k in self.values if any(k in r.set for r in self.rules)]

    # ------------------------------------------------------------ rules

    def _stage(self, here: list[int]) -> list[str]:
        """A stage's rules, walked once in firing order (see the module docstring)."""
        rules = self.rules
        pos = {i: p for p, i in enumerate(here)}
        dynamic = [i for i in here if ir.has_fact(rules[i].condition)]
        readers: dict[str, list[int]] = {}
        for i in dynamic:
            for node in ir.walk(rules[i].condition):
                if isinstance(node, ir.Fact):
                    readers.setdefault(node.name, []).append(i)

        def earlier(i: int, among: Collection[int]) -> list[str]:
            """The facts ``i`` derives that a rule of ``among`` before it reads."""
            return [
                f
                for f in rules[i].asserts
                if any(pos[r] < pos[i] and r in among for r in readers.get(f, ()))
            ]

        again = {i: earlier(i, dynamic) for i in here}
        catching = [i for i in here if again[i]]
        size = sum(sum(pos[r] < pos[i] for r in dynamic) for i in catching)
        conds = {i: self.w.cond(rules[i].condition) for i in here}
        if size > CATCH_UP_LIMIT:
            return self._restarting(here, dynamic, again, conds)
        stops = any(rules[i].stop for i in here)
        lines: list[str] = []
        if catching:
            lines += [f"f{i} = False" for i in dynamic]
            if any(rules[i].stop for i in dynamic):
                lines.append("halt = False")
        body: list[str] = []
        for i in here:
            if catching and i in dynamic:
                body += [f"if not f{i} and {conds[i]}:", f"    f{i} = True"]
            else:
                body.append(f"if {conds[i]}:")
            on_new = []
            if again[i]:
                before = [r for r in dynamic if pos[r] < pos[i]]
                on_new = self._catch_up(i, before, conds, earlier)
            body += ["    " + line for line in self._fire(i, again[i], self._stop(), on_new)]
        if stops:
            lines.append("while True:  # left by `break` when a rule stops the decision")
            lines += ["    " + line for line in body]
            lines.append("    break")
        else:
            lines += body
        return lines

    def _stop(self) -> list[str]:
        return ["stopped = True", "break"] if self.n_stages > 1 else ["break"]

    def _catch_up(
        self,
        i: int,
        before: list[int],
        conds: dict[int, str],
        earlier: Callable[[int, Collection[int]], list[str]],
    ) -> list[str]:
        """After ``i`` derived facts that rules before it read: those rules (the ones on
        facts; the others are settled) in firing order, again from the first while one that
        fires derives facts an earlier one reads; then the walk goes on after ``i``."""
        lines = ["while True:"]
        for p in before:
            lines += [f"    if not f{p} and {conds[p]}:", f"        f{p} = True"]
            fire = self._fire(p, earlier(p, before), ["halt = True", "break"], ["continue"])
            lines += ["        " + line for line in fire]
        lines.append("    break")
        if any(self.rules[p].stop for p in before):
            lines += ["if halt:", *["    " + line for line in self._stop()]]
        return lines

    def _restarting(
        self,
        here: list[int],
        dynamic: list[int],
        again: dict[int, list[str]],
        conds: dict[int, str],
    ) -> list[str]:
        """The walk for a stage whose catch-ups would be too much source: input-only
        conditions tested up front, and the whole walk again from the top after a rule
        derives facts that an earlier rule reads."""
        lines = [f"c{i} = {conds[i]}" for i in here if i not in dynamic]
        lines += [f"f{i} = False" for i in dynamic]
        lines.append("while True:")
        for i in here:
            if i in dynamic:
                lines += [f"    if not f{i} and {conds[i]}:", f"        f{i} = True"]
            else:
                lines += [f"    if c{i}:", f"        c{i} = False"]
            fire = self._fire(i, again[i], self._stop(), ["continue"])
            lines += ["        " + line for line in fire]
        lines.append("    break")
        return lines

    def _fire(self, i: int, again: list[str], on_stop: list[str], on_new: list[str]) -> list[str]:
        """Rule ``i``'s firing; ``on_stop`` when it stops, ``on_new`` when it derived one of
        the facts ``again``."""
        rule, w = self.rules[i], self.w
        lines = []
        if self.limited:
            lines += [f"if n >= {self.max_firings}:", "    raise _limit(_NAME, _LIMIT, fired)"]
            lines.append("n += 1")
        reads = ", ".join(self._read(p) for p in rule.paths)
        lines.append(f"fired.append(_T(_F, ({rule.id!r}, {{{reads}}})))")
        sets = [(k, v) for k, v in rule.set.items() if k not in self.values]
        appends = [(k, v) for k, v in rule.append.items() if k not in self.values]
        for key, value in sets:
            o = self.outs[key]
            lines += [f"if {o} is _U:", f"    {o} = {self._copy(value)}"]
        for key, items in appends:
            lines += self._append(self.outs[key], items)
        for key, value in rule.set.items():
            if key in self.values:
                x = w.vals[key]
                lines += [
                    f"if not s{x[1:]}:",
                    f"    s{x[1:]} = True",
                    f"    {x} = {self._copy(value)}",
                ]
                if self.keep_dict:
                    lines.append(f"    d[{key!r}] = {x}")
        for key, items in rule.append.items():
            if key in self.values:  # a list value: present from the start
                lines.append(f"{w.vals[key]}.extend({w.const(tuple(items))})")
        if again and not rule.stop:
            lines.append("new = False")
        for fact in rule.asserts:
            lines += [f"if {fact!r} not in fs:", f"    fs[{fact!r}] = None"]
            if fact in again and not rule.stop:
                lines.append("    new = True")
        if rule.stop:
            lines += on_stop
        elif again:
            lines += ["if new:", *["    " + line for line in on_new]]
        return lines

    def _copy(self, value: Any) -> str:
        if isinstance(value, list):
            return f"list({self.w.const(tuple(value))})"
        return self.w.const(value)

    def _append(self, o: str, items: Sequence[Any]) -> list[str]:
        k = self.w.const(tuple(items))
        return [f"if {o} is _U:", f"    {o} = list({k})", "else:", f"    {o}.extend({k})"]

    def _read(self, dotted: str) -> str:
        if dotted in self.values:
            local = self.w.vals[dotted]
        else:
            local = self.w.input(tuple(dotted.split(".")))
        return _json_read(dotted, local, self.plain)

    # ------------------------------------------------------------ tables

    def _reads(self, table: Table) -> str:
        return "{" + ", ".join(self._read(p) for p in (*table.input_paths, *table.reads)) + "}"

    def _matches(self, ti: int, table: Table) -> list[str]:
        """Lines leaving the indexes of the rows that match in ``m<ti>``."""
        lines = [f"m{ti} = []"]
        keyword = "if"
        for k, row in enumerate(table.rows):
            if _always(row):
                lines.append(f"{'else:' if keyword == 'elif' else 'if True:'}")
                lines.append(f"    m{ti}.append({k})")
                if table.hit == "first":
                    break
                continue
            lines += [f"{keyword} {self.w.cond(row.condition)}:", f"    m{ti}.append({k})"]
            if table.hit == "first":
                keyword = "elif"
        lines.append(f"r{ti} = {self.w.bind(table.resolve)}(m{ti})")
        return lines

    def _early_table(self, ti: int, table: Table) -> list[str]:
        """A table that sets values: resolved in its stage, its values applied there."""
        lines = self._matches(ti, table)
        for key in table.outputs:
            if key not in self.values:
                continue
            x = self.w.vals[key]
            lines += [f"if {key!r} in r{ti}[1]:", f"    {x} = r{ti}[1][{key!r}]"]
            if self.keep_dict:
                lines.append(f"    d[{key!r}] = {x}")
            lines += [f"if {key!r} in r{ti}[2]:", f"    {x}.extend(r{ti}[2][{key!r}])"]
        return lines

    def _end_table(self, ti: int, table: Table) -> list[str]:
        """A table's outputs and the rows it fired, in table order after the rules."""
        if not self.early[ti]:
            if table.hit == "first" and table.aggregate is None:
                return self._first(ti, table)
            if table.hit in ("collect", "rule order"):
                return self._listing(ti, table)
            lines = self._matches(ti, table)
        else:
            lines = []
        labels = self.w.bind(tuple(f"{table.id}#{r.number}" for r in table.rows))
        lines += [
            f"for row in r{ti}[0]:",
            f"    tf.append(_T(_F, ({labels}[row.number - 1], {self._reads(table)})))",
        ]
        for key in table.outputs:
            if key in self.values:
                continue
            o = self.outs[key]
            lines += [f"if {key!r} in r{ti}[1]:", f"    {o} = r{ti}[1][{key!r}]"]
            lines += [f"if {key!r} in r{ti}[2]:", f"    if {o} is _U:", f"        {o} = []"]
            lines.append(f"    {o}.extend(r{ti}[2][{key!r}])")
        return lines

    def _hit(self, table: Table, row: Row) -> str:
        return f"tf.append(_T(_F, ({f'{table.id}#{row.number}'!r}, {self._reads(table)})))"

    def _first(self, ti: int, table: Table) -> list[str]:
        lines: list[str] = []
        keyword = "if"
        for k, row in enumerate(table.rows):
            last = _always(row)
            if last:
                lines.append("else:" if keyword == "elif" else "if True:")
            else:
                lines.append(f"{keyword} {self.w.cond(row.condition)}:")
            lines.append("    " + self._hit(table, row))
            _, sets, appends = table.resolve([k])
            for key, value in sets.items():
                lines.append(f"    {self.outs[key]} = {self.w.const(value)}")
            for key, items in appends.items():
                lines += ["    " + line for line in self._append(self.outs[key], items)]
            keyword = "elif"
            if last:
                break
        return lines

    def _listing(self, ti: int, table: Table) -> list[str]:
        aggregate = table.aggregate
        lines: list[str] = []
        if aggregate == "count":
            lines.append(f"a{ti} = 0")
        elif aggregate is not None:
            lines.append(f"a{ti} = []")
        for row in table.rows:
            lines.append("if True:" if _always(row) else f"if {self.w.cond(row.condition)}:")
            lines.append("    " + self._hit(table, row))
            if aggregate == "count":
                lines.append(f"    a{ti} += 1")
            elif aggregate is not None:
                value = row.values.get(table.outputs[0])
                lines.append(
                    f"    a{ti}.append({self.w.const(value)})" if value is not None else "    pass"
                )
            else:
                for key, value in row.values.items():
                    items = value if isinstance(value, list) else [value]
                    lines += ["    " + line for line in self._append(self.outs[key], items)]
        if aggregate is not None:
            o = self.outs[table.outputs[0]]
            if aggregate == "count":
                lines.append(f"{o} = a{ti}")
            else:
                lines += [f"if a{ti}:", f"    {o} = {aggregate}(a{ti})"]
        return lines

    # ------------------------------------------------------------ the answer

    def _finish(self) -> list[str]:
        lines = ["out = {}"]
        for key, spec in self.outputs.items():
            o = self.outs[key]
            if spec.has_default:
                default = self.w.const(to_json(spec.default))
                lines.append(f"out[{key!r}] = {default} if {o} is _U else {o}")
            elif spec.type == "list":
                lines.append(f"out[{key!r}] = [] if {o} is _U else {o}")
            else:
                lines += [f"if {o} is not _U:", f"    out[{key!r}] = {o}"]
        lines.append("dv = {}")
        for key in self.values:
            x = self.w.vals[key]
            lines += [
                f"if {x} is not None:",
                f"    dv[{key!r}] = {x} if type({x}) in _scalar else _json({x})",
            ]
        if self.tables:
            lines.append("tf += fired")
        everything = "tf" if self.tables else "fired"
        # the duration in ms to 3 decimals (half up: round() costs more than the rest of it)
        lines.append(
            f"return _D(did or next(_ids.stream), _NAME, _VERSION, out, {everything}, list(fs), "
            "int((_pc() - started) * 1e6 + 0.5) / 1000, dv)"
        )
        return lines

    # ------------------------------------------------------------ the entry points

    def source(self) -> str:
        body = self.body()
        checked = self._read_values("d")
        if self.keep_dict:
            check = ["try:", f"    d = {self.w.bind(compile_object(self.inputs))}(data)"]
            check += ["except _Invalid:", "    return None", *checked]
        else:
            check = self._check()
        parts = ["def make(_NAME, _VERSION):", f"    _LIMIT = {self.max_firings}"]
        parts.append("    def fast(data, t, did, started):")
        parts += [_B + line for line in check + body]
        parts.append("    def checked(d, t, did, started):")
        parts += [_B + line for line in checked + body]
        parts.append("    return fast, checked")
        return "\n".join(parts) + "\n"

    def _read_values(self, src: str) -> list[str]:
        """Lines reading each input path the body uses from the checked values dict."""
        lines: list[str] = []
        named: dict[Parts, str] = {}

        def local(parts: Parts) -> str:
            if parts in named:
                return named[parts]
            name = self.w.inputs.get(parts) or f"p{len(named)}"
            if len(parts) == 1:
                lines.append(f"{name} = {src}.get({parts[0]!r})")
            else:
                parent = local(parts[:-1])
                lines.append(
                    f"{name} = {parent}.get({parts[-1]!r}) if isinstance({parent}, dict) else None"
                )
            named[parts] = name
            return name

        for parts in list(self.w.inputs):
            local(parts)
        return lines

    def _check(self) -> list[str]:
        """The input checked into locals; the paths below a field checked whole read from it."""
        requested = dict(self.w.inputs)
        wanted: dict[Parts, str] = {}
        derived: list[Parts] = []
        unknown = [name for parts, name in requested.items() if parts[0] not in self.inputs]
        for parts in requested:
            if parts[0] not in self.inputs:
                continue
            stop = _declared_prefix(self.inputs, parts, requested)
            top = parts[:stop]
            wanted[top] = requested.get(top) or wanted.get(top) or f"q{len(wanted)}"
            if stop < len(parts):
                derived.append(parts)
        lines = ["try:"]
        lines += ["    " + line for line in check_lines(self.inputs, wanted, self.w, "")]
        lines += ["except _Invalid:", "    return None"]
        lines += [f"{name} = None" for name in unknown]  # not in the schema: never present
        named = dict(wanted)
        for parts in sorted(derived, key=len):
            for k in range(len(parts) - 1, 0, -1):
                if parts[:k] in named:
                    break
            for j in range(k + 1, len(parts) + 1):
                if parts[:j] in named:
                    continue
                parent = named[parts[: j - 1]]
                name = requested.get(parts[:j]) or f"q{len(named)}"
                lines.append(
                    f"{name} = {parent}.get({parts[j - 1]!r}) if isinstance({parent}, dict) "
                    "else None"
                )
                named[parts[:j]] = name
        return lines


def _declared_prefix(schema: dict[str, FieldSpec], parts: Parts, requested: Any) -> int:
    """How many of ``parts`` the inline check gives a local: down to a scalar field, or to
    the first field it checks whole (an object read whole, with a default or no fields)."""
    fields = schema
    for k, part in enumerate(parts):
        spec = fields.get(part)
        if spec is None:
            return max(k, 1)  # below an object checked whole
        if k == len(parts) - 1:
            return k + 1
        inline = (
            spec.type == "object"
            and spec.fields
            and not spec.has_default
            and spec.enum is None
            and spec.minimum is None
            and spec.maximum is None
            and spec.pattern is None
            and parts[: k + 1] not in requested
        )
        if not inline:
            return k + 1
        if parts[k + 1] not in spec.fields:
            return k + 1  # an undeclared field: read from the object checked whole
        fields = spec.fields
    return len(parts)


def _present(schema: dict[str, FieldSpec], prefix: Parts = ()) -> frozenset[Parts]:
    """Input paths that every valid input has (required, or with a default that is not
    null), whose parents all have them too."""
    out: set[Parts] = set()
    for name, spec in schema.items():
        if not (spec.required or (spec.has_default and spec.default is not None)):
            continue
        parts = (*prefix, name)
        out.add(parts)
        if spec.type == "object" and spec.fields and not spec.has_default:
            out |= _present(spec.fields, parts)
    return frozenset(out)


def _always(row: Row) -> bool:
    return isinstance(row.condition, ir.Const) and row.condition.value is True


def _plain_paths(schema: dict[str, FieldSpec], prefix: str = "") -> frozenset[str]:
    """Dotted paths whose values are JSON as they are: numbers, strings and booleans."""
    out: set[str] = set()
    for name, spec in schema.items():
        if spec.type in ("number", "integer", "string", "boolean"):
            out.add(prefix + name)
        elif spec.type == "object" and spec.fields:
            out |= _plain_paths(spec.fields, f"{prefix}{name}.")
    return frozenset(out)


def _chain_limit(name: str, limit: int, fired: list[FiredRule]) -> DecisionError:
    return DecisionError(
        "chain-limit",
        f"ruleset '{name}' fired more than {limit} rules in one decision; look for rules "
        "that keep deriving facts for each other, or raise limits.max_firings",
        [{"fired": [f.rule for f in fired[-10:]]}],
    )


_UNSET = _Unset()


def unroll(
    rules: Sequence[Rule],
    tables: Sequence[Table],
    outputs: dict[str, FieldSpec],
    values: dict[str, FieldSpec],
    max_firings: int,
    rule_stages: Sequence[int],
    table_stages: Sequence[int],
    inputs: dict[str, FieldSpec],
) -> Unrolled | None:
    """The ruleset's decision as one function; None when Python cannot compile the source."""
    args = (rules, tables, outputs, values, max_firings, rule_stages, table_stages, inputs)
    if any(getattr(t, "computed", False) for t in tables):
        return None  # FEEL output entries computed per decision (feel/tables.py): PyProgram
    try:
        gen = _Gen(*args, keep_dict=False)
        source = gen.source()
        if gen.w.closures:  # some condition reads the values as a dict: keep one
            gen = _Gen(*args, keep_dict=True)
            source = gen.source()
        namespace = dict(gen.w.names)
        code = compile(source, "<casewise decision>", "exec")
        exec(code, namespace)  # noqa: S102 - generated from the checked IR
    except (SyntaxError, RecursionError, MemoryError):
        return None
    return Unrolled(source, namespace["make"])
