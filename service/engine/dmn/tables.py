"""A DMN decision table as a Casewise table: the hit policy and aggregation, output columns
as outputs (or values, for a decision another reads), rows as FEEL tests and output cells."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedSeq

from ..feel.evaluate import to_casewise
from ..feel.parser import FeelSyntaxError, parse_expression
from . import model as m
from .converter import SIMPLE_TYPES, ModelConverter, constant_text, is_null
from .imported import Imported, Result, ident, slug

HIT_POLICIES = {
    "UNIQUE": "unique",
    "FIRST": "first",
    "PRIORITY": "priority",
    "ANY": "any",
    "COLLECT": "collect",
    "RULE ORDER": "rule order",
    "OUTPUT ORDER": "output order",
}
LISTING = ("collect", "rule order", "output order")


class TableConverter(ModelConverter):
    """Converts the decision tables of a model."""

    def table(
        self,
        decision: m.Decision,
        table: m.Table,
        target: dict[str, Any],
        values: dict[str, Any],
        imported: Imported,
        required: set[str],
    ) -> dict[str, Any]:
        what = f"decision '{decision.name}'"
        hit = HIT_POLICIES.get(table.hit)
        if hit is None:
            raise self.fail(table.line, f"{what}: unknown hit policy {table.hit!r}")
        aggregation = table.aggregation.lower() if table.aggregation else None
        if aggregation is not None and (
            hit != "collect" or aggregation not in ("sum", "min", "max", "count")
        ):
            raise self.fail(table.line, f"{what}: aggregation {table.aggregation} needs COLLECT")
        listing = hit in LISTING and aggregation is None
        item = self.model.items.get(decision.type_ref or "")
        several = len(table.outputs) > 1
        if several and decision.name in required:
            raise self.fail(
                decision.line,
                f"{what} has {len(table.outputs)} outputs and another decision reads it; "
                "a decision with several outputs can only be an answer, not read by another",
            )
        names: list[str] = []
        result = Result([], listing)
        for n, col in enumerate(table.outputs):
            label: str | None = None
            key = self.names[decision.name]
            if several:
                label = col.name or f"output{n + 1}"
                key = self._output_key(decision, label)
            spec = self._output_spec(decision, table, col, item, what)
            enum = self.constants(col.values, col.line, f"{what}: output values")
            if enum is None and item is not None and col.name in item.components:
                comp = item.components[col.name]
                enum = self.constants(comp.allowed, comp.line, f"{what}: allowed values")
            if enum is not None:
                spec["enum"] = enum
            default = None
            if col.default is not None:
                default = constant_text(col.default)
                if default is None and not is_null(col.default):
                    raise self.fail(
                        col.line,
                        f"{what}: a default output entry must be a constant, got {col.default!r}",
                    )
            if aggregation is not None:
                spec = {"type": "number"}
            elif listing:
                spec = {"type": "list", "items": spec}
                if default is not None:
                    spec["default"] = [default]
            elif default is not None:
                spec["default"] = default
            self._check_value(target, values, spec, col.line, what)
            target[key] = spec
            names.append(key)
            result.fields.append((label, key))
        imported.results[decision.name] = result
        rows = []
        for ins, outs, line in table.rules:
            row = CommentedSeq(
                [self.tests(t, line, f"{what}, input entry") for t in ins]
                + [self._output_cell(t, line, what) for t in outs]
            )
            row.fa.set_flow_style()
            rows.append(row)
        columns = CommentedSeq(
            [self.feel(c.expression, c.line, f"{what}, input expression") for c in table.inputs]
        )
        columns.fa.set_flow_style()
        outs_seq = CommentedSeq(names)
        outs_seq.fa.set_flow_style()
        out: dict[str, Any] = {"id": slug(self.names[decision.name]), "hit": hit}
        if aggregation is not None:
            out["aggregate"] = aggregation
        out.update({"inputs": columns, "outputs": outs_seq, "rows": rows})
        return out

    def _output_key(self, decision: m.Decision, label: str) -> str:
        base = ident(label)
        if base in self.used:
            return self.claim(f"{decision.name} {label}")
        return self.claim(label)

    def _output_spec(
        self,
        decision: m.Decision,
        table: m.Table,
        col: m.OutputColumn,
        item: m.ItemType | None,
        what: str,
    ) -> dict[str, Any]:
        type_ref = col.type_ref
        if type_ref is None and item is not None:
            if col.name and col.name in item.components:
                type_ref = item.components[col.name].base
            elif not item.components:
                type_ref = item.base
        if type_ref is None and len(table.outputs) == 1 and decision.type_ref in SIMPLE_TYPES:
            type_ref = decision.type_ref
        if type_ref is None:
            raise self.fail(col.line, f"{what}: the output column has no typeRef; give it one")
        spec = self.field_spec(type_ref, col.line, f"{what}, output")
        if spec["type"] in ("object", "list"):
            raise self.fail(
                col.line,
                f"{what}: an output column of type {type_ref!r} (a "
                "structure or list) is not supported; give each part its own column",
            )
        return spec

    def _output_cell(self, text: str, line: int, what: str) -> Any:
        if text == "-" or not text.strip():
            return "null"
        rendered = self.feel(text, line, f"{what}, output entry")
        try:
            node = parse_expression(rendered)
        except FeelSyntaxError:  # pragma: no cover - rendered text always parses
            return rendered
        if node.kind == "number":
            value = to_casewise(node.args[0])
            if isinstance(value, int) or repr(value) == str(node.args[0]):
                return value
        return rendered
