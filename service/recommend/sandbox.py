"""The sandbox of author-written Cypher: what a playbook's fact query may do, read off its plan.

A fact query is authored content that Neo4j runs with the service's own credentials, so it is
held to a whitelist, checked on the plan Neo4j makes for it (``EXPLAIN``, nothing runs):

- only reading operators (scans by label, index seeks, expansions, filters, aggregation, ...);
  no ``LOAD CSV``, no procedure call, no write, no scan of every node or every relationship,
  no look-up of a node or relationship by its internal id;
- only the labels and relationship types of the case graph (``CASE_LABELS``, ``CASE_TYPES``,
  as ``knowledge/README.md`` draws it); never the credentials kept in the same database
  (``CREDENTIAL_LABELS``: users, API keys, sessions, the record of changes to them), no
  label wildcard or negation;
- every expansion names its relationship types, so no walk can leave the case graph through a
  relationship of another kind;
- only Cypher's own functions (``FUNCTIONS``): no plugin's functions (APOC's reach files and
  URLs), and no property whose name says it holds a secret.

This holds whatever server ``NEO4J_URI`` points at, however it is configured. The text check of
``service.engine.playbook`` names the worst constructs at their line first; the plan is the
guard. A refusal is a message naming the construct, never Neo4j's own text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, LiteralString

CASE_LABELS = frozenset(
    {
        "Case",
        "Party",
        "Person",
        "Organisation",
        "Evidence",
        "Event",
        "Address",
        "Phone",
        "Email",
        "BankAccount",
        "Recommendation",
        "Expert",
        "ExpertDecision",
        "RoutingDecision",
        "RulesetVersion",
    }
)
"""The node labels of the case graph (knowledge/README.md): what a fact query may read."""

CASE_TYPES = frozenset(
    {
        "PARTY_TO",
        "HAS_ADDRESS",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_ACCOUNT",
        "SUPPORTS",
        "CONTRADICTS",
        "CONCERNS",
        "IN_CASE",
        "OPENED",
        "DECIDED_BY",
        "FOR",
        "DECIDED",
        "ON",
    }
)
"""The relationship types of the case graph: what a fact query may walk."""

CREDENTIAL_LABELS = frozenset({"User", "ApiKey", "Session", "AuthState", "AuthChange"})
"""Labels of the nodes that hold credentials: never readable, never linked to the case graph."""

CREDENTIAL_LINKS: LiteralString = """
MATCH (n:User|ApiKey|Session|AuthState|AuthChange)-[r]-(m)
WHERE NOT m:User|ApiKey|Session|AuthState|AuthChange
RETURN count(r) AS links, collect(DISTINCT type(r))[..5] AS types
"""
"""Relationships between credential nodes and any other node: there must be none, so that no
walk from a case, however its types are named, reaches a credential."""

# Operators that only read, and only what the labels, types and functions in their details say.
READING = frozenset(
    {
        "ProduceResults", "Projection", "Filter", "Argument", "EmptyRow", "EmptyResult",
        "Apply", "SemiApply", "AntiSemiApply", "LetSemiApply", "LetAntiSemiApply",
        "SelectOrSemiApply", "SelectOrAntiSemiApply", "LetSelectOrSemiApply",
        "LetSelectOrAntiSemiApply", "ConditionalApply", "AntiConditionalApply", "RollUpApply",
        "Optional", "Anti", "CartesianProduct", "NodeHashJoin", "ValueHashJoin",
        "NodeLeftOuterHashJoin", "NodeRightOuterHashJoin", "Union", "OrderedUnion",
        "Expand", "OptionalExpand", "VarLengthExpand", "BFSPruningVarLengthExpand",
        "ShortestPath", "StatefulShortestPath", "Trail", "Repeat", "ProjectEndpoints",
        "NodeByLabelScan", "UnionNodeByLabelsScan", "IntersectionNodeByLabelsScan",
        "SubtractionNodeByLabelsScan", "NodeIndexSeek", "NodeUniqueIndexSeek",
        "NodeIndexSeekByRange", "NodeUniqueIndexSeekByRange", "NodeIndexScan",
        "NodeIndexContainsScan", "NodeIndexEndsWithScan", "MultiNodeIndexSeek",
        "AssertingMultiNodeIndexSeek", "DirectedRelationshipTypeScan",
        "UndirectedRelationshipTypeScan", "DirectedUnionRelationshipTypesScan",
        "UndirectedUnionRelationshipTypesScan", "DirectedRelationshipIndexSeek",
        "UndirectedRelationshipIndexSeek", "DirectedRelationshipIndexSeekByRange",
        "UndirectedRelationshipIndexSeekByRange", "DirectedRelationshipIndexScan",
        "UndirectedRelationshipIndexScan", "DirectedRelationshipIndexContainsScan",
        "UndirectedRelationshipIndexContainsScan", "DirectedRelationshipIndexEndsWithScan",
        "UndirectedRelationshipIndexEndsWithScan", "DirectedRelationshipUniqueIndexSeek",
        "UndirectedRelationshipUniqueIndexSeek", "NodeCountFromCountStore",
        "RelationshipCountFromCountStore", "EagerAggregation", "OrderedAggregation",
        "Aggregation", "Distinct", "OrderedDistinct", "Sort", "PartialSort", "Top",
        "PartialTop", "Limit", "ExhaustiveLimit", "Skip", "Unwind", "PartitionedUnwind", "Eager",
        "CacheProperties", "AssertSameNode", "AssertSameRelationship", "NullifyMetadata",
        "TriadicSelection", "TriadicBuild", "TriadicFilter", "Input",
    }
)  # fmt: skip

# Operators that must name their relationship types (an untyped walk could leave the graph).
WALKING = ("Expand", "ShortestPath", "Trail", "Repeat", "ProjectEndpoints")

_BY_ID = "looking a {} up by its internal id (id(), elementId()) is not allowed in a fact query"
REFUSED = {
    "LoadCSV": "LOAD CSV is not allowed in a fact query",
    "ProcedureCall": "calling a procedure is not allowed in a fact query",
    "AllNodesScan": (
        "a node pattern without a label reads every node of the database; give each node a "
        "label of the case graph or reach it from (c:Case {id: $case_id})"
    ),
    "DirectedAllRelationshipsScan": (
        "a relationship pattern without a type reads every relationship of the database; name "
        "its types, e.g. -[:PARTY_TO]->"
    ),
    "UndirectedAllRelationshipsScan": (
        "a relationship pattern without a type reads every relationship of the database; name "
        "its types, e.g. -[:PARTY_TO]->"
    ),
    "NodeByIdSeek": _BY_ID.format("node"),
    "NodeByElementIdSeek": _BY_ID.format("node"),
    "DirectedRelationshipByIdSeek": _BY_ID.format("relationship"),
    "UndirectedRelationshipByIdSeek": _BY_ID.format("relationship"),
    "DirectedRelationshipByElementIdSeek": _BY_ID.format("relationship"),
    "UndirectedRelationshipByElementIdSeek": _BY_ID.format("relationship"),
    "TransactionApply": "CALL { } IN TRANSACTIONS is not allowed in a fact query",
    "TransactionForeach": "CALL { } IN TRANSACTIONS is not allowed in a fact query",
    "Foreach": "FOREACH is not allowed in a fact query: a fact query may only read",
    "ForeachApply": "FOREACH is not allowed in a fact query: a fact query may only read",
    "SubqueryForeach": "FOREACH is not allowed in a fact query: a fact query may only read",
}

# Cypher's own functions (Neo4j 5), lower-case, and what the planner writes into its details.
FUNCTIONS = frozenset(
    {
        # aggregating
        "avg", "collect", "count", "max", "min", "percentilecont", "percentiledisc", "stdev",
        "stdevp", "sum",
        # lists and predicates
        "keys", "labels", "nodes", "range", "reduce", "relationships", "reverse", "tail",
        "tobooleanlist", "tofloatlist", "tointegerlist", "tostringlist", "all", "any", "exists",
        "isempty", "none", "single",
        # scalar
        "char_length", "character_length", "coalesce", "elementid", "endnode", "head", "id",
        "last", "length", "nullif", "properties", "size", "startnode", "timestamp",
        "toboolean", "tobooleanornull", "tofloat", "tofloatornull", "tointeger",
        "tointegerornull", "type", "valuetype",
        # mathematical
        "abs", "ceil", "floor", "isnan", "rand", "round", "sign", "e", "exp", "log", "log10",
        "sqrt", "acos", "asin", "atan", "atan2", "cos", "cot", "degrees", "haversin", "pi",
        "radians", "sin", "tan",
        # strings
        "btrim", "left", "lower", "ltrim", "normalize", "replace", "right", "rtrim", "split",
        "substring", "tolower", "tostring", "tostringornull", "toupper", "trim", "upper",
        # temporal
        "date", "date.realtime", "date.statement", "date.transaction", "date.truncate",
        "datetime", "datetime.fromepoch", "datetime.fromepochmillis", "datetime.realtime",
        "datetime.statement", "datetime.transaction", "datetime.truncate", "localdatetime",
        "localdatetime.realtime", "localdatetime.statement", "localdatetime.transaction",
        "localdatetime.truncate", "localtime", "localtime.realtime", "localtime.statement",
        "localtime.transaction", "localtime.truncate", "time", "time.realtime",
        "time.statement", "time.transaction", "time.truncate", "duration", "duration.between",
        "duration.indays", "duration.inmonths", "duration.inseconds",
        # spatial and vectors
        "point", "point.distance", "point.withinbbox", "vector.similarity.cosine",
        "vector.similarity.euclidean",
        # written by the planner into operator details
        "getdegree", "assertisnode", "hasall", "hasany", "runtimeconstant", "coercetopredicate",
        "coercetolist", "hasdegree", "hasdegreegreaterthan", "hasdegreegreaterthanorequal",
        "hasdegreelessthan", "hasdegreelessthanorequal", "hasalabel", "haslabels", "hastypes",
    }
)  # fmt: skip

SECRET_PROPERTY = re.compile(r"password|secret|token|credential|api_?key", re.I)

# Read left to right, so a quote inside a `quoted name` starts no string.
_STRINGS = re.compile(r"`[^`]*(?:`|\Z)|'(?:[^'\\]|\\.)*(?:'|\Z)|\"(?:[^\"\\]|\\.)*(?:\"|\Z)")
_IDENT = r"(?:`[^`]*`|[A-Za-z_][A-Za-z0-9_]*)"
# A colon that starts a label or type expression: not '::' (a type annotation), not 'key: value'.
_LABEL_START = re.compile(r"(?<!:):(?![:\s])")
_LABEL_ATOM = re.compile(r"\s*([(!%]*)\s*(" + _IDENT + r")?")
_CALL = re.compile(r"(?<![\w.$`:])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\(")
_PROPERTY = re.compile(r"\.(" + _IDENT + r")")
_REL_PATTERN = re.compile(r"-\[([^\]]*)\]-")


def _names(details: str, start: int) -> tuple[list[str], str | None]:
    """The label or type names of the expression after the colon at ``start``; and a problem."""
    names: list[str] = []
    at = start + 1
    while True:
        atom = _LABEL_ATOM.match(details, at)
        assert atom is not None  # both groups may match nothing
        prefix, name = atom.group(1), atom.group(2)
        if "%" in prefix:
            return names, "a label wildcard (:%) is not allowed in a fact query"
        if "!" in prefix:
            return names, "a label negation (:!Label) is not allowed in a fact query"
        if details.startswith("$", atom.end()):
            return names, "a dynamic label or type (:$(...)) is not allowed in a fact query"
        if name is None:
            return names, None
        names.append(name.strip("`"))
        at = atom.end()
        while at < len(details) and details[at] == ")":
            at += 1
        if at < len(details) and details[at] in "|&":
            at += 1
            continue
        return names, None


def _operators(plan: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(operator name, details) of every operator of ``plan``, children too."""
    name = str(plan.get("operatorType", ""))
    # 'Expand(All)@neo4j' -> 'Expand'; the parallel runtime's 'PartitionedX' is X.
    base = re.sub(r"^Partitioned", "", re.split(r"[(@]", name, maxsplit=1)[0])
    args = plan.get("args") or {}
    yield base, str(args.get("Details") or "")
    for child in plan.get("children") or []:
        yield from _operators(child)


def plan_problems(plan: Mapping[str, Any] | None) -> list[str]:
    """Give what the plan does that a fact query may not (none: it may run)."""
    if not plan:
        return ["Neo4j gave no plan for the query, so it cannot be checked"]
    problems: list[str] = []

    def add(message: str) -> None:
        if message not in problems:
            problems.append(message)

    for operator, raw in _operators(plan):
        details = _STRINGS.sub(lambda m: m.group() if m.group()[0] == "`" else "''", raw)
        if operator in REFUSED:
            add(REFUSED[operator])
            continue
        if operator not in READING:
            add(f"the plan step {operator} is not one a fact query may use (it may only read)")
            continue
        for colon in _LABEL_START.finditer(details):
            names, problem = _names(details, colon.start())
            if problem:
                add(problem)
            for label in names:
                if label in CREDENTIAL_LABELS:
                    add(f"the label {label} holds credentials; a fact query may not read it")
                elif label not in CASE_LABELS and label not in CASE_TYPES:
                    add(
                        f"{label} is not a label or relationship type of the case graph "
                        f"(labels: {', '.join(sorted(CASE_LABELS))}; relationship types: "
                        f"{', '.join(sorted(CASE_TYPES))})"
                    )
        if operator.endswith(WALKING):
            for pattern in _REL_PATTERN.finditer(details):
                if ":" not in pattern.group(1):
                    add(
                        "a relationship pattern without a type could walk out of the case graph; "
                        "name its types, e.g. -[:PARTY_TO]->"
                    )
        for call in _CALL.finditer(details):
            if call.group(1).lower() not in FUNCTIONS:
                add(
                    f"the function {call.group(1)}() is not allowed in a fact query (only "
                    "Cypher's own functions are)"
                )
        for prop in _PROPERTY.finditer(details):
            if SECRET_PROPERTY.search(prop.group(1)):
                add(f"the property {prop.group(1)} holds a secret; a fact query may not read it")
    return problems
