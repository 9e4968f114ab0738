"""The case page's forms for notes and documents, and the download of a document.

Post/redirect/get (``service.web.flash``): a note or document written, or refused, answers 303
to the case page, which shows at the form's card that it was kept, or the message (focused) with
what was typed. Who writes is the signed-in expert.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from service.auth.middleware import principal_of
from service.graph import documents, notes
from service.graph.cases import InvalidReference
from service.graph.models import ID_PATTERN
from service.http import uploads
from service.http.deps import get_graph
from service.http.errors import ApiError
from service.kernel.errors import CasewiseError
from service.settings import Settings
from service.web import flash, pages
from service.web.signin import check_csrf, read_form

router = APIRouter(include_in_schema=False)


def _check_id(value: str, field: str) -> None:
    if not re.fullmatch(ID_PATTERN, value):
        raise ApiError(
            422,
            "invalid-input",
            f"invalid {field}: letters, digits and . _ : - only, 1 to 100 of them",
            [{"field": field, "message": "not an id", "value": value}],
        )


def _me(request: Request) -> str:
    principal = principal_of(request)
    return principal.name if principal is not None else pages.OPEN_EXPERT


def _refused(
    request: Request, case_id: str, card: str, exc: CasewiseError, values: dict[str, Any]
) -> Response:
    """Give a 303 to the case page, which shows the message at the form's card."""
    error = {"card": card, "message": exc.message, "code": exc.code, "status": exc.status}
    typed = {k: v for k, v in values.items() if isinstance(v, str)}
    return flash.redirect(request, case_id, card, error=error, values=typed)


@router.post("/cases/{case_id}/notes")
async def add_note(request: Request, case_id: str) -> Response:
    """Add the expert's note to the case; back to the notes card."""
    _check_id(case_id, "case_id")
    form = await read_form(request)
    check_csrf(request, form)
    text = form.get("text", "").strip()
    note_id = form.get("note_id", "")
    graph = await run_in_threadpool(get_graph, request)
    try:
        _check_id(note_id, "note_id")
        if not text:
            raise ApiError(422, "invalid-input", "The note is empty: write what you want to keep.")
        if len(text) > notes.MAX_NOTE_CHARS:
            raise ApiError(
                422,
                "invalid-input",
                f"The note has {len(text)} characters; at most {notes.MAX_NOTE_CHARS} fit.",
            )
        await run_in_threadpool(
            notes.add_note, graph, case_id, note_id, text, _me(request), dt.datetime.now(dt.UTC)
        )
    except (ApiError, notes.NoteTaken) as exc:
        return _refused(request, case_id, "notes", exc, form)
    return flash.redirect(request, case_id, "notes", done="Note added.")


@router.post("/cases/{case_id}/documents")
async def add_document(request: Request, case_id: str) -> Response:
    """Attach the uploaded file to the case or one of its evidence; back to the documents card."""
    _check_id(case_id, "case_id")
    settings: Settings = request.app.state.settings
    fields: dict[str, Any] = {}

    def check(form: dict[str, str]) -> None:
        fields.update(form)
        check_csrf(request, form)

    try:
        await uploads.attach_upload(request, case_id, settings, _me(request), check)
    except (ApiError, InvalidReference) as exc:
        if exc.code == "csrf-failed":
            raise
        return _refused(request, case_id, "documents", exc, fields)
    return flash.redirect(request, case_id, "documents", done="Document attached.")


@router.get("/cases/{case_id}/documents/{document_id}")
async def download(request: Request, case_id: str, document_id: str) -> FileResponse:
    """The document's bytes, as an attachment."""
    _check_id(case_id, "case_id")
    _check_id(document_id, "document_id")
    settings: Settings = request.app.state.settings
    graph = await run_in_threadpool(get_graph, request)
    found = await run_in_threadpool(documents.document, graph, case_id, document_id)
    return uploads.attachment(settings, found)
