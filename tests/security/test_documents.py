"""Hostile uploads and downloads of case documents (TestClient, the real Neo4j): what a file
says it is never decides its type, no upload is larger than the limit, names cannot reach
folders or headers, and a key scoped to rulesets never reaches another case's document."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.auth.store import create_key
from service.engine import Registry
from tests.auth import as_role, make_app, memory
from tests.graphs import settings_for

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

LIMIT = 4096
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


@pytest.fixture
def p() -> str:
    """A prefix unique to the test for every id it writes."""
    return f"d{uuid.uuid4().hex[:10]}-"


@pytest.fixture(scope="module")
def documents_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("documents")


@pytest.fixture(scope="module")
def app(neo4j_server: Neo4jServer, documents_dir: Path) -> Any:
    settings = settings_for(neo4j_server, documents_dir=documents_dir, max_document_bytes=LIMIT)
    return make_app(settings, Registry())


@pytest.fixture(scope="module")
def api(app: Any) -> Iterator[TestClient]:
    with as_role(TestClient(app), "system") as client:
        yield client


def a_case(api: TestClient, case_id: str) -> str:
    case = {"id": case_id, "type": "insurance-claim", "opened_at": "2026-01-01T08:00:00Z"}
    assert api.post("/v1/cases", json={"cases": [case]}).status_code == 200
    return case_id


def files_in(folder: Path) -> list[Path]:
    return [Path(root) / f for root, _, names in os.walk(folder) for f in names]


def upload(api: TestClient, case_id: str, name: str, content: bytes, kind: str) -> Any:
    return api.post(f"/v1/cases/{case_id}/documents", files={"file": (name, content, kind)})


@pytest.mark.parametrize(
    ("name", "content", "kind", "status", "says"),
    [
        ("invoice.pdf", b"<!DOCTYPE html><script>alert(1)</script>", "application/pdf", 415,
         "markup"),
        ("invoice.pdf", b"  <html><body onload=alert(1)>", "application/pdf", 415, "markup"),
        ("note.txt", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
         "text/plain", 415, "markup"),
        ("page.html", b"<p>hello</p><script>x()</script>", "text/html", 415, "markup"),
        ("photo.pdf", PNG, "application/pdf", 422, "PNG image"),
        ("run.exe", b"MZ\x90\x00" + b"\x00" * 60, "application/octet-stream", 415, "accepted"),
        ("blob.bin", bytes(range(256)) * 4, "application/octet-stream", 415, "no accepted type"),
        ("empty.txt", b"", "text/plain", 422, "empty"),
    ],
)  # fmt: skip
def test_what_a_file_says_it_is_does_not_decide_its_type(
    api: TestClient, p: str, documents_dir: Path, name: str, content: bytes, kind: str,
    status: int, says: str,
) -> None:  # fmt: skip
    case_id = a_case(api, f"{p}c")
    before = files_in(documents_dir)
    refused = upload(api, case_id, name, content, kind)
    assert refused.status_code == status, refused.text
    error = refused.json()["error"]
    assert says in error["message"] and error["details"][0]["field"] == "file"
    assert files_in(documents_dir) == before  # nothing kept, not even a temporary file
    assert api.get(f"/v1/cases/{case_id}/documents").json()["documents"] == []


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(
    api: TestClient, p: str, documents_dir: Path
) -> None:
    case_id = a_case(api, f"{p}c")
    before = files_in(documents_dir)
    just_over = PDF + b"%" * (LIMIT - len(PDF) + 1)
    refused = upload(api, case_id, "big.pdf", just_over, "application/pdf")
    assert refused.status_code == 413, refused.text
    assert "CASEWISE_MAX_DOCUMENT_BYTES" in refused.json()["error"]["message"]
    # a body far over the limit is refused by its length, before it is read
    huge = upload(api, case_id, "huge.pdf", PDF + b"%" * (200 * 1024), "application/pdf")
    assert huge.status_code == 413
    assert files_in(documents_dir) == before
    at_limit = PDF + b"%" * (LIMIT - len(PDF))
    assert upload(api, case_id, "fits.pdf", at_limit, "application/pdf").status_code == 201


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        # httpx escapes a quote and line breaks in a multipart file name, as browsers do
        ('a"; filename=evil.html\r\nX-Evil: 1.txt', "a%22; filename=evil.html%0D%0AX-Evil: 1.txt"),
        ("\u202eexe.txt", "exe.txt"),
        ("...", "document"),
    ],
)
def test_a_file_name_reaches_no_folder_and_no_header(
    api: TestClient, p: str, documents_dir: Path, sent: str, kept: str
) -> None:
    case_id = a_case(api, f"{p}c")
    answer = upload(api, case_id, sent, f"text for {sent!r}".encode(), "text/plain")
    assert answer.status_code == 201, answer.text
    doc = answer.json()["document"]
    assert doc["name"] == kept
    assert all(path.is_relative_to(documents_dir) for path in files_in(documents_dir))
    got = api.get(f"/v1/cases/{case_id}/documents/{doc['id']}")
    assert got.status_code == 200 and "x-evil" not in got.headers
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment; ") and "\n" not in disposition


def test_document_ids_are_not_paths(api: TestClient, p: str) -> None:
    case_id = a_case(api, f"{p}c")
    for bad in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a" * 101):
        got = api.get(f"/v1/cases/{case_id}/documents/{bad}")
        assert got.status_code in (404, 422), (bad, got.status_code)
        assert got.headers["content-type"].startswith("application/json")


def test_a_scoped_key_never_reaches_another_cases_documents(
    app: Any, api: TestClient, p: str, documents_dir: Path
) -> None:
    other = a_case(api, f"{p}other")
    doc = upload(api, other, "secret.pdf", PDF, "application/pdf").json()["document"]
    key = create_key(memory()[0], f"{p}scoped", ["invoice-approval"])
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as scoped:
        mine = a_case(scoped, f"{p}mine")  # a case this key created: it may see it
        assert scoped.get(f"/v1/cases/{mine}/documents").json()["documents"] == []
        for path in (
            f"/v1/cases/{other}/documents/{doc['id']}",
            f"/v1/cases/{other}/documents",
            f"/v1/cases/{other}/notes",
            f"/v1/cases/{mine}/documents/{doc['id']}",  # its own case, another's document
        ):
            got = scoped.get(path)
            assert got.status_code == 404, (path, got.text)
            assert b"%PDF" not in got.content and "secret" not in got.text
        before = files_in(documents_dir)
        sent = scoped.post(
            f"/v1/cases/{other}/documents", files={"file": ("x.txt", b"new text", "text/plain")}
        )
        assert sent.status_code == 404
        assert files_in(documents_dir) == before
        assert scoped.post(f"/v1/cases/{other}/notes", json={"text": "hi"}).status_code == 404
