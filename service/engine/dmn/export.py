"""A rule file written as DMN 1.5 XML that imports back to the same decisions.

What exports: inputs (objects, lists and enums become item definitions), tables (one
decision each, with the same hit policy, aggregation, enums and defaults), ``compute``
entries (literal expressions), ``functions`` (business knowledge models) and values
(decisions that later decisions require). Rules (``when``/``then``) are not DMN, and a
table cell that is not FEEL cannot be written: each is refused at its place in the file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ..errors import Problem, RuleFileError
from ..feel.parser import FeelSyntaxError, parse_expression, parse_unary_tests
from ..feel.tables import Computed
from ..loader import load_ruleset
from ..model import Ruleset
from ..schema import FieldSpec
from ..tables import Table

NS = "https://www.omg.org/spec/DMN/20230324/MODEL/"
TYPES = {
    "number": "number",
    "integer": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
}


def export_file(path: Path) -> str:
    """The DMN XML of the rule file at ``path``; raises RuleFileError for what DMN cannot say."""
    ruleset = load_ruleset(path)
    doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    return _Exporter(path, ruleset, doc).xml()


def feel_literal(value: Any) -> str:
    """A constant written as FEEL."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
        return text if "e" not in text else format(value, "f")
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return '"' + str(value) + '"'


class _Exporter:
    def __init__(self, path: Path, rs: Ruleset, doc: Any) -> None:
        self.path, self.rs, self.doc = path, rs, doc
        self.feel = doc.get("expressions") == "feel"
        self.root = ET.Element(
            f"{{{NS}}}definitions",
            {"id": f"_{rs.name}", "name": rs.name, "namespace": f"urn:casewise:{rs.name}"},
        )
        self.items: dict[str, ET.Element] = {}
        self.producer: dict[str, str] = {}  # value name -> id of the decision deciding it
        self.compute = set(doc.get("compute") or ())

    def fail(self, line: int, message: str) -> RuleFileError:
        return RuleFileError([Problem(str(self.path), line, 1, message)])

    def sub(
        self,
        parent: ET.Element,
        tag: str,
        attrs: Mapping[str, str] | None = None,
        text: str | None = None,
    ) -> ET.Element:
        elem = ET.SubElement(parent, f"{{{NS}}}{tag}", dict(attrs or {}))
        if text is not None:
            ET.SubElement(elem, f"{{{NS}}}text").text = text
        return elem

    def xml(self) -> str:
        if self.rs.rules:
            rule = self.rs.rules[0]
            raise self.fail(
                rule.line,
                f"rule '{rule.id}': DMN has no rules (when/then); export-dmn writes tables, "
                "compute, values and functions only",
            )
        description = self.rs.description
        if description:
            ET.SubElement(self.root, f"{{{NS}}}description").text = description
        for name, spec in self.rs.inputs.items():
            type_ref = self.type_ref(name, spec)
            data = self.sub(self.root, "inputData", {"id": f"i_{name}", "name": name})
            self.sub(data, "variable", {"name": name, "typeRef": type_ref})
        for table in self.rs.tables:
            for out in table.outputs:
                if out in self.rs.values:
                    self.producer[out] = f"d_{table.id}"
        for table in self.rs.tables:
            self.decision(table)
        for name, fnode in (self.doc.get("functions") or {}).items():
            bkm = self.sub(self.root, "businessKnowledgeModel", {"id": f"b_{name}", "name": name})
            self.sub(bkm, "variable", {"name": name})
            logic = self.sub(bkm, "encapsulatedLogic")
            for p in fnode.get("parameters", []):
                self.sub(logic, "formalParameter", {"name": str(p)})
            self.sub(logic, "literalExpression", None, str(fnode.get("body")))
        at = 1 if description else 0  # description, then item definitions, as DMN orders them
        for item in reversed(list(self.items.values())):
            self.root.remove(item)
            self.root.insert(at, item)
        ET.register_namespace("", NS)
        ET.indent(self.root)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(self.root, encoding="unicode")
            + "\n"
        )

    # ------------------------------------------------------------ types

    def type_ref(self, name: str, spec: FieldSpec) -> str:
        if spec.type in TYPES and spec.enum is None:
            return TYPES[spec.type]
        type_name = f"t{name[:1].upper()}{name[1:]}"
        if type_name not in self.items:
            self.items[type_name] = self.item(type_name, spec)
        return type_name

    def item(
        self,
        name: str,
        spec: FieldSpec,
        tag: str = "itemDefinition",
        parent: ET.Element | None = None,
    ) -> ET.Element:
        attrs = {"name": name}
        if spec.type == "list":
            attrs["isCollection"] = "true"
        elem = self.sub(self.root, tag, attrs) if parent is None else self.sub(parent, tag, attrs)
        inner = spec.items if spec.type == "list" and spec.items is not None else spec
        if inner.type == "object":
            for field, fspec in inner.fields.items():
                self.item(field, fspec, "itemComponent", elem)
        elif inner.type == "list":
            raise self.fail(1, f"'{name}': a list of lists has no DMN type Casewise writes")
        else:
            ET.SubElement(elem, f"{{{NS}}}typeRef").text = TYPES.get(inner.type, "string")
            if inner.enum is not None:
                allowed = ET.SubElement(elem, f"{{{NS}}}allowedValues")
                ET.SubElement(allowed, f"{{{NS}}}text").text = ", ".join(
                    feel_literal(v) for v in inner.enum
                )
        return elem

    # ------------------------------------------------------------ decisions

    def decision(self, table: Table) -> None:
        computed = not table.inputs and table.outputs[0] in self.compute
        name = table.outputs[0] if len(table.outputs) == 1 else table.id
        dec = self.sub(self.root, "decision", {"id": f"d_{table.id}", "name": name})
        specs = [self.rs.outputs.get(o) or self.rs.values[o] for o in table.outputs]
        if len(table.outputs) == 1:
            type_ref = self.type_ref(name, specs[0])
        else:
            type_ref = self.structure(table, specs)
        self.sub(dec, "variable", {"name": name, "typeRef": type_ref})
        reads = [p.split(".")[0] for p in table.input_paths]
        for field in dict.fromkeys(reads):
            req = self.sub(dec, "informationRequirement")
            self.sub(req, "requiredInput", {"href": f"#i_{field}"})
        for value in table.reads:
            req = self.sub(dec, "informationRequirement")
            self.sub(req, "requiredDecision", {"href": f"#{self.producer[value]}"})
        texts = [
            *table.inputs,
            *(
                str(v.text)
                for r in table.rows
                for v in r.values.values()
                if isinstance(v, Computed)
            ),
        ]
        for fname in self.doc.get("functions") or {}:
            if any(re.search(rf"\b{re.escape(fname)}\s*\(", t) for t in texts):
                req = self.sub(dec, "knowledgeRequirement")
                self.sub(req, "requiredKnowledge", {"href": f"#b_{fname}"})
        if computed:
            value = table.rows[0].values[table.outputs[0]]
            text = value.text if isinstance(value, Computed) else feel_literal(value)
            self.sub(dec, "literalExpression", None, text)
            return
        self.table(dec, table, specs)

    def structure(self, table: Table, specs: list[FieldSpec]) -> str:
        name = f"t{table.id.replace('-', '_')}"
        listing = all(s.type == "list" for s in specs)
        elem = self.sub(
            self.root,
            "itemDefinition",
            {"name": name, **({"isCollection": "true"} if listing else {})},
        )
        self.items[name] = elem
        for out, spec in zip(table.outputs, specs, strict=True):
            inner = spec.items if spec.type == "list" and spec.items is not None else spec
            comp = self.sub(elem, "itemComponent", {"name": out})
            ET.SubElement(comp, f"{{{NS}}}typeRef").text = TYPES.get(inner.type, "string")
        return name

    def table(self, dec: ET.Element, table: Table, specs: list[FieldSpec]) -> None:
        attrs = {"id": f"dt_{table.id}", "hitPolicy": table.hit.upper()}
        if table.aggregate:
            attrs["aggregation"] = table.aggregate.upper()
        dt_elem = self.sub(dec, "decisionTable", attrs)
        line = self.table_line(table)
        for text in table.inputs:
            self.check(text, line, f"table '{table.id}', input {text!r}", tests=False)
            col = self.sub(dt_elem, "input", {"label": text})
            self.sub(col, "inputExpression", None, text)
        for out, spec in zip(table.outputs, specs, strict=True):
            inner = spec.items if spec.type == "list" and spec.items is not None else spec
            attrs = {"name": out, "typeRef": TYPES.get(inner.type, "string")}
            col = self.sub(dt_elem, "output", attrs)
            if inner.enum is not None:
                self.sub(col, "outputValues", None, ", ".join(feel_literal(v) for v in inner.enum))
            if spec.has_default:
                default = (
                    spec.default[0]
                    if isinstance(spec.default, list) and spec.default
                    else spec.default
                )
                if not isinstance(default, list):
                    self.sub(col, "defaultOutputEntry", None, feel_literal(default))
        for row in table.rows:
            rule = self.sub(dt_elem, "rule")
            for cell in row.cells:
                self.check(
                    cell, line, f"table '{table.id}', row {row.number}, cell {cell!r}", tests=True
                )
                self.sub(rule, "inputEntry", None, cell)
            for out in table.outputs:
                value = row.values.get(out)
                if isinstance(value, Computed):
                    text = value.text
                elif isinstance(value, list):
                    if len(value) != 1:
                        raise self.fail(
                            line,
                            f"table '{table.id}', row {row.number}: output "
                            f"'{out}' lists {len(value)} values; DMN gives one",
                        )
                    text = feel_literal(value[0])
                else:
                    text = feel_literal(value)
                self.sub(rule, "outputEntry", None, text)

    def table_line(self, table: Table) -> int:
        for node in self.doc.get("tables") or []:
            if isinstance(node, dict) and node.get("id") == table.id:
                return int(getattr(node, "lc").line) + 1  # noqa: B009 - ruamel's position
        return 1

    def check(self, text: str, line: int, what: str, *, tests: bool) -> None:
        if self.feel:
            return
        try:
            parse_unary_tests(text) if tests else parse_expression(text)
        except FeelSyntaxError as exc:
            raise self.fail(
                line,
                f"{what} is not FEEL ({exc}); rewrite it in FEEL, or the file with "
                "'expressions: feel', to export it",
            ) from None
