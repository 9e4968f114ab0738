"""An upload's name and type (service/http/uploads.py): names cleaned, types read from bytes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from service.graph.documents import ContentStore
from service.http.errors import ApiError, PayloadTooLarge
from service.http.uploads import check_declared, clean_name, keep_upload, sniff


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\pat\\scan 1.png", "scan 1.png"),
        ("../../.bashrc", "bashrc"),
        ("tab\tand\x00nul\r\n.txt", "tabandnul.txt"),
        ("\u202egpj.exe", "gpj.exe"),
        ("  ", "document"),
        (None, "document"),
        ("x" * 300 + ".pdf", "x" * 120),
    ],
)
def test_a_name_keeps_no_folder_or_control_character(raw: str | None, clean: str) -> None:
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    ("head", "is_text", "kind"),
    [
        (b"%PDF-1.7\n", False, "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", False, "image/jpeg"),
        (b"Paid in full.\n", True, "text/plain"),
    ],
)
def test_the_type_is_read_from_the_bytes(head: bytes, is_text: bool, kind: str) -> None:
    assert sniff(head, is_text) == kind


@pytest.mark.parametrize(
    "head", [b"<!doctype html>", b"\n <HTML>", b"<?xml version='1.0'?><svg/>", b"hi <script>"]
)
def test_markup_is_never_accepted(head: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        sniff(head, True)
    assert refused.value.status == 415 and "markup" in refused.value.message


def test_a_declared_type_must_match_the_bytes() -> None:
    assert check_declared("", "application/pdf") == "application/pdf"
    assert check_declared("text/csv", "text/plain") == "text/csv"
    with pytest.raises(ApiError) as refused:
        check_declared("application/pdf", "text/plain")
    assert refused.value.status == 422 and "plain text" in refused.value.message


def test_content_is_kept_once_by_its_digest(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    first = keep_upload(store, io.BytesIO(b"%PDF-1.4 x"), "a.pdf", "application/pdf", 100)
    again = keep_upload(store, io.BytesIO(b"%PDF-1.4 x"), "b.pdf", None, 100)
    assert first.sha256 == again.sha256 and store.path(first.sha256).read_bytes() == b"%PDF-1.4 x"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [first.sha256]
    with pytest.raises(PayloadTooLarge):
        keep_upload(store, io.BytesIO(b"%PDF" + b"x" * 200), "c.pdf", None, 100)
    with pytest.raises(ValueError, match="SHA-256"):
        store.path("../../etc/passwd")
