"""An expert, in a real browser: the worklist, a fraud-ring claim, deciding on its advice."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.site import Demo

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]

REASON = "the claimant already sent every document"


def open_ring_claim_from_the_worklist(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    # this session's cases as a worklist: the expert's own first, then overdue, most urgent;
    # the demo's headline ring claim (the expert's, priority 1, overdue) heads it
    expert.goto("/")
    arrive("Worklist")
    expert.get_by_label("Search", exact=True).fill(demo.prefix)
    expert.get_by_role("button", name="Search", exact=True).click()
    arrive("Worklist")
    expert.get_by_role("link", name="as a worklist").click()
    arrive("Worklist")
    row = expert.locator("#worklist tbody tr").first
    expect(row).to_have_attribute("data-case", demo.ring_claim)
    expect(row.locator("td.due .sla.overdue-mark")).to_contain_text("overdue")
    row.get_by_role("link", name=demo.ring_claim).click()
    arrive(f"Case {demo.ring_claim}")


def recommendation(expert: Page, action: str) -> Locator:
    return expert.locator(f"#recommendations article.recommendation[data-action='{action}']")


def test_expert_sees_the_referral_and_overrides_another_recommendation(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    open_ring_claim_from_the_worklist(expert, arrive, demo)
    ring = next(r for r in demo.data.rings if demo.ring_claim in r)
    for member in ring:
        if member != demo.ring_claim:
            expect(expert.locator(f"#links tr[data-case='{member}']")).to_have_count(1)

    siu = recommendation(expert, "refer-to-siu")
    expect(siu).to_have_count(1)
    expect(siu.locator("p.rationale")).to_contain_text("linked to")
    expect(siu.get_by_role("button", name="Accept")).to_be_visible()

    # its evidence is not all verified, so the playbook also advises verifying it: override
    # that (it is overdue but already at priority 1, so no raise is advised)
    expect(recommendation(expert, "raise-priority")).to_have_count(0)
    other = recommendation(expert, "verify-evidence")
    expect(other).to_have_count(1)
    rid = other.get_attribute("id")
    override = other.locator("form.override")
    override.get_by_label("Action taken instead").select_option("request-documents")
    override.get_by_label("Reason (at least three words)").fill(REASON)
    override.get_by_role("button", name="Override").click()

    # back on the case page (a 303), where the recommendations say what was done
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(demo.ring_claim)}$"))
    arrive(f"Case {demo.ring_claim}")
    banner = expert.locator("#recommendations #form-done")
    expect(banner).to_contain_text("Request documents")
    expect(banner).to_be_focused()
    taken = expert.locator("#timeline ol.timeline li[data-kind='request-documents']")
    expect(taken).to_have_count(1)
    expect(taken).to_contain_text("overridden")
    expect(taken.locator("q.reason")).to_have_text(REASON)
    expect(expert.locator(f"article.recommendation[id='{rid}']")).to_have_count(0)
    expect(siu).to_have_count(1)  # the referral is still to be decided


def test_ring_claim_page_pictures_its_neighbourhood(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    open_ring_claim_from_the_worklist(expert, arrive, demo)
    picture = expert.locator("#picture svg")
    expect(picture.first).to_be_visible()
    expect(picture.first.locator("title").first).to_contain_text(demo.ring_claim)
    # the claim, drawn apart, with what links it to the rest of its ring
    expect(picture.first.locator("g.node.focus")).to_have_count(1)
    assert picture.first.locator("g.node").count() > 2
