"""A ruleset's decision written out as one Python function and compiled, once per load; None
where Python cannot compile it (the agenda of ``pyengine.py`` then runs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..fastcheck import compile_object
from ..model import Decision
from ..schema import to_json
from .inputs import InputReads
from .rules import RuleWalks
from .tables import TableWriter
from .writer import Program

Entry = Callable[[dict[str, Any], dt.date, str | None, float], Decision | None]
_B = "        "  # the body's indent: inside make() and its two functions


@dataclass(frozen=True)
class Unrolled:
    """The generated source, and ``make(name, version)`` giving its two entry points:
    ``fast(input, today, id, started)`` (None when the input is not valid) and
    ``checked(values, today, id, started)`` for input ``schema.check_input`` accepted."""

    source: str
    make: Callable[[str, str], tuple[Entry, Entry]]


class _Gen(RuleWalks, TableWriter, InputReads):
    """The whole function: the body (stages of tables and rules, then the answer) behind
    its two entry points."""

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


def unroll(program: Program) -> Unrolled | None:
    """The ruleset's decision as one function; None when Python cannot compile the source."""
    if any(getattr(t, "computed", False) for t in program.tables):
        return None  # FEEL output entries computed per decision (feel/tables.py): PyProgram
    try:
        gen = _Gen(program, keep_dict=False)
        source = gen.source()
        if gen.w.closures:  # some condition reads the values as a dict: keep one
            gen = _Gen(program, keep_dict=True)
            source = gen.source()
        namespace = dict(gen.w.names)
        code = compile(source, "<casewise decision>", "exec")
        exec(code, namespace)  # noqa: S102 - generated from the checked IR
    except (SyntaxError, RecursionError, MemoryError):
        return None
    return Unrolled(source, namespace["make"])
