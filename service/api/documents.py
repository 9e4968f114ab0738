"""Documents of a case through the API: upload one (multipart), list them, download one.

``POST /v1/cases/{id}/documents`` takes ``multipart/form-data`` with the file in ``file`` and,
to attach it to a piece of the case's evidence, its id in ``evidence``. The file's type is read
from its bytes (service/http/uploads.py); a download is always an attachment. A key scoped to
rulesets reaches only the documents of cases it may see: any other is a 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse

from service.api.cases import RESPONSES, CaseId, GraphDep, SettingsDep, check_case
from service.api.notes import author_of
from service.graph import documents
from service.graph.models import ID_PATTERN
from service.http import uploads
from service.http.deps import get_graph
from service.http.responses import JSON

router = APIRouter(prefix="/v1/cases", tags=["cases"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "evidence": {"type": "string", "pattern": ID_PATTERN},
                    },
                }
            }
        },
    }
}


@router.post(
    "/{case_id}/documents",
    summary="Attach a document to a case",
    responses=RESPONSES,
    status_code=201,
    openapi_extra=UPLOAD_BODY,
)
async def post_document(case_id: CaseId, request: Request, settings: SettingsDep) -> JSON:
    """Attach the file (``file``) to the case, or to its evidence ``evidence``; the same file
    to the same place again changes nothing (200, ``created: false``)."""
    graph = await run_in_threadpool(get_graph, request)
    await run_in_threadpool(check_case, graph, request, case_id)
    document, created = await uploads.attach_upload(request, case_id, settings, author_of(request))
    return JSON({"document": document, "created": created}, status_code=201 if created else 200)


@router.get("/{case_id}/documents", summary="A case's documents", responses=RESPONSES)
def get_documents(case_id: CaseId, graph: GraphDep, request: Request) -> dict[str, Any]:
    """The case's documents (name, type, size, SHA-256, who attached it, when), oldest first."""
    check_case(graph, request, case_id)
    return {"case_id": case_id, "documents": documents.documents(graph, case_id)}


@router.get(
    "/{case_id}/documents/{document_id}",
    summary="Download a document",
    responses=RESPONSES,
    response_class=FileResponse,
)
def get_document(
    case_id: CaseId,
    graph: GraphDep,
    settings: SettingsDep,
    request: Request,
    document_id: str = Path(pattern=ID_PATTERN),
) -> FileResponse:
    """The document's bytes, always as an attachment (never shown inline)."""
    check_case(graph, request, case_id)
    return uploads.attachment(settings, documents.document(graph, case_id, document_id))
