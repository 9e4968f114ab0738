"""What importing a DMN model gives: the rule file (and its YAML), the inputs, where each
decision's result is; and DMN names as Casewise field names and ids."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..feel.evaluate import to_casewise
from ..filereader import RESERVED
from . import model as m


@dataclass
class Result:
    """Where a decision's result is in a Casewise decision: one field, or one per output
    column (a context, or a list of contexts under a hit policy that lists rows)."""

    fields: list[tuple[str | None, str]]  # (DMN output name or None, Casewise field)
    listing: bool = False


@dataclass
class Imported:
    """An imported model: its rule file as a document, and what reads its results back."""

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
