"""The pages without a case graph: rules pages, the 503 page, HTML errors for browsers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.auth import policy
from service.settings import Settings
from tests.auth import as_role, make_app, make_client
from tests.fixtures import BROKEN, RULES
from tests.pagetree import Node, parse

KNOWLEDGE = Path(__file__).parents[2] / "knowledge"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def app_client(rules: Path) -> TestClient:
    settings = Settings(rules_dir=rules, knowledge_dir=KNOWLEDGE, neo4j_uri="")
    return make_client(settings, role="author")


@pytest.fixture
def broken() -> Iterator[TestClient]:
    with app_client(BROKEN) as client:
        yield client


@pytest.fixture
def pages() -> Iterator[TestClient]:
    with app_client(RULES) as client:
        yield client


def page(client: TestClient, url: str, status: int = 200) -> Node:
    response = client.get(url, headers=BROWSER)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return parse(response.text)


def test_every_page_has_the_nav_and_the_stylesheet(pages: TestClient) -> None:
    doc = page(pages, "/rules")
    nav = doc.one("nav", aria_label="Main")
    # an author also reads the decision log; only an admin sees Admin
    assert [a.text() for a in nav.find_all("a")] == ["Worklist", "Rules", "Dashboard", "Decisions"]
    assert nav.one("a", href="/rules").get("aria-current") == "page"
    assert doc.one("link", rel="stylesheet").get("href") == "/static/casewise.css"
    css = pages.get("/static/casewise.css")
    assert css.status_code == 200 and ":focus-visible" in css.text


def test_rules_page_lists_a_refused_file_with_its_positions(broken: TestClient) -> None:
    doc = page(broken, "/rules")
    rulesets = doc.one("table", id="rulesets")
    fine = rulesets.one("tr", data_name="fine")
    assert "loaded" in fine.one("td", cls="status").text()
    assert len(fine.find_all("code")[1].text()) == 12  # short version hash
    typo = rulesets.one("tr", data_name="typo")
    status = typo.one("td", cls="status").text()
    assert status.startswith("refused")
    problems = [li.text() for li in typo.one("ul", cls="problems").find_all("li")]
    assert problems and all(p.startswith(f"{BROKEN / 'typo.yaml'}:") for p in problems)
    assert any(":9:11:" in p and "amout" in p for p in problems), problems
    # the playbooks are listed too, loaded, and link to their page
    playbooks = doc.one("table", id="playbooks")
    claim = playbooks.one("tr", data_name="insurance-claim")
    assert claim.one("a").get("href") == "/rules/insurance-claim"
    assert "loaded" in claim.one("td", cls="status").text()


def test_ruleset_page_shows_inputs_rules_tables_and_tests(pages: TestClient) -> None:
    doc = page(pages, "/rules/invoice-approval")
    assert doc.one("h1").text() == "Ruleset invoice-approval"
    inputs = doc.one("table", id="inputs")
    assert inputs.find("tr", data_field="amount") is not None
    rule_rows = [r for r in doc.one("table", id="rules").find_all("tr") if r.get("data-rule")]
    assert rule_rows
    first = rule_rows[0].find_all("td")
    assert first[0].text().isdigit() and first[1].text()  # priority, when
    tests = doc.one("table", id="tests")
    results = [r.one("td", cls="result").text() for r in tests.find_all("tr", cls="pass")]
    assert results and all(r == "pass" for r in results)
    assert tests.find("tr", cls="fail") is None
    assert doc.one("p", id="suite-summary").text().endswith("0 failed")


def test_ruleset_page_shows_a_decision_table_with_its_input_cells(pages: TestClient) -> None:
    # tests/fixtures/rules/invoice-approval.yaml: rows ['"IT"', "> 5000", 48] and ["-", "-", 24]
    table = page(pages, "/rules/invoice-approval").one("table", cls="decision-table")
    head = [th.text() for th in table.one("thead").find_all("th")]
    assert head == ["Row", "department", "amount", "sla_hours"]
    rows = [[c.text() for c in tr.find_all("td")] for tr in table.one("tbody").find_all("tr")]
    assert rows == [['"IT"', "> 5000", "48"], ["-", "-", "24"]]


def test_playbook_page_shows_its_facts(pages: TestClient) -> None:
    doc = page(pages, "/rules/insurance-claim")
    assert doc.one("h1").text() == "Playbook insurance-claim"
    assert doc.one("h2").text() == "Facts"
    assert doc.one("table", id="rules").find_all("tr")


def test_unknown_ruleset_is_a_404_page_with_its_name_escaped(pages: TestClient) -> None:
    response = pages.get("/rules/<script>x", headers=BROWSER)
    assert response.status_code == 404
    assert "<script>" not in response.text
    doc = parse(response.text)
    section = doc.one("section", id="error")
    assert section.get("data-code") == "not-found"
    assert "'<script>x'" in section.one("p", cls="message").text()


def test_worklist_without_a_graph_says_how_to_configure_it(pages: TestClient) -> None:
    doc = page(pages, "/", 503)
    message = doc.one("p", cls="message").text()
    assert "not configured" in message and "NEO4J_URI" in message
    assert doc.one("h1").text() == "503 Service Unavailable"
    assert page(pages, "/cases/c-1", 503).one("section", id="error")


def test_a_bad_worklist_filter_lists_the_field(pages: TestClient) -> None:
    doc = page(pages, "/?due_before=tomorrow", 422)
    fields = [
        li.one("strong", cls="field").text() for li in doc.one("ul", cls="fields").find_all("li")
    ]
    assert fields == ["due_before"]


def test_invalid_decision_input_is_a_page_for_a_browser_and_json_for_a_client(
    pages: TestClient,
) -> None:
    url = "/v1/decisions/invoice-approval"
    body = {"amount": "lots"}
    api = pages.post(url, json=body, headers={"Accept": "application/json"})
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "invalid-input"
    fields = {d["field"] for d in api.json()["error"]["details"]}
    browser = pages.post(url, json=body, headers=BROWSER)
    assert browser.status_code == 422
    assert browser.headers["content-type"].startswith("text/html")
    doc = parse(browser.text)
    assert doc.one("section", id="error").get("data-code") == "invalid-input"
    listed = {
        li.one("strong", cls="field").text() for li in doc.one("ul", cls="fields").find_all("li")
    }
    assert listed == fields
    # a client that accepts anything keeps the JSON shape
    assert pages.post(url, json=body).json()["error"]["code"] == "invalid-input"


def test_unknown_route_is_json_for_a_client_and_a_page_for_a_browser(pages: TestClient) -> None:
    assert pages.get("/nowhere").json()["error"]["code"] == "not-found"
    assert page(pages, "/nowhere", 404).one("section", id="error").get("data-code") == "not-found"


def test_internal_error_page_shows_the_id_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(rules_dir=RULES, knowledge_dir=KNOWLEDGE, neo4j_uri="")
    app = make_app(settings)

    def boom() -> None:
        raise RuntimeError("secret detail")

    # A route without a rule is served to no one (service/auth/policy.py): give it one.
    monkeypatch.setitem(policy.ROUTES, ("GET", "/boom"), policy.PAGE_READERS)
    app.add_api_route("/boom", boom)
    with as_role(TestClient(app, raise_server_exceptions=False), "author") as client:
        response = client.get("/boom", headers=BROWSER)
        assert response.status_code == 500
        assert "secret detail" not in response.text and "Traceback" not in response.text
        error_id = parse(response.text).one("code", cls="error-id").text()
        assert len(error_id) == 16
        api = client.get("/boom")
        assert api.json()["error"]["code"] == "internal"


def test_rules_page_lists_a_refused_playbook_with_its_positions(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    broken = knowledge / "playbooks" / "warranty-return.yaml"
    broken.write_text("playbook: warranty-return\nrules: 3\n", encoding="utf-8")
    settings = Settings(rules_dir=RULES, knowledge_dir=knowledge, neo4j_uri="")
    with make_client(settings, role="author") as client:
        doc = page(client, "/rules")
    row = doc.one("table", id="playbooks").one("tr", data_name="warranty-return")
    assert row.one("td", cls="status").text().startswith("refused")
    problems = [li.text() for li in row.one("ul", cls="problems").find_all("li")]
    assert problems and all(p.startswith(f"{broken}:") for p in problems)
    assert all(p.split(":")[1].isdigit() and p.split(":")[2].isdigit() for p in problems)


def test_a_page_a_role_may_not_see_is_a_readable_403_and_json_for_a_client() -> None:
    settings = Settings(rules_dir=RULES, knowledge_dir=KNOWLEDGE, neo4j_uri="")
    with make_client(settings, role="expert") as client:
        doc = page(client, "/rules/invoice-approval/simulate", status=403)
        main = doc.one("main")
        assert "expert" in main.text() and "author" in main.text()
        assert doc.find("pre") is None  # no stack trace
        api = client.get("/v1/decisions", headers={"Accept": "application/json"})
        assert api.status_code == 403
        assert api.json()["error"]["code"] == "forbidden"
