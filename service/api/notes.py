"""Notes on a case through the API: add one (who and when are the caller and now), list them.

Notes are never changed: sending a note with the id of one already written gives that note
back (``created: false``). A key scoped to rulesets reaches only the cases it may see.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.api.cases import RESPONSES, CaseId, GraphDep, check_case
from service.auth.middleware import principal_of
from service.graph import notes
from service.graph.models import ID_PATTERN
from service.http.responses import JSON

router = APIRouter(prefix="/v1/cases", tags=["cases"])

OPEN_AUTHOR = "expert"  # who wrote a note in open mode (CASEWISE_AUTH=off)


class NoteIn(BaseModel):
    """A note to add to a case."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=notes.MAX_NOTE_CHARS)]
    id: Annotated[
        str | None,
        Field(
            default=None,
            pattern=ID_PATTERN,
            description="Your id for the note: sending it again adds nothing. Default: a new id.",
        ),
    ] = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a note needs some text")
        return value.strip()


def author_of(request: Request) -> str:
    """Give who writes: the signed-in user or the API key, ``expert`` in open mode."""
    principal = principal_of(request)
    return principal.name if principal is not None else OPEN_AUTHOR


@router.post(
    "/{case_id}/notes",
    summary="Add a note to a case",
    responses=RESPONSES,
    status_code=status.HTTP_201_CREATED,
)
def post_note(case_id: CaseId, body: NoteIn, graph: GraphDep, request: Request) -> JSON:
    """Add a note (the author is the caller, the time now); the same ``id`` again adds nothing."""
    check_case(graph, request, case_id)
    note_id = body.id or f"note-{uuid.uuid4().hex}"
    now = dt.datetime.now(dt.UTC)
    note, created = notes.add_note(graph, case_id, note_id, body.text, author_of(request), now)
    return JSON({"note": note, "created": created}, status_code=201 if created else 200)


@router.get("/{case_id}/notes", summary="A case's notes", responses=RESPONSES)
def get_notes(case_id: CaseId, graph: GraphDep, request: Request) -> dict[str, Any]:
    """The case's notes, oldest first."""
    check_case(graph, request, case_id)
    return {"case_id": case_id, "notes": notes.notes(graph, case_id)}
