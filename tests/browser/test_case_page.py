"""The case page in a real browser at 1366 px and on a 390 px phone: a note, a document
uploaded and downloaded, the picture's zoom, hidden events and links, the phone's header."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.site import Demo

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]

WIDE: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1366", "390"])
RECEIPT = "%PDF-1.4\n% receipt of the repair, 1,240.00 EUR, seen at {} px\ntrailer << >>\n%%EOF\n"


def focus_lands_on(page: Page, element_id: str) -> None:
    """Wait until the keyboard focus is on the element (``document.activeElement``), in view."""
    page.wait_for_function("id => document.activeElement?.id === id", arg=element_id)
    expect(page.locator(f"#{element_id}")).to_be_in_viewport()


def no_sideways_scroll(page: Page) -> None:
    """The page is no wider than the screen (a wide table scrolls in its own box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] if page.viewport_size else True, width


@SIZES
def test_an_expert_writes_a_note_and_attaches_a_document(
    expert: Page,
    arrive: Callable[[str], None],
    demo: Demo,
    viewport: ViewportSize,
    tmp_path: Path,
) -> None:
    expert.set_viewport_size(viewport)
    expert.goto(f"/cases/{demo.ring_claim}")
    arrive(f"Case {demo.ring_claim}")
    no_sideways_scroll(expert)

    text = f"Called the garage at {viewport['width']} px: the invoice is genuine."
    notes = expert.locator("#notes")
    notes.get_by_label("New note").fill(text)
    notes.get_by_role("button", name="Add note").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(demo.ring_claim)}$"))
    arrive(f"Case {demo.ring_claim}")
    expect(notes.get_by_role("status")).to_have_text("Note added.")
    focus_lands_on(expert, "note-done")
    expect(notes.locator("li.note p.text", has_text=text)).to_have_count(1)
    expect(notes.locator("li.note", has_text=text)).to_contain_text("expert")
    expect(expert.locator("#timeline li.note", has_text=text)).to_have_count(1)

    documents = expert.locator("#documents")
    name = f"receipt-{viewport['width']}.pdf"
    receipt = RECEIPT.format(viewport["width"]).encode()  # the same bytes are one document
    documents.get_by_label("File (PDF, image or plain text)").set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": receipt}
    )
    documents.get_by_role("button", name="Attach").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(demo.ring_claim)}$"))
    arrive(f"Case {demo.ring_claim}")
    expect(documents.get_by_role("status")).to_have_text("Document attached.")
    focus_lands_on(expert, "document-done")
    link = documents.get_by_role("link", name=name)
    expect(link).to_have_count(1)
    with expert.expect_download() as download:
        link.click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert download.value.suggested_filename == name
    assert saved.read_bytes() == receipt
    no_sideways_scroll(expert)


def test_a_page_disguised_as_a_pdf_is_refused_at_the_documents_card(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    expert.set_viewport_size(WIDE)
    expert.goto(f"/cases/{demo.ring_claim}")
    arrive(f"Case {demo.ring_claim}")
    documents = expert.locator("#documents")
    documents.get_by_label("File (PDF, image or plain text)").set_input_files(
        {"name": "invoice.pdf", "mimeType": "application/pdf",
         "buffer": b"<!doctype html><script>alert(document.cookie)</script>"}
    )  # fmt: skip
    documents.get_by_role("button", name="Attach").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(demo.ring_claim)}$"))
    arrive(f"Case {demo.ring_claim}")
    alert = documents.get_by_role("alert")
    expect(alert).to_contain_text("markup")
    focus_lands_on(expert, "document-error")  # the keyboard is at the message, in view
    expect(documents.get_by_role("link", name="invoice.pdf")).to_have_count(0)


def test_an_empty_note_is_refused_with_the_focus_on_the_message(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    expert.set_viewport_size(PHONE)
    expert.goto(f"/cases/{demo.ring_claim}")
    arrive(f"Case {demo.ring_claim}")
    notes = expert.locator("#notes")
    notes.get_by_label("New note").fill("   ")  # spaces pass the browser's check
    notes.get_by_role("button", name="Add note").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(demo.ring_claim)}$"))
    arrive(f"Case {demo.ring_claim}")
    expect(notes.get_by_role("alert")).to_contain_text("The note is empty")
    focus_lands_on(expert, "note-error")
    expect(notes.get_by_label("New note")).to_have_attribute("aria-describedby", "note-error")


@pytest.mark.parametrize("path", ["/", "case"])
def test_on_a_phone_the_header_fits_and_sign_out_is_on_screen(
    expert: Page, arrive: Callable[[str], None], demo: Demo, path: str
) -> None:
    expert.set_viewport_size(PHONE)
    expert.goto(f"/cases/{demo.ring_claim}" if path == "case" else path)
    arrive(f"Case {demo.ring_claim}" if path == "case" else "Worklist")
    sign_out = expert.locator("header.site").get_by_role("button", name="Sign out")
    expect(sign_out).to_be_in_viewport()
    box = sign_out.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    for link in ("Worklist", "Rules", "Dashboard"):
        expect(expert.locator("header.site nav").get_by_role("link", name=link)).to_be_in_viewport()
    no_sideways_scroll(expert)
    sign_out.click()
    expect(expert.get_by_role("heading", level=1)).to_contain_text("Sign in")


@SIZES
def test_the_picture_zooms_shows_events_on_demand_and_links_to_other_cases(
    expert: Page, arrive: Callable[[str], None], demo: Demo, viewport: ViewportSize
) -> None:
    expert.set_viewport_size(viewport)
    expert.goto(f"/cases/{demo.ring_claim}")
    arrive(f"Case {demo.ring_claim}")
    picture = expert.locator("#picture")
    svg = picture.locator("svg.neighbourhood")
    expect(svg).to_be_visible()
    # the bank account or address the ring shares is drawn as a hub, its label written out
    expect(svg.locator("g.node.hub").first).to_be_visible()

    events = svg.locator("g.node[data-kind='Event']")
    assert events.count() > 0  # the claim has events: hidden until asked for
    expect(events.first).to_be_hidden()
    picture.get_by_label("Show events").check()
    expect(events.first).to_be_visible()

    def width() -> float:
        box = svg.bounding_box()
        assert box is not None
        return box["width"]

    fit = width()
    picture.get_by_label("250%").check()
    expect(svg).to_have_js_property("clientWidth", round(fit * 2.5))
    scrolls = picture.locator(".picture-box").evaluate("b => b.scrollWidth > b.clientWidth")
    assert scrolls  # the picture scrolls in its own box
    no_sideways_scroll(expert)
    picture.get_by_label("Fit").check()
    assert abs(width() - fit) < 1

    link = svg.locator("a.case-link").first
    href = link.get_attribute("href")
    assert href and href.startswith("/cases/")
    link.click()
    expect(expert).to_have_url(re.compile(re.escape(href) + "$"))
    arrive(f"Case {href.removeprefix('/cases/')}")
