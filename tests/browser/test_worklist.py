"""An expert's worklist in a real browser: triage order, recommendations counted in the
background, sorting by a column, and search by what a person remembers of a case."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.site import Demo, Site

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]


def search(expert: Page, arrive: Callable[[str], None], text: str) -> None:
    expert.goto("/")
    arrive("Worklist")
    expert.get_by_label("Search", exact=True).fill(text)
    expert.get_by_role("button", name="Search", exact=True).click()
    arrive("Worklist")


def column(expert: Page, name: str) -> list[str]:
    return expert.locator(f"#worklist tbody td.{name}").all_inner_texts()


def test_worklist_triage_puts_my_overdue_cases_first_and_sorts_by_column(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    search(expert, arrive, demo.prefix)
    expect(expert.locator("#count")).to_contain_text("Found")
    expert.get_by_role("link", name="as a worklist").click()
    arrive("Worklist")
    head = expert.locator("#worklist tbody tr").first
    expect(head).to_have_attribute("data-case", demo.ring_claim)
    expect(head).to_have_class(re.compile(r"\bmine\b"))
    expect(head.locator("td.assignee")).to_contain_text("you")
    # a deadline a person can act on: "3 days overdue", highlighted
    expect(head.locator("td.due .sla")).to_have_text(re.compile(r"^\d+ days overdue$"))
    expect(head).to_have_class(re.compile(r"\boverdue\b"))
    mine = [
        "mine" in (row.get_attribute("class") or "")
        for row in expert.locator("#worklist tbody tr").all()
    ]
    assert mine == sorted(mine, reverse=True), "the expert's own cases come first"

    expert.get_by_role("link", name="Priority").click()
    arrive("Worklist")
    expect(expert).to_have_url(re.compile(r"sort=priority"))
    expect(expert.locator("th[data-column='priority']")).to_have_attribute("aria-sort", "ascending")
    ascending = [int(p) for p in column(expert, "priority")]
    assert ascending == sorted(ascending)
    expert.get_by_role("link", name=re.compile(r"^Priority")).click()  # again: the other way
    arrive("Worklist")
    expect(expert.locator("th[data-column='priority']")).to_have_attribute(
        "aria-sort", "descending"
    )
    descending = [int(p) for p in column(expert, "priority")]
    assert descending == sorted(descending, reverse=True) and descending != ascending


def test_a_new_case_shows_its_advice_on_the_worklist_without_being_opened(
    expert: Page, arrive: Callable[[str], None], demo: Demo, site: Site, graph_key: str
) -> None:
    case_id = f"{demo.prefix}new-{uuid.uuid4().hex[:6]}"
    claim: dict[str, Any] = {
        "id": case_id,
        "type": "insurance-claim",
        "opened_at": "2026-01-05T08:00:00Z",
        "due_at": "2099-01-01T00:00:00Z",
        "parties": [{"id": f"{case_id}-ann", "kind": "person", "name": "Ann Newcase",
                     "role": "claimant", "flagged": True}],
    }  # fmt: skip
    sent = httpx.post(
        f"{site.url}/v1/cases",
        json={"cases": [claim]},
        headers={"Authorization": f"Bearer {graph_key}"},
    )
    assert sent.status_code == 200, sent.text
    # the server recommends in the background: the count and top action arrive by themselves
    search(expert, arrive, case_id)
    row = expert.locator(f"#worklist tbody tr[data-case='{case_id}']")
    deadline = time.monotonic() + 20
    while row.locator("td.pending").inner_text() == "0" and time.monotonic() < deadline:
        expert.reload()  # as a person would, looking again
    expect(row.locator("td.pending")).not_to_have_text("0")
    top = row.locator("td.top").inner_text()
    pending = int(row.locator("td.pending").inner_text())
    row.get_by_role("link", name=case_id).click()
    arrive(f"Case {case_id}")
    advice = expert.locator("#recommendations article.recommendation")
    expect(advice).to_have_count(pending)  # what the worklist counted
    expect(advice.first.locator("h3")).to_contain_text(top)  # the best scored comes first
    expect(expert.locator("#recommendations [data-action='refer-to-siu']")).to_have_count(1)


def test_search_finds_a_case_by_id_party_name_policy_and_email(
    expert: Page, arrive: Callable[[str], None], demo: Demo
) -> None:
    claim = next(c for c in demo.data.cases if c.id == demo.ring_claim)
    claimant = next(p for p in claim.parties if p.role == "claimant")
    email = next(i.value for i in claimant.identifiers if i.kind == "email")
    policy = str(claim.attributes["policy"])

    search(expert, arrive, claim.id)
    expect(expert.locator("#worklist tbody tr").first).to_have_attribute("data-case", claim.id)
    for text in (f"{claimant.name} {demo.prefix}", policy, email.upper()):
        search(expert, arrive, text)
        expect(expert.locator(f"#worklist tbody tr[data-case='{claim.id}']")).to_have_count(1)
    # a search looks at closed cases too, and says when nothing matches
    search(expert, arrive, f"{demo.prefix}nobody-by-this-name")
    expect(expert.locator("#count")).to_contain_text("No case matches")
