"""A stage's rules written in firing order for the one-function decision: catch-up walks after
a rule derives facts an earlier rule reads, a restarting walk where those would be too much
source, and each rule's firing."""

from __future__ import annotations

from collections.abc import Callable, Collection

from .. import ir
from .writer import Generator

# Rules copied into catch-up walks, per stage, beyond which the stage's walk starts again
# from the top instead (the source would grow with the square of the rules on facts).
CATCH_UP_LIMIT = 500


class RuleWalks(Generator):
    """Writes the walks over a stage's rules (see the package docstring)."""

    def _stage(self, here: list[int]) -> list[str]:
        """A stage's rules, walked once in firing order (see the package docstring)."""
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
