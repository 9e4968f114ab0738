"""A DMN model written as a Casewise rule file in FEEL (``expressions: feel``).

Input data become typed inputs (``typeRef`` and ``allowedValues`` give types and enums),
decision tables become tables with the same hit policy and aggregation, literal expressions
become ``compute`` entries, knowledge models become ``functions``, and decisions another
decision requires become intermediate ``values`` (the engine orders them). DMN names
become field names (``Full Name`` -> ``Full_Name``) and the FEEL text is rewritten with
them. ``Imported.results`` says where each decision's result is, for the TCK runner.

This module converts the model as a whole; ``converter.py`` holds the names, FEEL text and
types, ``tables.py`` the decision tables, ``imported.py`` what an import gives and its YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Problem, RuleFileError
from ..filereader import NAME
from ..source import Source
from . import model as m
from .imported import Imported, Result, ident
from .tables import TableConverter
from .xmlsafe import parse_xml, read_bytes


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


class _Converter(TableConverter):
    """Converts a whole model: inputs, knowledge models, then each decision."""

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
