"""A rule author, in a real browser: the rules page says where a refused file is wrong."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.site import BROKEN_NAME, BROKEN_POSITION, Site

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]


def test_rules_page_shows_a_refused_file_with_its_error_position(
    author: Page, arrive: Callable[[str], None], site: Site
) -> None:
    author.goto("/rules")
    arrive("Rules")
    refused = author.locator(f"#rulesets tr[data-name='{BROKEN_NAME}']")
    expect(refused).to_have_class("refused")
    problem = refused.locator("ul.problems li").first
    # file:line:col, then the message with its suggestion
    expect(problem.locator("code")).to_have_text(f"{site.rules / BROKEN_POSITION}")
    expect(problem).to_contain_text("unknown field 'amout'; did you mean 'amount'?")
    # the files beside it are served, and each has its own page
    loaded = author.locator("#rulesets tr[data-name='invoice-approval']")
    expect(loaded).to_have_class("loaded")
    loaded.get_by_role("link", name="invoice-approval").click()
    arrive("invoice-approval")
