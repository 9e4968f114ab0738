"""A DMN model written as a Casewise rule file in FEEL (``expressions: feel``).

Input data become typed inputs (``typeRef`` and ``allowedValues`` give types and enums),
decision tables become tables with the same hit policy and aggregation, literal expressions
become ``compute`` entries, knowledge models become ``functions``, and decisions another
decision requires become intermediate ``values`` (the engine orders them). DMN names
become field names (``Full Name`` -> ``Full_Name``) and the FEEL text is rewritten with
them. ``Imported.results`` says where each decision's result is, for the TCK runner.
"""

from __future__ import annotations

import difflib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..errors import Problem, RuleFileError
from ..feel.builtins import FUNCTIONS
from ..feel.evaluate import Scope, compile_expression, is_constant, to_casewise
from ..feel.parser import FeelSyntaxError, Node, parse_expression, parse_unary_tests
from ..feel.printer import render, render_tests
from ..filereader import NAME, RESERVED
from ..source import Source
from . import model as m
from .xmlsafe import parse_xml, read_bytes

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
SIMPLE_TYPES = {
    "number": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "datetime",
    "date and time": "datetime",
}
UNSUPPORTED_TYPES = ("time", "duration", "dayTimeDuration", "yearMonthDuration", "context")
VALUE_TYPES = ("number", "string", "boolean", "list")


@dataclass
class Result:
    """Where a decision's result is in a Casewise decision: one field, or one per output
    column (a context, or a list of contexts under a hit policy that lists rows)."""

    fields: list[tuple[str | None, str]]  # (DMN output name or None, Casewise field)
    listing: bool = False


@dataclass
class Imported:
    name: str
    model: m.Model
    doc: dict[str, Any]
    inputs: dict[str, str]  # DMN input name -> input field
    results: dict[str, Result] = field(default_factory=dict)  # decision name -> where

    def yaml(self) -> str:
        return to_yaml(self.doc)


def ident(name: str) -> str:
    """A DMN name as a Casewise field name: ``Full Name`` -> ``Full_Name``."""
    out = re.sub(r"\W+", "_", name).strip("_") or "field"
    if out[0].isdigit():
        out = "n_" + out
    return out + "_" if out in RESERVED else out


def slug(name: str) -> str:
    """A DMN name as a ruleset or table id: ``Approval Status`` -> ``approval-status``."""
    out = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return out or "decision"


def import_file(path: Path, data: bytes | None = None, name: str | None = None) -> Imported:
    """The rule file of the DMN model in ``path``; raises RuleFileError at FILE.dmn:line."""
    raw = read_bytes(path, data)
    doc = parse_xml(path, raw)
    return _Converter(path, m.read_model(doc), name).convert()


def dmn_rule_file(path: Path, data: bytes | None = None) -> tuple[Source, bytes]:
    """A ``.dmn`` file in the rules folder as the Source of its rule file, and its bytes
    (the version is the hash of the .dmn file)."""
    raw = read_bytes(path, data)
    imported = import_file(path, raw, name=path.stem)
    if not NAME.fullmatch(path.stem):
        raise RuleFileError(
            [
                Problem(
                    str(path),
                    1,
                    1,
                    f"the ruleset name comes from the file name, and {path.stem!r} is not a "
                    "ruleset name (lower case letters, digits, - and _): rename the file",
                )
            ]
        )
    return Source(str(path), imported.yaml()), raw


class _Converter:
    def __init__(self, path: Path, model: m.Model, name: str | None) -> None:
        self.path, self.model = path, model
        self.name = name or slug(model.name)
        self.used: set[str] = set()
        self.names: dict[str, str] = {}  # DMN variable name -> field name

    def fail(self, line: int, message: str) -> RuleFileError:
        return RuleFileError([Problem(str(self.path), line, 1, message)])

    def claim(self, name: str) -> str:
        base = ident(name)
        out, n = base, 2
        while out in self.used:
            out, n = f"{base}_{n}", n + 1
        self.used.add(out)
        return out

    # ------------------------------------------------------------ FEEL text

    def feel(self, text: str, line: int, what: str, rename: dict[str, str] | None = None) -> str:
        """FEEL ``text`` with DMN names replaced by field names, checked to parse."""
        names = rename if rename is not None else self.names
        try:
            node = parse_expression(text)
        except FeelSyntaxError as exc:
            raise self.fail(line, f"{what}: {exc}") from None
        self.check_names(node, names, line, what)
        return render(node, lambda n: names.get(n) or ident(n))

    def check_names(self, node: Node, names: dict[str, str], line: int, what: str) -> None:
        """Refuse, at the .dmn line, a name the model does not define."""
        if node.kind == "name" and node.args[0] not in names:
            near = difflib.get_close_matches(node.args[0], list(names), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise self.fail(line, f"{what}: unknown name '{node.args[0]}'{hint}")
        if node.kind == "call":
            callee, args = node.args
            name = callee.args[0] if callee.kind == "name" else None
            if name not in names and name not in FUNCTIONS:
                raise self.fail(line, f"{what}: unknown function {name}()")
            children: list[Any] = list(args)
        elif node.kind == "path":
            children = [node.args[0]]
        else:
            children = [a for a in node.args if isinstance(a, Node)]
            children += [x for a in node.args if isinstance(a, tuple) for x in a]
        for child in children:
            if isinstance(child, Node):
                self.check_names(child, names, line, what)

    def tests(self, text: str, line: int, what: str) -> str:
        try:
            node = parse_unary_tests(text)
        except FeelSyntaxError as exc:
            raise self.fail(line, f"{what}: {exc}") from None
        self.check_names(node, self.names, line, what)
        return render_tests(node, _Renamer(self.names))

    def constants(self, text: str | None, line: int, what: str) -> list[Any] | None:
        """The values listed by FEEL unary tests such as ``"a", "b"``; None when absent."""
        if text is None:
            return None
        try:
            node = parse_unary_tests(text)
        except FeelSyntaxError as exc:
            raise self.fail(line, f"{what}: {exc}") from None
        if node.kind != "tests" or node.args[0]:
            raise self.fail(line, f"{what}: {text!r} is not a list of values")
        out = []
        for test in node.args[1]:
            if test.kind != "equal_test" or not is_constant(test.args[0]):
                raise self.fail(
                    line,
                    f"{what}: {text!r} is not a list of values; Casewise reads allowed "
                    "values as a list of constants",
                )
            out.append(_constant(test.args[0]))
        return out

    # ------------------------------------------------------------ types

    def field_spec(self, type_ref: str | None, line: int, what: str) -> dict[str, Any]:
        if type_ref is None:
            raise self.fail(line, f"{what} has no typeRef; give it one (number, string, ...)")
        if type_ref in SIMPLE_TYPES:
            return {"type": SIMPLE_TYPES[type_ref]}
        if type_ref in UNSUPPORTED_TYPES:
            raise self.fail(line, f"{what}: FEEL type {type_ref!r} is not supported")
        item = self.model.items.get(type_ref)
        if item is None:
            raise self.fail(line, f"{what}: unknown typeRef {type_ref!r}")
        return self.item_spec(item, what)

    def item_spec(self, item: m.ItemType, what: str) -> dict[str, Any]:
        if item.components:
            spec: dict[str, Any] = {
                "type": "object",
                "fields": {
                    ident(k): self.item_spec(v, f"{what}.{k}") for k, v in item.components.items()
                },
            }
        else:
            spec = dict(self.field_spec(item.base, item.line, what))
            enum = self.constants(item.allowed, item.line, f"{what}: allowed values")
            if enum is not None:
                spec["enum"] = enum
        if item.collection:
            return {"type": "list", "items": spec}
        return spec

    # ------------------------------------------------------------ the model

    def convert(self) -> Imported:
        model = self.model
        doc: dict[str, Any] = {
            "ruleset": self.name,
            "description": model.description
            or f"Imported from {self.path.name} (DMN {model.version}, model '{model.name}').",
            "expressions": "feel",
        }
        imported = Imported(self.name, model, doc, {})
        inputs: dict[str, Any] = {}
        for data in model.inputs:
            key = self.claim(data.name)
            self.names[data.name] = key
            imported.inputs[data.name] = key
            inputs[key] = self.field_spec(data.type_ref, data.line, f"input '{data.name}'")
        doc["input"] = inputs
        required = {model.ids.get(r, r) for d in model.decisions for r in d.requires}
        for decision in model.decisions:
            self.names[decision.name] = self.claim(decision.name)
        functions: dict[str, Any] = {}
        for bkm in model.knowledge:
            key = self.claim(bkm.name)
            self.names[bkm.name] = key
        for bkm in model.knowledge:
            params = {p: ident(p) for p in bkm.parameters}
            functions[self.names[bkm.name]] = {
                "parameters": list(params.values()),
                "body": self.feel(
                    bkm.body, bkm.line, f"knowledge model '{bkm.name}'", {**self.names, **params}
                ),
            }
        values: dict[str, Any] = {}
        outputs: dict[str, Any] = {}
        compute: dict[str, str] = {}
        tables: list[Any] = []
        for decision in model.decisions:
            target = values if decision.name in required else outputs
            what = f"decision '{decision.name}'"
            key = self.names[decision.name]
            if decision.literal is not None:
                spec = self.field_spec(decision.type_ref, decision.line, what)
                self._check_value(target, values, spec, decision.line, what)
                target[key] = spec
                compute[key] = self.feel(decision.literal, decision.line, what)
                imported.results[decision.name] = Result([(None, key)])
            else:
                assert decision.table is not None
                tables.append(
                    self.table(decision, decision.table, target, values, imported, required)
                )
        if values:
            doc["values"] = values
        doc["output"] = outputs
        if functions:
            doc["functions"] = functions
        if compute:
            doc["compute"] = compute
        if tables:
            doc["tables"] = tables
        return imported

    def _check_value(
        self,
        target: dict[str, Any],
        values: dict[str, Any],
        spec: dict[str, Any],
        line: int,
        what: str,
    ) -> None:
        if target is values and spec["type"] not in VALUE_TYPES:
            raise self.fail(
                line,
                f"{what} is read by another decision and is a {spec['type']}; a decision "
                f"another reads must be one of {', '.join(VALUE_TYPES)}",
            )

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
                default = _constant_text(col.default)
                if default is None and not _is_null(col.default):
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


class _Renamer(dict[str, str]):
    """Names to field names: a known DMN name, or the field name it would get."""

    def __missing__(self, key: str) -> str:
        return ident(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


def _constant(node: Node) -> Any:
    return to_casewise(compile_expression(node, Scope()).fn({}))


def _constant_text(text: str) -> Any:
    try:
        node = parse_expression(text)
    except FeelSyntaxError:
        return None
    return _constant(node) if is_constant(node) else None


def _is_null(text: str) -> bool:
    return text.strip() == "null"


def to_yaml(doc: dict[str, Any]) -> str:
    """The rule file as YAML: field options and rows on one line each."""
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(_styled(doc, 0), out)
    return out.getvalue()


def _styled(value: Any, depth: int) -> Any:
    if isinstance(value, CommentedSeq):
        return value
    if isinstance(value, dict):
        cm = CommentedMap((k, _styled(v, depth + 1)) for k, v in value.items())
        if (
            "type" in value
            and all(not isinstance(v, dict) or "fields" not in v for v in value.values())
            and "fields" not in value
        ):
            cm.fa.set_flow_style()
        return cm
    if isinstance(value, list):
        seq = CommentedSeq(_styled(v, depth + 1) for v in value)
        if all(not isinstance(v, dict | list) for v in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, Decimal):
        return to_casewise(value)
    return value
