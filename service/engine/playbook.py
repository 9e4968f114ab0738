"""Playbooks: rule files that turn a case's facts into recommended next actions.

A playbook (``knowledge/playbooks/<case-type>.yaml``) is a rule file with ``playbook:``
instead of ``ruleset:``. Its input is its ``facts`` — named, read-only Cypher queries whose
values the recommender fetches from the case graph — and its rules may ``recommend`` an
action from the catalogue (``knowledge/actions.yaml``). ``recommend`` is an append to the
implicit list output ``recommendations``; everything else is the rule language as is.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from .catalogue import CATALOGUE
from .schema import FieldSpec
from .source import Pos, Source, check_keys, key_pos, node_pos, suggest, text_start, value_pos

FACT_KEYS = ("type", "description", "query")
FACT_TYPES = ("number", "integer", "string", "boolean", "list", "date", "datetime")
RECOMMEND_KEYS = ("action", "weight", "rationale", "evidence")
RECOMMENDATIONS = "recommendations"


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
        qpos = value_pos(spec, "query", spos)
        # A refused query refuses the file; the fact is still declared, so its uses are no
        # mistakes of their own.
        for offset, message in fact_query_problems(query):
            src.error(_at(text_start(src, query, qpos), query, offset), f"fact '{name}': {message}")
        qline = qpos.line
        if not query.startswith(" ") and "\n" in query:
            qline += 1  # a block scalar starts on the next line
        inputs[name] = FieldSpec(name=name, type=ftype, description=description)
        facts[name] = FactQuery(name, ftype, description, query, qline)
    return inputs, facts


# A first, readable check of a fact query's text, before Neo4j plans it. The real guard is the
# plan whitelist of service/recommend/sandbox.py; this names the construct where it is written.
# An unclosed literal or comment runs to the end, so the text is read once, left to right.
_LITERALS = re.compile(
    r"`[^`]*(?:`|\Z)|'(?:[^'\\]|\\.)*(?:'|\Z)|\"(?:[^\"\\]|\\.)*(?:\"|\Z)|//[^\n]*"
    r"|/\*.*?(?:\*/|\Z)",
    re.S,
)
# Each pattern's group 'w' is the construct: where it is, and its name in the message.
_REFUSED_TEXT = (
    (r"\b(?P<w>LOAD\s+CSV)\b", "LOAD CSV is not allowed in a fact query"),
    (
        r"\b(?P<w>USING\s+PERIODIC\s+COMMIT)\b",
        "USING PERIODIC COMMIT is not allowed in a fact query",
    ),
    (
        r"\b(?P<w>IN\s+(?:\d+\s+)?(?:CONCURRENT\s+)?TRANSACTIONS)\b",
        "CALL { } IN TRANSACTIONS is not allowed in a fact query",
    ),
    (
        r"\b(?P<w>CALL)\s+(?![{(\s])",
        "CALL of a procedure is not allowed in a fact query (a CALL { } subquery is)",
    ),
    (
        r"(?<![\w.$`])(?P<w>(?:apoc|dbms|db|gds|genai|graph|tx)(?:\s*\.\s*[\w`]+)+)\s*\(",
        "{w}() is not allowed in a fact query: no procedure or function of apoc, dbms, db, gds, "
        "genai, graph or tx",
    ),
    (
        r"(?<![\w.$`])(?:(?P<w>CREATE|MERGE|FOREACH)\s*\(|(?P<w2>(?:DETACH\s+)?DELETE)\s+[\w`(]"
        r"|(?P<w3>SET|REMOVE)\s+[\w`]+\s*(?:[.:=]|\+=))",
        "{w} is not allowed in a fact query: a fact query may only read",
    ),
    (
        r"(?:^|\{)\s*(?P<w>USE)\s",
        "USE is not allowed in a fact query: it reads the case graph of this database only",
    ),
    (
        r"^\s*(?P<w>SHOW|TERMINATE|GRANT|DENY|REVOKE|ALTER|DROP|START|STOP|ENABLE|RENAME)\b",
        "{w} is not allowed in a fact query: administration commands are not fact queries",
    ),
    (
        r"^\s*(?P<w>CYPHER|EXPLAIN|PROFILE)\b",
        "{w} is not allowed at the start of a fact query: Casewise plans and runs it itself",
    ),
)
_REFUSED_RE = [(re.compile(pattern, re.I), message) for pattern, message in _REFUSED_TEXT]


def fact_query_problems(query: str) -> list[tuple[int, str]]:
    """Give (offset, message) for each construct a fact query may not use, outside literals."""
    # Literals, `names` and comments are blanked (same length): 'call-back' is no CALL, and the
    # offsets hold.
    bare = _LITERALS.sub(lambda m: " " * len(m.group()), query)
    found: list[tuple[int, str]] = []
    for pattern, message in _REFUSED_RE:
        match = pattern.search(bare)
        if match is None:
            continue
        group = next(g for g in ("w", "w2", "w3") if g in match.re.groupindex and match.group(g))
        word = re.sub(r"\s+", "" if message.startswith("{w}()") else " ", match.group(group))
        word = word if message.startswith("{w}()") else word.upper()  # a function as written
        found.append((match.start(group), message.replace("{w}", word)))
    return sorted(found)


def _at(start: Pos, query: str, offset: int) -> Pos:
    """The file position of character ``offset`` of a query whose text starts at ``start``."""
    before = query[:offset]
    lines = before.count("\n")
    if lines == 0:
        return Pos(start.line, start.col + offset)
    return Pos(start.line + lines, start.col + len(before) - before.rfind("\n") - 1)


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
