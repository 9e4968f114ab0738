"""Finding cases by what a person remembers: a case id, a policy number or reference, a party's
name or id, an address, phone, e-mail or bank account.

One full-text index (``case_search`` in knowledge/schema.cypher) covers cases (id and
attributes), parties (id, name) and identifiers (value). Each word typed must match, as a
whole word or the start of one; a case id typed exactly comes first, then the cases by how well
they matched (a case found through several of its nodes by the best of them).
"""

from __future__ import annotations

import re
from typing import LiteralString

from service.graph.db import Graph, GraphError
from service.graph.models import normalise_identifier

MAX_WORDS = 8
MAX_RESULTS = 200

EXACT: LiteralString = """
UNWIND $ids AS id
MATCH (c:Case {id: id})
RETURN c.id AS id
"""

SEARCH: LiteralString = """
CALL db.index.fulltext.queryNodes('case_search', $text, {limit: $limit}) YIELD node, score
WITH score, CASE WHEN node:Case THEN [node] ELSE [] END
  + COLLECT { MATCH (node:Party)-[:PARTY_TO]->(c:Case) RETURN c }
  + COLLECT { MATCH (node)<-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]-(:Party)
                    -[:PARTY_TO]->(c:Case) RETURN c } AS cases
UNWIND cases AS c
WITH c.id AS id, max(score) AS score
RETURN id, score
ORDER BY score DESC, id
LIMIT $limit
"""


class SearchUnavailable(GraphError):
    """The search index does not answer (still being built after start-up)."""

    code = "search-unavailable"
    status = 503


def _phrase(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lucene_query(text: str) -> str | None:
    """Give the full-text query for what was typed (None if nothing searchable was typed).

    Every word must match: as typed (a phrase of the tokens it holds, so ``POL-123`` matches
    those two tokens in that order) or, for a plain word, as the start of a word (``smi``).
    Something typed like a phone number also matches its normalised form.
    """
    words = [w for w in text.split() if re.search(r"\w", w)][:MAX_WORDS]
    if not words:
        return None
    clauses = []
    for word in words:
        clause = _phrase(word)
        if re.fullmatch(r"\w+", word):
            clause = f"({clause} OR {word.lower()}*)"
        clauses.append(clause)
    query = " AND ".join(clauses)
    if re.fullmatch(r"[+\d\s().-]{6,}", text.strip()):
        query = f"({query}) OR {_phrase(normalise_identifier('phone', text))}"
    return query


def search(graph: Graph, text: str, limit: int = MAX_RESULTS) -> list[str]:
    """Give the ids of the cases matching ``text``, best first (an exact case id first)."""
    query = lucene_query(text)
    if query is None:
        return []
    typed = text.strip()
    exact = [r["id"] for r in graph.read(EXACT, ids=sorted({typed, typed.upper()}))]
    try:
        rows = graph.read(SEARCH, text=query, limit=limit)
    except GraphError as exc:
        raise SearchUnavailable(
            f"the search index does not answer yet ({exc.message}); try again in a moment"
        ) from exc
    found = exact + [r["id"] for r in rows if r["id"] not in exact]
    return found[:limit]
