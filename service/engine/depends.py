"""The order in which tables and rules run when some read values that others set.

A *unit* is a rule or a table. A unit that reads an intermediate value runs after every
unit that sets it; a rule that reads a fact runs no earlier than the rules that assert
it (facts chain within a stage, as they always have). So each unit gets a *stage*: the
longest chain of value reads behind it, where reading a value counts one and reading a
fact counts nothing. Units that feed no value (directly or through facts) run in the
last stage, so the rules that decide the answer keep their priorities among each other.
A ruleset without intermediate values has one stage, and runs exactly as before.
A loop that passes through a value read has no such order: it is reported as a cycle,
naming the units and values around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Unit:
    label: str  # "rule 'x'" or "table 'y'"
    line: int
    col: int
    reads_values: frozenset[str] = frozenset()
    writes_values: frozenset[str] = frozenset()
    reads_facts: frozenset[str] = frozenset()
    asserts: frozenset[str] = frozenset()


@dataclass
class Cycle(Exception):
    """Units that read, through a value, what they themselves decide."""

    chain: list[tuple[Unit, str]] = field(default_factory=list)  # (reader, what it reads)

    def describe(self) -> str:
        """`rule 'a' reads 'x', set by table 'b' (line 9), which reads 'y', set by rule 'a'`."""
        parts = []
        for k, (unit, what) in enumerate(self.chain):
            setter = self.chain[(k + 1) % len(self.chain)][0]
            where = f"{setter.label} (line {setter.line})"
            parts.append(f"{unit.label if k == 0 else 'which'} reads {what}, set by {where}")
        return ", ".join(parts)


def stages(units: Sequence[Unit]) -> list[int]:
    """Each unit's stage (0 first); raises Cycle when values depend on themselves."""
    n = len(units)
    # edges writer -> reader, with weight 1 for a value and 0 for a fact
    edges: list[list[tuple[int, int, str]]] = [[] for _ in range(n)]
    writers: dict[str, list[int]] = {}
    asserters: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        for v in u.writes_values:
            writers.setdefault(v, []).append(i)
        for f in u.asserts:
            asserters.setdefault(f, []).append(i)
    for j, u in enumerate(units):
        for v in sorted(u.reads_values):
            for i in writers.get(v, ()):
                edges[i].append((j, 1, f"'{v}'"))
        for f in sorted(u.reads_facts):
            for i in asserters.get(f, ()):
                edges[i].append((j, 0, f'fact("{f}")'))
    component = _components(n, edges)
    for i in range(n):
        for j, weight, what in edges[i]:
            if weight and component[i] == component[j]:
                raise Cycle(_chain(units, edges, component, i, j, what))
    stage = _settle(n, edges)
    # What feeds no value runs in the last stage, with every value decided: there the
    # rules keep their priorities among each other, as in a ruleset without values.
    feeds = {i for i, u in enumerate(units) if u.writes_values}
    grew = True
    while grew:
        grew = False
        for i in range(n):
            if i not in feeds and any(j in feeds for j, _, _ in edges[i]):
                feeds.add(i)
                grew = True
    last = max(stage, default=0)
    return [s if i in feeds else last for i, s in enumerate(stage)]


def _settle(n: int, edges: list[list[tuple[int, int, str]]]) -> list[int]:
    # relax edges until no stage grows: at most n rounds, as there is no value cycle
    stage = [0] * n
    for _ in range(n + 1):
        changed = False
        for i in range(n):
            for j, weight, _ in edges[i]:
                if stage[i] + weight > stage[j]:
                    stage[j] = stage[i] + weight
                    changed = True
        if not changed:
            break
    return stage


def _components(n: int, edges: list[list[tuple[int, int, str]]]) -> list[int]:
    """Strongly connected components (Tarjan, iterative)."""
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    comp = [-1] * n
    counter = 0
    ncomp = 0
    for root in range(n):
        if index[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            v, k = work.pop()
            if k == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack[v] = True
            if k < len(edges[v]):
                work.append((v, k + 1))
                w = edges[v][k][0]
                if index[w] == -1:
                    work.append((w, 0))
                elif on_stack[w]:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp[w] = ncomp
                    if w == v:
                        break
                ncomp += 1
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return comp


def _chain(
    units: Sequence[Unit],
    edges: list[list[tuple[int, int, str]]],
    component: list[int],
    writer: int,
    reader: int,
    what: str,
) -> list[tuple[Unit, str]]:
    """The loop through the value edge writer -> reader, as (reader, what it reads) steps."""
    # breadth-first from reader back round to writer, inside the component
    came: dict[int, tuple[int, str]] = {}
    frontier = [reader]
    seen = {reader}
    while frontier and writer not in seen:
        nxt = []
        for v in frontier:
            for w, _, label in edges[v]:
                if component[w] == component[writer] and w not in seen:
                    seen.add(w)
                    came[w] = (v, label)
                    nxt.append(w)
        frontier = nxt
    steps = [(units[reader], what)]
    path: list[tuple[Unit, str]] = []
    node = writer
    while node != reader and node in came:
        prev, label = came[node]
        path.append((units[node], label))
        node = prev
    return steps + list(reversed(path))
