"""Documents coming in and going out: a multipart upload read within its size limit and
checked by its bytes against an allow-list of types; a download always as an attachment.

The type of an upload is sniffed from its first bytes (``filetype``'s magic numbers), never
taken from the Content-Type the client sent: a file that says it is a PDF but holds HTML is
refused, and so is any markup (HTML, SVG, XML), which a browser could run. A download is sent
with ``Content-Disposition: attachment`` (and, for every answer, ``X-Content-Type-Options:
nosniff``, service/http/responses.py), so no stored file is ever shown inline as a page.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import filetype  # type: ignore[import-untyped]
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse

from service.graph import documents
from service.graph.documents import CHUNK, ContentStore
from service.http.deps import get_graph
from service.http.errors import ApiError, PayloadTooLarge
from service.settings import Settings

ACCEPTED: dict[str, str] = {
    # the types a document may have, and their names for people
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "text/plain": "plain text",
    "text/csv": "CSV text",
}
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
UNDECLARED = frozenset({"", "application/octet-stream"})
UPLOAD_PATHS = re.compile(r"(?:/v1)?/cases/[^/]+/documents")
"""The routes that take a document: their bodies may be as large as a document."""
UPLOAD_OVERHEAD = 64 * 1024
"""What a multipart body carries besides the document (boundaries, headers, other fields)."""
HEAD_BYTES = 8192
MAX_NAME = 120
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|\?xml|iframe|object|meta)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Stored:
    """An upload kept in the content store: its clean name, sniffed type, size and digest."""

    name: str
    content_type: str
    size: int
    sha256: str


def store_of(settings: Settings) -> ContentStore:
    """Give the content store of CASEWISE_DOCUMENTS_DIR."""
    return ContentStore(settings.documents_dir)


def upload_limit(settings: Settings) -> int:
    """Give the largest body an upload route takes: a document and the form around it."""
    return settings.max_document_bytes + UPLOAD_OVERHEAD


def clean_name(raw: str | None) -> str:
    """Give a file name safe to show and to send back: no folders, control or format
    characters, no leading dots, at most MAX_NAME characters ("document" if nothing is left)."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).lstrip(". ")
    return name[:MAX_NAME].strip() or "document"


def _refused(status: int, message: str, value: Any = None) -> ApiError:
    details = [{"field": "file", "message": message, "value": value}]
    code = "unsupported-media-type" if status == 415 else "invalid-input"
    return ApiError(status, code, f"the document was refused: {message}", details)


def _accepted_list() -> str:
    return ", ".join(sorted(set(ACCEPTED.values())))


def sniff(head: bytes, is_text: bool) -> str:
    """Give the accepted type the bytes show (``head``: the first bytes; ``is_text``: the whole
    file is UTF-8 without NUL characters); ApiError 415 if they show no accepted type."""
    found = filetype.guess_mime(head)
    if found in ACCEPTED:
        return str(found)
    if found is not None:
        raise _refused(415, f"its bytes are {found}; accepted are {_accepted_list()}", found)
    if is_text:
        if _MARKUP.search(head[:2048]):
            raise _refused(
                415, "its bytes are HTML or XML markup, which is never accepted; send a PDF"
            )
        return "text/plain"
    raise _refused(415, f"its bytes are of no accepted type; accepted are {_accepted_list()}")


def _declared(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def check_declared(declared: str, sniffed: str) -> str:
    """Give the type to keep: the sniffed one (text/csv if declared of plain text); ApiError
    422 if the client declared another type than the bytes show."""
    if declared in UNDECLARED:
        return sniffed
    if sniffed in TEXT_TYPES and declared in TEXT_TYPES:
        return declared
    if declared != sniffed:
        shown = ACCEPTED.get(sniffed, sniffed)
        raise _refused(
            422,
            f"it says it is {declared} but its bytes are {shown}; send it with its own type",
            declared,
        )
    return sniffed


def keep_upload(
    store: ContentStore, source: IO[bytes], name: str | None, declared: str | None, limit: int
) -> Stored:
    """Copy an upload into the store within ``limit`` bytes, checking its type; give it."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size, head, is_text = 0, b"", True
    with store.receiving() as received:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"the document is larger than {limit} bytes; send a smaller file or raise "
                    "CASEWISE_MAX_DOCUMENT_BYTES",
                    [{"field": "file", "limit": limit}],
                )
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            digest.update(chunk)
            if is_text:
                try:
                    is_text = "\x00" not in decoder.decode(chunk)
                except UnicodeDecodeError:
                    is_text = False
            received.write(chunk)
        if size == 0:
            raise _refused(422, "the file is empty; choose a file with content")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            is_text = False
        content_type = check_declared(_declared(declared), sniff(head, is_text))
        store.keep(received, digest.hexdigest())
    return Stored(clean_name(name), content_type, size, digest.hexdigest())


async def receive_document(
    request: Request, settings: Settings, check: Callable[[dict[str, str]], None] | None = None
) -> tuple[Stored, dict[str, str]]:
    """Read a multipart upload (``file`` and small fields), keep the file; give it and the
    other fields. ApiError 415/422/413 naming what is wrong.

    ``check`` is given the other fields before the file is kept, and may refuse them."""
    kind = _declared(request.headers.get("content-type"))
    if kind != "multipart/form-data":
        raise ApiError(
            415,
            "unsupported-media-type",
            "send the document as multipart/form-data with the file in a field named `file`",
            [{"field": "content-type", "message": "must be multipart/form-data", "value": kind}],
        )
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=64 * 1024)
    except ApiError:  # the body limit (413)
        raise
    except Exception as exc:  # starlette's MultiPartException, or its HTTPException wrapper
        message = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
        raise ApiError(
            422, "invalid-input", f"the upload is not a readable form: {message}"
        ) from exc
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if check is not None:
            check(fields)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(
                422,
                "invalid-input",
                "no file was sent: choose a file (the form field `file`)",
                [{"field": "file", "message": "is missing", "value": None}],
            )
        stored = await run_in_threadpool(
            keep_upload,
            store_of(settings),
            upload.file,
            upload.filename,
            upload.content_type,
            settings.max_document_bytes,
        )
    finally:
        await form.close()
    return stored, fields


def attachment(settings: Settings, document: dict[str, Any]) -> FileResponse:
    """Give the document's bytes as a download (never inline), or a 404 if they are gone."""
    path: Path = store_of(settings).path(str(document["sha256"]))
    if not path.is_file():
        raise ApiError(
            404,
            "not-found",
            f"the content of document {document['id']!r} is missing from "
            "CASEWISE_DOCUMENTS_DIR; restore the folder from its backup",
        )
    media = str(document["content_type"])
    if media in TEXT_TYPES:
        media += "; charset=utf-8"
    return FileResponse(
        path,
        media_type=media,
        filename=str(document["name"]),
        content_disposition_type="attachment",
        headers={"cache-control": "private, no-store"},
    )


async def attach_upload(
    request: Request,
    case_id: str,
    settings: Settings,
    by: str,
    check: Callable[[dict[str, str]], None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Keep the uploaded file and record it on the case (or the evidence named in the form's
    ``evidence``); give the document and whether it is new. An unknown case is a 404 before
    anything is read; ``check`` sees the form's other fields before the file is kept."""
    graph = await run_in_threadpool(get_graph, request)
    await run_in_threadpool(documents.evidence_of, graph, case_id)
    stored, fields = await receive_document(request, settings, check)
    evidence = fields.get("evidence", "").strip() or None
    if evidence is not None and len(evidence) > 100:
        raise ApiError(
            422,
            "invalid-input",
            "invalid evidence: an evidence id has at most 100 characters",
            [{"field": "evidence", "message": "too long", "value": evidence[:100]}],
        )
    return await run_in_threadpool(
        lambda: documents.attach(
            graph,
            case_id,
            evidence=evidence,
            name=stored.name,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            uploaded_by=by,
            at=dt.datetime.now(dt.UTC),
        )
    )
