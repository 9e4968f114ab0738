"""Notes and documents on a case over HTTP (TestClient, lifespan on) against the real Neo4j:
through the API and through the case page's forms, as an expert would use them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from service.engine import Registry
from tests.auth import as_role, csrf, make_app
from tests.graphs import settings_for
from tests.pagetree import parse

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(scope="module")
def documents_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("documents")


@pytest.fixture(scope="module")
def app(neo4j_server: Neo4jServer, documents_dir: Path) -> Any:
    settings = settings_for(neo4j_server, documents_dir=documents_dir, max_document_bytes=4096)
    return make_app(settings, Registry())


@pytest.fixture(scope="module")
def api(app: Any) -> Iterator[TestClient]:
    with as_role(TestClient(app), "system") as client:
        yield client


@pytest.fixture(scope="module")
def expert(app: Any) -> Iterator[TestClient]:
    with as_role(TestClient(app), "expert") as client:
        yield client


def a_case(api: TestClient, p: str) -> str:
    case = {
        "id": f"{p}c",
        "type": "insurance-claim",
        "opened_at": "2026-01-01T08:00:00Z",
        "evidence": [{"id": f"{p}ev", "kind": "police_report",
                      "received_at": "2026-01-02T08:00:00Z", "description": "Report of the theft"}],
    }  # fmt: skip
    assert api.post("/v1/cases", json={"cases": [case]}).status_code == 200
    return f"{p}c"


def test_a_note_is_written_once_and_listed(api: TestClient, p: str) -> None:
    case_id = a_case(api, p)
    first = api.post(f"/v1/cases/{case_id}/notes", json={"id": f"{p}n1", "text": " Rang him. "})
    assert first.status_code == 201, first.text
    note = first.json()["note"]
    assert note["text"] == "Rang him." and note["author"] == "system" and note["at"]
    again = api.post(f"/v1/cases/{case_id}/notes", json={"id": f"{p}n1", "text": "changed"})
    assert again.status_code == 200 and again.json() == {"note": note, "created": False}
    listed = api.get(f"/v1/cases/{case_id}/notes").json()["notes"]
    assert [n["text"] for n in listed] == ["Rang him."]

    empty = api.post(f"/v1/cases/{case_id}/notes", json={"text": "   "})
    assert empty.status_code == 422 and "text" in empty.text
    other = a_case(api, p + "o")
    taken = api.post(f"/v1/cases/{other}/notes", json={"id": f"{p}n1", "text": "x"})
    assert taken.status_code == 409, taken.text
    assert api.get(f"/v1/cases/{other}/notes").json()["notes"] == []
    assert api.post(f"/v1/cases/{p}none/notes", json={"text": "x"}).status_code == 404


def test_a_document_is_kept_by_content_and_downloaded_as_an_attachment(
    api: TestClient, p: str, documents_dir: Path
) -> None:
    case_id = a_case(api, p)
    files = {"file": ("report.pdf", PDF, "application/pdf")}
    sent = api.post(f"/v1/cases/{case_id}/documents", files=files, data={"evidence": f"{p}ev"})
    assert sent.status_code == 201, sent.text
    doc = sent.json()["document"]
    assert doc["name"] == "report.pdf" and doc["content_type"] == "application/pdf"
    assert doc["size"] == len(PDF) and doc["evidence"] == f"{p}ev"
    kept = documents_dir / doc["sha256"][:2] / doc["sha256"]
    assert kept.read_bytes() == PDF
    # the same file again: the same record
    again = api.post(f"/v1/cases/{case_id}/documents", files=files, data={"evidence": f"{p}ev"})
    assert again.status_code == 200 and again.json() == {"document": doc, "created": False}
    assert [d["id"] for d in api.get(f"/v1/cases/{case_id}/documents").json()["documents"]] == [
        doc["id"]
    ]

    got = api.get(f"/v1/cases/{case_id}/documents/{doc['id']}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert got.headers["x-content-type-options"] == "nosniff"

    wrong = api.post(
        f"/v1/cases/{case_id}/documents", files=files, data={"evidence": f"{p}not-there"}
    )
    assert wrong.status_code == 422 and "evidence" in wrong.json()["error"]["message"]


def test_an_expert_adds_a_note_and_a_document_from_the_case_page(
    expert: TestClient, api: TestClient, p: str
) -> None:
    case_id = a_case(api, p)
    page = expert.get(f"/cases/{case_id}")
    tree = parse(page.text)
    note_id = tree.one("section", id="notes").one("input", name="note_id").get("value")
    form = {"csrf": csrf(expert), "note_id": note_id, "text": "Claimant sent the receipt."}
    sent = expert.post(f"/cases/{case_id}/notes", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"/cases/{case_id}"
    shown = parse(expert.get(sent.headers["location"]).text).one("section", id="notes")
    assert shown.one("p", id="note-done").text() == "Note added."  # at its card, once
    # the same form sent twice is one note
    expert.post(f"/cases/{case_id}/notes", data=form, follow_redirects=False)

    upload = {"file": ("receipt.txt", b"Paid 120.00 EUR\n", "text/plain")}
    sent = expert.post(
        f"/cases/{case_id}/documents",
        files=upload,
        data={"csrf": csrf(expert), "evidence": ""},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text

    page = expert.get(sent.headers["location"])
    tree = parse(page.text)
    notes = tree.one("section", id="notes").find_all("li", cls="note")
    assert [n.one("p", cls="text").text() for n in notes] == ["Claimant sent the receipt."]
    assert tree.one("section", id="documents").one("p", id="document-done").text() == (
        "Document attached."
    )
    link = tree.one("section", id="documents").one("tbody").one("a")
    assert link.text() == "receipt.txt"
    kinds = {k for li in tree.one("ol", cls="timeline").find_all("li") for k in li.classes}
    assert {"note", "document"} <= kinds
    download = expert.get(link.get("href"))
    assert download.content == b"Paid 120.00 EUR\n"
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["content-disposition"].startswith("attachment;")


def test_a_refused_note_or_upload_is_shown_at_its_card(
    expert: TestClient, api: TestClient, p: str
) -> None:
    case_id = a_case(api, p)
    form = {"csrf": csrf(expert), "note_id": f"{p}n", "text": "   "}
    refused = expert.post(f"/cases/{case_id}/notes", data=form)
    assert [r.status_code for r in refused.history] == [303]  # post/redirect/get
    alert = parse(refused.text).one("section", id="notes").one("p", id="note-error")
    assert "empty" in alert.text() and "autofocus" in alert.attrs

    html = b"<!doctype html><script>alert(1)</script>"
    refused = expert.post(
        f"/cases/{case_id}/documents",
        files={"file": ("invoice.pdf", html, "application/pdf")},
        data={"csrf": csrf(expert)},
    )
    assert [r.status_code for r in refused.history] == [303], refused.text
    alert = parse(refused.text).one("section", id="documents").one("p", id="document-error")
    assert "markup" in alert.text() and "autofocus" in alert.attrs
    assert api.get(f"/v1/cases/{case_id}/documents").json()["documents"] == []

    # without the form's CSRF token nothing is kept
    refused = expert.post(
        f"/cases/{case_id}/documents", files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert refused.status_code == 403
    assert api.get(f"/v1/cases/{case_id}/documents").json()["documents"] == []
    assert re.search("CSRF", refused.text)
