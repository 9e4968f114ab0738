"""The README's pictures: the worklist, a case page and the dashboard, as an expert sees them,
and the worklist, a case and a refused override on a 390 px phone.

Every run saves them under ``test-artifacts/browser/readme/``; ``make screenshots`` runs this
test with ``CASEWISE_SCREENSHOTS`` set to ``docs/screenshots``, which the README shows. Each is
the first screen of the page at 1200x800 (small PNGs), or at 390x844 for the phone, taken once
the page shows what a user looks for on it.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.site import ARTIFACTS, Demo

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]

VIEWPORT: ViewportSize = {"width": 1200, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
PICTURES = {"worklist": VIEWPORT, "case": VIEWPORT, "dashboard": VIEWPORT,
            "phone-worklist": PHONE, "phone-case": PHONE, "phone-refused": PHONE}  # fmt: skip


def size(png: Path) -> tuple[int, int]:
    """The width and height written in a PNG's header."""
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_readme_screenshots(expert: Page, demo: Demo) -> None:
    expert.set_viewport_size(VIEWPORT)
    folder = ARTIFACTS / "readme"
    folder.mkdir(parents=True, exist_ok=True)

    expert.goto(f"/?q={demo.prefix}&sort=triage")  # this session's cases, as a worklist
    expect(expert.locator("#worklist tbody tr").first).to_have_attribute(
        "data-case", demo.ring_claim
    )
    expert.screenshot(path=str(folder / "worklist.png"))

    expert.goto(f"/cases/{demo.ring_claim}")
    expect(expert.locator("#recommendations article.recommendation").first).to_be_visible()
    expect(expert.locator("#picture svg")).to_be_visible()
    expert.screenshot(path=str(folder / "case.png"))

    expert.goto("/dashboard?days=all")
    expect(expert.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(expert.locator("#totals")).to_contain_text("routine decisions")
    expect(expert.locator("svg.chart").first).to_be_visible()
    expert.screenshot(path=str(folder / "dashboard.png"))

    expert.set_viewport_size(PHONE)
    expert.goto(f"/?q={demo.prefix}&sort=triage")
    expect(expert.locator("#worklist tbody tr").first).to_be_in_viewport()
    expert.screenshot(path=str(folder / "phone-worklist.png"))
    expert.goto(f"/cases/{demo.ring_claim}")
    expect(expert.locator("#picture svg")).to_be_visible()
    expert.screenshot(path=str(folder / "phone-case.png"))
    # an override with a short reason, past the browser's check: refused at its card, focused
    card = expert.locator("#recommendations article.recommendation").first
    rid = card.get_attribute("id")
    override = card.locator("form.override")
    override.get_by_label("Action taken instead").select_option(index=1)
    override.get_by_label("Reason (at least three words)").fill("looks fine")
    override.evaluate("form => { form.noValidate = true }")
    override.get_by_role("button", name="Override").click()
    expect(expert.locator(f"#error-{rid}")).to_be_focused()
    expect(expert.locator(f"#error-{rid}")).to_be_in_viewport()
    expert.screenshot(path=str(folder / "phone-refused.png"))

    for name, viewport in PICTURES.items():
        png = folder / f"{name}.png"
        assert size(png) == (viewport["width"], viewport["height"])
        assert png.stat().st_size < 400_000, f"{png} is not small"

    target = os.environ.get("CASEWISE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for name in PICTURES:
            shutil.copy(folder / f"{name}.png", Path(target) / f"{name}.png")
