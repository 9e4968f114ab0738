"""Documents attached to a case or to a piece of its evidence: the bytes on disk, named by
their SHA-256 (``ContentStore``), the name, type, size and links in the graph.

A ``Document`` node ``-[:ATTACHED_TO]->`` its case (and ``-[:ABOUT]->`` the evidence it
belongs to, if any) is merged on an id derived from the case, the evidence and the content, so
uploading the same file to the same place again changes nothing. The same bytes attached to
two cases are kept on disk once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, LiteralString

from service.graph.cases import CaseNotFound, InvalidReference
from service.graph.db import Graph
from service.graph.reads import plain
from service.kernel.fs import fsync_dir

_DOCUMENT = ".id, .name, .content_type, .size, .sha256, .uploaded_by, .uploaded_at, .evidence"

ATTACH: LiteralString = (
    """
MATCH (c:Case {id: $case_id})
OPTIONAL MATCH (e:Evidence {id: $evidence})-[:SUPPORTS|CONTRADICTS]->(c)
WITH c, e
WHERE $evidence IS NULL OR e IS NOT NULL
MERGE (d:Document {id: $id})
  ON CREATE SET d.name = $name, d.content_type = $content_type, d.size = $size,
                d.sha256 = $sha256, d.uploaded_by = $uploaded_by, d.uploaded_at = $at,
                d.evidence = $evidence, d.case_id = $case_id, d.upload = $upload
MERGE (d)-[:ATTACHED_TO]->(c)
FOREACH (_ IN CASE WHEN e IS NULL THEN [] ELSE [1] END | MERGE (d)-[:ABOUT]->(e))
RETURN d {"""
    + _DOCUMENT
    + """} AS document, d.upload = $upload AS created
"""
)

CASE_AND_EVIDENCE: LiteralString = """
MATCH (c:Case {id: $case_id})
RETURN COLLECT { MATCH (e:Evidence)-[:SUPPORTS|CONTRADICTS]->(c) RETURN e.id } AS evidence
"""

LIST: LiteralString = (
    """
MATCH (c:Case {id: $case_id})
RETURN COLLECT {
  MATCH (d:Document)-[:ATTACHED_TO]->(c)
  RETURN d {"""
    + _DOCUMENT
    + """} AS document ORDER BY d.uploaded_at, d.id
} AS documents
"""
)

ONE: LiteralString = (
    """
MATCH (d:Document {id: $id})-[:ATTACHED_TO]->(:Case {id: $case_id})
RETURN d {"""
    + _DOCUMENT
    + """} AS document
"""
)

CHUNK = 64 * 1024


class DocumentNotFound(CaseNotFound):
    """No such document on the case (or on a case the caller may see)."""


def document_id(case_id: str, evidence: str | None, sha256: str) -> str:
    """Give the id of this content attached to this case and evidence: the same every time."""
    key = f"{case_id}\x00{evidence or ''}\x00{sha256}".encode()
    return "doc-" + hashlib.sha256(key).hexdigest()[:20]


class ContentStore:
    """Files named by the SHA-256 of their bytes (``ab/abcdef…``) under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Give where the content with this digest is kept (ValueError for a non-digest)."""
        if len(sha256) != 64 or not all(ch in "0123456789abcdef" for ch in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    @contextmanager
    def receiving(self) -> Iterator[IO[bytes]]:
        """Give a temporary file in the store to write an upload into; removed afterwards
        unless ``keep`` moved it into place."""
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=incoming, delete=False)  # noqa: SIM115
        try:
            yield handle
        finally:
            handle.close()
            Path(handle.name).unlink(missing_ok=True)

    def keep(self, received: IO[bytes], sha256: str) -> Path:
        """Move a fully written temporary file to its content's place (once: the same bytes
        are kept once) and make it durable; give the place."""
        target = self.path(sha256)
        received.flush()
        os.fsync(received.fileno())
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(received.name, target)
            fsync_dir(target.parent)
        return target


def evidence_of(graph: Graph, case_id: str) -> list[str]:
    """Give the ids of the case's evidence (CaseNotFound without the case)."""
    rows = graph.read(CASE_AND_EVIDENCE, case_id=case_id)
    if not rows:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    return list(rows[0]["evidence"])


def attach(
    graph: Graph,
    case_id: str,
    *,
    evidence: str | None,
    name: str,
    content_type: str,
    size: int,
    sha256: str,
    uploaded_by: str,
    at: dt.datetime,
) -> tuple[dict[str, Any], bool]:
    """Record the document on the case (and evidence); give it and whether it is new.

    The same content attached to the same case and evidence again gives the first record.
    """
    found = evidence_of(graph, case_id)
    if evidence is not None and evidence not in found:
        raise InvalidReference(
            f"the case {case_id!r} has no evidence {evidence!r}; leave it empty to attach the "
            "document to the case",
            [{"field": "evidence", "message": "is not evidence of this case", "value": evidence}],
        )
    doc_id = document_id(case_id, evidence, sha256)
    upload = secrets.token_hex(8)  # set only if this write creates the node
    rows = graph.write(
        ATTACH,
        case_id=case_id,
        evidence=evidence,
        id=doc_id,
        name=name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        uploaded_by=uploaded_by,
        at=at,
        upload=upload,
    )
    return plain(rows[0]["document"]), bool(rows[0]["created"])


def documents(graph: Graph, case_id: str) -> list[dict[str, Any]]:
    """Give the case's documents, oldest first (CaseNotFound without the case)."""
    rows = graph.read(LIST, case_id=case_id)
    if not rows:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    return [plain(d) for d in rows[0]["documents"]]


def document(graph: Graph, case_id: str, document_id: str) -> dict[str, Any]:
    """Give one document of the case; DocumentNotFound (404) if the case has no such one."""
    rows = graph.read(ONE, case_id=case_id, id=document_id)
    if not rows:
        raise DocumentNotFound(
            f"case {case_id!r} has no document {document_id!r}; "
            f"GET /v1/cases/{case_id}/documents lists them"
        )
    return dict(plain(rows[0]["document"]))
