"""Playbooks: rule files that turn a case's facts into recommended next actions.

A playbook (``knowledge/playbooks/<case-type>.yaml``) is a rule file with ``playbook:``
instead of ``ruleset:``. Its input is its ``facts`` — named, read-only Cypher queries whose
values the recommender fetches from the case graph — and its rules may ``recommend`` an
action from the catalogue (``knowledge/actions.yaml``). ``recommend`` is an append to the
implicit list output ``recommendations``; everything else is the rule language as is.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from .schema import FieldSpec
from .source import Pos, Source, check_keys, key_pos, node_pos, suggest, value_pos

FACT_KEYS = ("type", "description", "query")
FACT_TYPES = ("number", "integer", "string", "boolean", "list", "date", "datetime")
RECOMMEND_KEYS = ("action", "weight", "rationale", "evidence")
RECOMMENDATIONS = "recommendations"
CATALOGUE = "actions.yaml"


@dataclass(frozen=True)
class FactQuery:
    """One named fact of a playbook: the Cypher that gives its value for a case."""

    name: str
    type: str
    description: str
    query: str
    line: int  # where the query starts in the playbook file

    def describe(self) -> dict[str, Any]:
        return {"type": self.type, "description": self.description, "query": self.query}


def read_facts(
    src: Source, node: Any, pos: Pos
) -> tuple[dict[str, FieldSpec], dict[str, FactQuery]]:
    """The input schema a playbook's facts make, and the fact queries themselves."""
    inputs: dict[str, FieldSpec] = {}
    facts: dict[str, FactQuery] = {}
    if not isinstance(node, dict) or not node:
        src.error(pos, "a playbook needs 'facts': named queries that give the case's facts")
        return inputs, facts
    for name, spec in node.items():
        fpos = key_pos(node, name, pos)
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            src.error(fpos, f"fact name {name!r} must be an identifier such as unverified_evidence")
            continue
        if not isinstance(spec, dict):
            src.error(fpos, f"fact '{name}' must be a mapping with type, description and query")
            continue
        spos = node_pos(spec, fpos)
        check_keys(src, spec, FACT_KEYS, f"fact '{name}'", spos)
        ftype = spec.get("type")
        if ftype not in FACT_TYPES:
            src.error(
                value_pos(spec, "type", spos),
                f"fact '{name}' has type {ftype!r}; use one of: {', '.join(FACT_TYPES)}",
            )
            continue
        query = spec.get("query")
        if not isinstance(query, str) or "$case_id" not in query:
            src.error(
                value_pos(spec, "query", spos),
                f"fact '{name}' needs a 'query': read-only Cypher using $case_id that returns "
                "a row with a 'value' column",
            )
            continue
        description = str(spec.get("description", ""))
        qline = value_pos(spec, "query", spos).line
        if not query.startswith(" ") and "\n" in query:
            qline += 1  # a block scalar starts on the next line
        inputs[name] = FieldSpec(name=name, type=ftype, description=description)
        facts[name] = FactQuery(name, ftype, description, query, qline)
    return inputs, facts


def read_recommend(
    src: Source,
    node: Any,
    pos: Pos,
    facts: dict[str, FactQuery],
    actions: set[str] | None,
    rule: str,
) -> list[dict[str, Any]] | None:
    """The recommendation items of a rule's ``then.recommend`` (one mapping or a list)."""
    items = node if isinstance(node, list) else [node]
    out: list[dict[str, Any]] = []
    ok = True
    for i, item in enumerate(items):
        ipos = value_pos(node, i, pos) if isinstance(node, list) else pos
        if not isinstance(item, dict):
            src.error(ipos, "'recommend' takes {action, weight, rationale, evidence}")
            ok = False
            continue
        ipos = node_pos(item, ipos)
        check_keys(src, item, RECOMMEND_KEYS, "'recommend'", ipos)
        action = item.get("action")
        if not isinstance(action, str):
            src.error(ipos, "'recommend' needs the 'action' to recommend (an id in actions.yaml)")
            ok = False
        elif actions is not None and action not in actions:
            src.error(
                value_pos(item, "action", ipos),
                f"unknown action '{action}'{suggest(action, actions)}; add it to "
                f"knowledge/{CATALOGUE} or use one of: {', '.join(sorted(actions))}",
            )
            ok = False
        weight = item.get("weight", 0.5)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            src.error(
                value_pos(item, "weight", ipos),
                f"'weight' must be a number from 0 to 1, got {weight!r}",
            )
            ok = False
        rationale = item.get("rationale")
        if not isinstance(rationale, str) or not rationale.strip():
            src.error(
                value_pos(item, "rationale", ipos) if "rationale" in item else ipos,
                "'recommend' needs a 'rationale': the reason shown to the expert, with {fact} "
                "placeholders",
            )
            ok = False
        else:
            try:
                names = [f for _, f, _, _ in string.Formatter().parse(rationale) if f]
            except ValueError as exc:
                src.error(value_pos(item, "rationale", ipos), f"bad rationale template: {exc}")
                ok = False
                names = []
            for field in names:
                if field not in facts:
                    src.error(
                        value_pos(item, "rationale", ipos),
                        f"rationale placeholder {{{field}}} is not a fact"
                        f"{suggest(field, facts)} (facts: {', '.join(facts)})",
                    )
                    ok = False
        evidence = item.get("evidence", [])
        evidence = evidence if isinstance(evidence, list) else [evidence]
        for fact in evidence:
            if fact not in facts:
                src.error(
                    value_pos(item, "evidence", ipos),
                    f"evidence {fact!r} is not a fact{suggest(str(fact), facts)}; list the facts "
                    "whose query backs this recommendation",
                )
                ok = False
        out.append(
            {
                "action": action,
                "weight": weight,
                "rationale": rationale,
                "evidence": [str(f) for f in evidence],
                "rule": rule,
            }
        )
    return out if ok else None


def catalogue_ids(playbook: Path) -> set[str] | None:
    """Action ids of the catalogue beside the playbooks folder (knowledge/actions.yaml)."""
    path = playbook.resolve().parent.parent / CATALOGUE
    if not path.is_file():
        return None
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except YAMLError:
        return None  # the catalogue's own loader reports its mistakes
    actions = doc.get("actions") if isinstance(doc, dict) else None
    if not isinstance(actions, list):
        return None
    return {str(a["id"]) for a in actions if isinstance(a, dict) and "id" in a}
