"""Notes on a case: who wrote what, when; never changed once written.

A note is a ``Note`` node ``-[:ON]->`` its case, merged on its id: sending the same note again
(a form sent twice, a client retrying) changes nothing and gives the note as first written.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, LiteralString

from service.graph.cases import CaseNotFound
from service.graph.db import Graph
from service.graph.reads import plain

MAX_NOTE_CHARS = 10_000
"""The longest note, in characters."""

ADD_NOTE: LiteralString = """
MATCH (c:Case {id: $case_id})
MERGE (n:Note {id: $id})
  ON CREATE SET n.text = $text, n.author = $author, n.at = $at, n.case_id = $case_id,
                n.write = $write
WITH c, n
FOREACH (_ IN CASE WHEN n.case_id = $case_id THEN [1] ELSE [] END | MERGE (n)-[:ON]->(c))
RETURN n {.id, .text, .author, .at, .case_id} AS note, n.write = $write AS created
"""

LIST_NOTES: LiteralString = """
MATCH (c:Case {id: $case_id})
RETURN COLLECT {
  MATCH (n:Note)-[:ON]->(c)
  RETURN n {.id, .text, .author, .at} AS note ORDER BY n.at, n.id
} AS notes
"""


class NoteTaken(CaseNotFound):
    """A note id already names a note of another case."""

    code = "conflict"
    status = 409


def add_note(
    graph: Graph, case_id: str, note_id: str, text: str, author: str, at: dt.datetime
) -> tuple[dict[str, Any], bool]:
    """Write the note (once: the same id again gives the first note); give it and whether
    this call wrote it.

    CaseNotFound (404) without the case; NoteTaken (409) if the id is another case's note.
    """
    write = secrets.token_hex(8)  # kept only by the write that creates the note
    rows = graph.write(
        ADD_NOTE, case_id=case_id, id=note_id, text=text, author=author, at=at, write=write
    )
    if not rows:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    note: dict[str, Any] = plain(rows[0]["note"])
    if note.pop("case_id", case_id) != case_id:
        raise NoteTaken(
            f"note id {note_id!r} is taken by a note of another case; send another id or none",
            [{"field": "id", "message": "is another case's note", "value": note_id}],
        )
    return note, bool(rows[0]["created"])


def notes(graph: Graph, case_id: str) -> list[dict[str, Any]]:
    """Give the case's notes, oldest first (CaseNotFound without the case)."""
    rows = graph.read(LIST_NOTES, case_id=case_id)
    if not rows:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    return [plain(n) for n in rows[0]["notes"]]
