"""A rule author, in a real browser: the editor that points at the error, versions and diffs,
the decision log, lint examples run as dry runs, and a suggestion one click from a simulation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.shots import picture
from tests.browser.site import Site
from tests.rulefiles import rule_text

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.neo4j]


def test_the_editor_points_at_the_error(author: Page, arrive: Callable[[str], None]) -> None:
    author.goto("/rules/invoice-approval/simulate")
    arrive("Simulate a change")
    editor = author.locator("#candidate")
    expect(editor).to_have_attribute("wrap", "off")
    assert editor.evaluate("e => getComputedStyle(e).whiteSpace") == "pre"
    assert "mono" in editor.evaluate("e => getComputedStyle(e).fontFamily").lower()
    text = editor.input_value()
    broken = text.replace("when: amount", "when: amout", 1)
    assert broken != text
    editor.fill(broken)
    author.get_by_role("button", name="Simulate").click()
    arrive("Simulate a change")
    headline = author.locator("#candidate-error")
    expect(headline).to_be_in_viewport()  # the answer is where the person looks
    expect(headline).to_contain_text("does not load")
    assert headline.evaluate("e => getComputedStyle(e).color") == "rgb(164, 22, 26)"  # --danger
    link = author.locator("#problems a.goto").first
    line = int(link.get_attribute("data-line") or 0)
    col = int(link.get_attribute("data-col") or 0)
    expect(author.locator("#gutter span.bad")).to_have_text(str(line))
    link.click()
    expect(editor).to_be_focused()
    lines = editor.input_value().split("\n")
    offset = sum(len(x) + 1 for x in lines[: line - 1]) + col - 1
    assert editor.evaluate("e => e.selectionStart") == offset
    assert lines[line - 1][col - 1 :].startswith("amout")
    picture(author, "editor")


def test_versions_are_listed_and_compared_in_colour(
    author: Page, arrive: Callable[[str], None], site: Site
) -> None:
    name = f"versions-{uuid.uuid4().hex[:8]}"  # the graph keeps versions across runs
    file = site.rules / f"{name}.yaml"
    for number in (1, 2):
        file.write_text(rule_text(number, name=name))
        author.goto("/rules")
        author.get_by_role("button", name="Reload rules now").click()
        arrive("Rules")
        expect(author.locator("#reload-report")).to_be_visible()
        author.goto(f"/rules/{name}/versions")
        expect(author.locator("#versions tbody tr")).to_have_count(number, timeout=20_000)
    arrive("Versions of")
    author.get_by_label("Show").select_option("side-by-side")
    author.get_by_role("button", name="Compare").click()
    arrive("Versions of")
    changed = author.locator("#side-by-side tr.change", has_text="version_no").first
    expect(changed.locator("td.del")).to_contain_text("default: 1")
    expect(changed.locator("td.add")).to_contain_text("default: 2")
    assert changed.locator("td.add").evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(230, 255, 236)"
    )
    picture(author, "versions")
    author.get_by_label("Show").select_option("unified")
    author.get_by_role("button", name="Compare").click()
    expect(author.locator("#unified span.del")).to_contain_text(["default: 1"])
    author.locator("#versions a", has_text="file").last.click()
    arrive(name)
    expect(author.locator("#L1")).to_contain_text(f"ruleset: {name}")


def test_the_decision_log_filters_and_explains(author: Page, arrive: Callable[[str], None]) -> None:
    author.goto("/rules")
    author.locator("header nav").get_by_role("link", name="Decisions").click()
    arrive("Decisions")
    author.get_by_label("Ruleset").select_option("invoice-approval")
    author.get_by_label("Opened a case").select_option("true")
    author.get_by_role("button", name="Show").click()
    arrive("Decisions")
    rows = author.locator("#decisions tbody tr[data-decision]")
    expect(rows.first).to_be_visible()
    expect(author.locator("#export")).to_have_attribute(
        "href", re.compile(r"ruleset=invoice-approval.*case_opened=true")
    )
    picture(author, "decisions")
    rows.first.get_by_role("link").first.click()
    arrive("Decision")
    expect(author.locator("#fired li").first).to_be_visible()
    expect(author.locator("#case a")).to_be_visible()  # the case it opened


def test_a_lint_example_runs_as_a_dry_run(author: Page, arrive: Callable[[str], None]) -> None:
    author.goto("/rules/invoice-approval")
    arrive("invoice-approval")
    finding = author.locator("#findings tr.finding", has=author.locator("form.run-example")).first
    expect(finding).to_be_visible()
    finding.get_by_role("button", name="Run this example").click()
    arrive("Try an input")
    expect(author.locator("#decision #outputs")).to_be_visible()
    expect(author.locator("#fired li").first).to_be_visible()


def test_a_suggestion_is_coloured_and_one_click_from_its_simulation(
    author: Page, arrive: Callable[[str], None]
) -> None:
    author.goto("/rules")
    arrive("Rules")
    suggestion = author.locator(
        "section.suggestion", has=author.locator("form.simulate-suggestion")
    )
    expect(suggestion.first).to_be_visible()
    expect(suggestion.first.locator("pre.diff span.add").first).to_be_visible()
    suggestion.first.evaluate("e => e.scrollIntoView()")
    picture(author, "suggestion")
    suggestion.first.get_by_role("button", name="Simulate this suggestion").click()
    arrive("Simulate a change")
    expect(author.locator("#report, #note").first).to_be_in_viewport()
