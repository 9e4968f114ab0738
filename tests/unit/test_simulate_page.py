"""The simulation page in-process, without a graph: the form, CSRF, a refused candidate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from tests.auth import csrf, make_client
from tests.fixtures import RULES
from tests.pagetree import parse

KNOWLEDGE = Path(__file__).parents[2] / "knowledge"
BROWSER = {"Accept": "text/html"}


@pytest.fixture
def author() -> Iterator[TestClient]:
    settings = Settings(rules_dir=RULES, knowledge_dir=KNOWLEDGE, neo4j_uri="")
    with make_client(settings, role="author") as client:
        yield client


def test_the_form_starts_from_the_served_file(author: TestClient) -> None:
    response = author.get("/rules/invoice-approval/simulate", headers=BROWSER)
    assert response.status_code == 200
    served = (RULES / "invoice-approval.yaml").read_text(encoding="utf-8")
    doc = parse(response.text)
    form = doc.one("form", id="simulate-form")
    assert form.get("method") == "post"
    assert form.get("action") == "/rules/invoice-approval/simulate#result"  # the answer in view
    area = form.one("textarea", name="candidate")
    assert area.get("wrap") == "off"  # no soft wrap: a line is a line, as the errors count them
    lines = served.count("\n") + (0 if served.endswith("\n") else 1)
    gutter = doc.one("pre", id="gutter").text().split()
    assert gutter[0] == "1" and int(gutter[-1]) >= lines
    assert doc.one("script").get("src") == "/static/editor.js"  # served, never inline
    assert form.one("input", name="csrf").get("value") == csrf(author)
    assert form.one("textarea", name="candidate").text() == " ".join(served.split())
    assert {i.get("name") for i in form.find_all("input")} >= {"since", "until", "limit"}
    assert doc.find("section", id="report") is None
    # the ruleset page links to it
    ruleset = parse(author.get("/rules/invoice-approval", headers=BROWSER).text)
    link = ruleset.one("a", id="simulate-link")
    assert link.get("href") == "/rules/invoice-approval/simulate"


def test_a_post_without_the_csrf_token_is_refused(author: TestClient) -> None:
    response = author.post("/rules/invoice-approval/simulate", data={"candidate": "x"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf-failed"


def test_a_candidate_that_does_not_load_is_shown_with_its_problems(author: TestClient) -> None:
    text = (RULES / "invoice-approval.yaml").read_text(encoding="utf-8")
    form = {"candidate": text.replace("amount", "amout", 3), "csrf": csrf(author), "limit": "10"}
    response = author.post("/rules/invoice-approval/simulate", data=form, headers=BROWSER)
    assert response.status_code == 422
    doc = parse(response.text)
    assert doc.one("textarea", name="candidate").get("aria-invalid") == "true"
    problems = [li.text() for li in doc.one("ul", id="problems").find_all("li")]
    assert problems and all(p.startswith("candidate invoice-approval.yaml:") for p in problems)
    assert "amout" in " ".join(problems)
    headline = doc.one(id="candidate-error")
    assert "alert" in headline.classes and headline.get("role") == "alert"
    assert f"does not load: {len(problems)} problem(s)" in headline.text()
    # each problem is a link to its line and column, and its line is marked in the gutter
    link = doc.one("ul", id="problems").find_all("a", cls="goto")[0]
    line, col = int(link.get("data-line")), int(link.get("data-col"))
    assert link.text().startswith(f"candidate invoice-approval.yaml:{line}:{col}")
    marked = [int(s.text()) for s in doc.one("pre", id="gutter").find_all("span", cls="bad")]
    assert line in marked
    assert doc.find("section", id="report") is None


def test_a_candidate_of_another_ruleset_is_refused(author: TestClient) -> None:
    text = (RULES / "invoice-approval.yaml").read_text(encoding="utf-8")
    other = text.replace("ruleset: invoice-approval", "ruleset: other-invoices", 1)
    form = {"candidate": other, "csrf": csrf(author)}
    response = author.post("/rules/invoice-approval/simulate", data=form, headers=BROWSER)
    assert response.status_code == 422
    problems = parse(response.text).one("ul", id="problems").text()
    assert "other-invoices" in problems  # the problem names what the file says
    assert "must be a ruleset file" not in response.text  # not a headline that blames the rest


def test_without_a_graph_the_page_says_how_to_set_one(author: TestClient) -> None:
    text = (RULES / "invoice-approval.yaml").read_text(encoding="utf-8")
    form = {"candidate": text, "csrf": csrf(author), "since": "2026-01-01"}
    response = author.post("/rules/invoice-approval/simulate", data=form, headers=BROWSER)
    assert response.status_code == 503
    assert "NEO4J_URI" in parse(response.text).one("p", id="note").text()


def test_bad_dates_and_limits_are_named(author: TestClient) -> None:
    text = (RULES / "invoice-approval.yaml").read_text(encoding="utf-8")
    form = {"candidate": text, "csrf": csrf(author), "since": "soon", "limit": "0"}
    response = author.post("/rules/invoice-approval/simulate", data=form, headers=BROWSER)
    assert response.status_code == 422
    doc = parse(response.text)
    assert "soon" in doc.one("p", id="since-error").text()
    assert "from 1" in doc.one("p", id="limit-error").text()


def test_an_unknown_ruleset_is_404(author: TestClient) -> None:
    assert author.get("/rules/nope/simulate", headers=BROWSER).status_code == 404
