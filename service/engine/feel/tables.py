"""Decision tables whose output entries are FEEL expressions computed for each decision.

A ``FeelTable`` is a ``tables.Table`` (so hit policies, aggregation, explanations and the
order of values are the engine's own); only the rows that the hit policy may use get their
computed entries (``Computed``) evaluated, on the decision's data, before the policy runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..tables import Row, Table


@dataclass(frozen=True)
class Computed:
    """An output entry computed per decision: ``fn(data)`` gives the engine's value."""

    fn: Callable[[Any], Any] = field(compare=False)
    text: str
    as_list: bool = False  # a list output: the value is one item of it

    def value(self, data: Any) -> Any:
        result = self.fn(data)
        return [result] if self.as_list else result


@dataclass(frozen=True)
class FeelTable(Table):
    """A table with ``Computed`` output entries in some rows."""

    computed: bool = False  # any row has a computed entry

    def resolve(
        self, matched: list[int], data: Any = None, today: Any = None
    ) -> tuple[list[Row], dict[str, Any], dict[str, list[Any]]]:
        if not self.computed or not matched:
            return super().resolve(matched)
        rows = list(self.rows)
        for i in matched:
            row = rows[i]
            if any(isinstance(v, Computed) for v in row.values.values()):
                values = {
                    k: (v.value(data) if isinstance(v, Computed) else v)
                    for k, v in row.values.items()
                }
                rows[i] = replace(row, values=values)
        return Table.resolve(replace(self, rows=tuple(rows)), matched)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        for row in out["rows"]:
            row["values"] = {
                k: (v.text if isinstance(v, Computed) else v) for k, v in row["values"].items()
            }
        return out
