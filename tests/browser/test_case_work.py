"""Working a case in a real browser: take it, hand it over, queue it, close and reopen it,
accept advice that changes the case, and a refused override shown where it was typed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.site import COLLEAGUE, Demo

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]


def plain_open_cases(demo: Demo) -> list[str]:
    """This session's open cases that are in no ring and not the headline, by id."""
    ringed = {c for ring in demo.data.rings for c in ring}
    return sorted(
        c.id
        for c in demo.data.cases
        if c.status != "closed" and c.id not in ringed and c.id != demo.ring_claim
    )


def open_case(page: Page, arrive: Callable[[str], None], case_id: str) -> None:
    page.goto(f"/cases/{case_id}")
    arrive(f"Case {case_id}")


def done(page: Page, text: str) -> Locator:
    """The banner at the work card, focused, saying what was done."""
    banner = page.locator("#work #form-done")
    expect(banner).to_contain_text(text)
    expect(banner).to_be_focused()
    return banner


def focus_on(page: Page, element_id: str) -> None:
    """Wait until ``document.activeElement`` is the element: the keyboard is at the message."""
    page.wait_for_function("id => document.activeElement?.id === id", arg=element_id)


def timeline(page: Page, kind: str) -> Locator:
    return page.locator(f"#timeline ol.timeline li[data-kind='{kind}']")


def test_close_with_an_outcome_then_reopen(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    case_id = plain_open_cases(demo)[0]
    open_case(expert, arrive, case_id)
    work = expert.locator("#work")
    work.get_by_label("Outcome").fill("no-action")
    work.get_by_label("Why (optional)").fill("the customer withdrew the claim")
    work.get_by_role("button", name="Close the case").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(case_id)}$"))
    arrive(f"Case {case_id}")
    done(expert, "Closed: no-action.")
    expect(work.locator("strong.status")).to_have_text("closed")
    closed = timeline(expert, "closed")
    expect(closed.last).to_contain_text("by expert")
    expect(closed.last).to_contain_text("outcome: no-action")
    expect(expert.locator("#recommendations #why-none")).to_contain_text("closed")

    work.get_by_label("Why (optional)").fill("the customer sent new photos")
    work.get_by_role("button", name="Reopen").click()
    arrive(f"Case {case_id}")
    done(expert, "Reopened.")
    expect(work.locator("strong.status")).to_have_text("open")
    reopened = timeline(expert, "reopened")
    expect(reopened).to_contain_text("by expert")
    expect(reopened.locator("q.reason")).to_have_text("the customer sent new photos")
    expert.reload()  # the address is the page's, not the form's: reloading shows it again
    arrive(f"Case {case_id}")
    expect(expert.locator("#work #form-done")).to_have_count(0)  # said once


def test_take_give_back_hand_over_and_queue(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    case_id = plain_open_cases(demo)[1]
    open_case(expert, arrive, case_id)
    work = expert.locator("#work")
    if work.get_by_role("button", name="Give it back").count():
        work.get_by_role("button", name="Give it back").click()
        arrive(f"Case {case_id}")
    work.get_by_role("button", name="Take it").click()
    arrive(f"Case {case_id}")
    done(expert, "Assigned to you")
    expect(work.locator("strong.assignee")).to_have_text("expert")
    work.get_by_role("button", name="Give it back").click()
    arrive(f"Case {case_id}")
    done(expert, "Given back")
    expect(work.locator("strong.assignee")).to_have_text("no one")

    work.get_by_label("Hand over to").fill(COLLEAGUE)
    work.get_by_role("button", name="Hand over").click()
    arrive(f"Case {case_id}")
    done(expert, f"Assigned to {COLLEAGUE}")
    expect(work.locator("strong.assignee")).to_have_text(COLLEAGUE)
    handed = timeline(expert, "assigned").last
    expect(handed).to_contain_text(f"to {COLLEAGUE}")
    expect(handed).to_contain_text("by expert")

    # a name that is no expert of this service is refused at the card, as typed
    work.get_by_label("Hand over to").fill("nobody-at-all")
    work.get_by_role("button", name="Hand over").click()
    arrive(f"Case {case_id}")
    error = expert.locator("#work #form-error")
    expect(error).to_contain_text("expert user")
    focus_on(expert, "form-error")
    expect(error).to_be_in_viewport()
    expect(expert.locator("#form-error")).to_have_count(1)  # said at its card only
    expect(work.get_by_label("Hand over to")).to_have_value("nobody-at-all")

    work.get_by_label("Team queue").select_option(label="Special investigations unit")
    work.get_by_role("button", name="Put in queue").click()
    arrive(f"Case {case_id}")
    done(expert, "Team queue → Special investigations unit")
    expect(work.locator("strong.team")).to_have_text("Special investigations unit")
    queued = timeline(expert, "queued").last
    expect(queued).to_contain_text("team queue → Special investigations unit")  # by name


def test_accepting_a_referral_puts_the_case_in_the_investigators_queue(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    ring = demo.data.rings[1]
    claim = next(c for c in ring if c not in demo.data.closings)
    open_case(expert, arrive, claim)
    siu = expert.locator("#recommendations article.recommendation[data-action='refer-to-siu']")
    expect(siu).to_have_count(1)
    siu.get_by_role("button", name="Accept").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(claim)}$"))
    arrive(f"Case {claim}")
    banner = expert.locator("#recommendations #form-done")
    expect(banner).to_contain_text("Accepted 'Refer to special investigations'")
    expect(banner).to_contain_text("Team queue → Special investigations unit")
    work = expert.locator("#work")
    expect(work.locator("strong.status")).to_have_text("pending")
    expect(work.locator("strong.team")).to_have_text("Special investigations unit")
    effect = timeline(expert, "case-updated").last
    expect(effect).to_contain_text("by expert")
    expect(effect).to_contain_text("on accepting “Refer to special investigations”")
    expect(timeline(expert, "refer-to-siu")).to_contain_text("accepted")


def test_a_refused_override_is_shown_at_its_card_with_the_focus_on_the_message(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    ring = demo.data.rings[2] if len(demo.data.rings) > 2 else demo.data.rings[1]
    claim = next(c for c in ring if c not in demo.data.closings and c != demo.ring_claim)
    open_case(expert, arrive, claim)
    card = expert.locator("#recommendations article.recommendation").first
    rid = card.get_attribute("id")
    override = card.locator("form.override")
    chosen = override.get_by_label("Action taken instead")
    expect(chosen.locator("option:checked")).to_have_text("Choose…")  # nothing chosen for you
    chosen.select_option(index=1)
    reason = override.get_by_label("Reason (at least three words)")
    reason.fill("looks fine")
    override.get_by_role("button", name="Override").click()
    # the browser checks the three words first: the form is not sent
    assert reason.evaluate("el => !el.validity.valid && el.validity.patternMismatch")
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(claim)}$"))
    # a browser that does not check (or a page that is out of date) sends it: the server says no
    override.evaluate("form => { form.noValidate = true }")
    override.get_by_role("button", name="Override").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(claim)}$"))
    arrive(f"Case {claim}")
    error = expert.locator(f"#error-{rid}")
    expect(error).to_contain_text("at least 3 words")
    focus_on(expert, f"error-{rid}")
    expect(error).to_be_in_viewport()
    expect(
        expert.locator(f"article[id='{rid}']").get_by_label(re.compile("^Reason"))
    ).to_have_value("looks fine")
    expert.reload()  # no 405: the address is the case page's
    arrive(f"Case {claim}")


def test_a_refused_form_is_focused_also_on_an_address_with_a_fragment(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    # a redirect keeps the fragment of the form's address: the browser then skips autofocus
    # and focuses the fragment's target; static/focus.js puts the focus on the message again
    case_id = plain_open_cases(demo)[2]
    open_case(expert, arrive, case_id)
    hand_over = expert.locator("#work form.hand-over")
    hand_over.evaluate("form => { form.action = form.action + '#work' }")
    hand_over.get_by_label("Hand over to").fill("nobody-at-all")
    hand_over.get_by_role("button", name="Hand over").click()
    expect(expert).to_have_url(re.compile(rf"/cases/{re.escape(case_id)}#work$"))
    arrive(f"Case {case_id}")
    focus_on(expert, "form-error")
    expect(expert.locator("#form-error")).to_be_in_viewport()


def test_an_author_sees_the_case_but_no_buttons_they_may_not_use(
    author: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    open_case(author, arrive, demo.ring_claim)
    expect(author.locator("#recommendations article.recommendation").first).to_be_visible()
    expect(author.get_by_role("button", name="Accept")).to_have_count(0)
    expect(author.get_by_role("button", name="Override")).to_have_count(0)
    expect(author.locator("#work form")).to_have_count(0)
