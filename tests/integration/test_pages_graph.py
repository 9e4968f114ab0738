"""The pages against the real Neo4j: worklist order and filters, the case page, deciding."""

from __future__ import annotations

import importlib.util
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from service.demo.cases import DemoSet, generate_set, write_demo
from service.engine import Registry
from service.graph.db import Graph
from tests.auth import as_role, csrf, make_app, system_key
from tests.graphs import KNOWLEDGE, settings_for
from tests.pagetree import Node, parse

if TYPE_CHECKING:
    from tests.graphs import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
FUTURE = "2099-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def site(neo4j_server: Neo4jServer) -> Iterator[TestClient]:
    settings = settings_for(neo4j_server, knowledge_dir=KNOWLEDGE)
    with as_role(TestClient(make_app(settings, Registry())), "expert") as client:
        yield client


@pytest.fixture(scope="module")
def demo(graph: Graph) -> DemoSet:
    data = generate_set(24, 11, prefix=f"pg-{uuid.uuid4().hex[:10]}-")
    write_demo(graph, data)
    return data


def put(site: TestClient, *cases: dict[str, Any]) -> None:
    response = site.post("/v1/cases", json={"cases": list(cases)}, headers=system_key())
    assert response.status_code == 200, response.text


def case(case_id: str, case_type: str, **extra: Any) -> dict[str, Any]:
    return {"id": case_id, "type": case_type, "opened_at": "2026-01-05T08:00:00Z", **extra}


def claim(p: str, **extra: Any) -> dict[str, Any]:
    """An open claim with a flagged claimant and one unverified evidence item."""
    return {
        "id": f"{p}c1",
        "type": "insurance-claim",
        "opened_at": "2026-01-05T08:00:00Z",
        "due_at": FUTURE,
        "parties": [
            {"id": f"{p}ann", "kind": "person", "name": "Ann", "role": "claimant",
             "flagged": True, "identifiers": [{"kind": "email", "value": f"ann@{p}mail.test"}]},
        ],
        "evidence": [
            {"id": f"{p}ev1", "kind": "photo", "received_at": "2026-01-05T09:00:00Z",
             "verified": True},
            {"id": f"{p}ev2", "kind": "invoice", "received_at": "2026-01-06T09:00:00Z",
             "effect": "contradicts"},
        ],
        "events": [{"id": f"{p}e1", "kind": "claim-registered", "at": "2026-01-05T08:00:00Z"}],
        **extra,
    }  # fmt: skip


def page(site: TestClient, url: str, status: int = 200) -> Node:
    response = site.get(url, headers=BROWSER)
    assert response.status_code == status, response.text
    return parse(response.text)


def rows(doc: Node) -> list[Node]:
    table = doc.find("table", id="worklist")
    return table.one("tbody").find_all("tr") if table else []


def row_ids(doc: Node) -> list[str]:
    return [r.get("data-case") for r in rows(doc)]


def kind(p: str) -> str:
    """A case type of this test's own, so the worklist shows only its cases when filtered."""
    return f"{p[:-1]}-kind"


# --- worklist -----------------------------------------------------------------------------


def test_worklist_puts_overdue_first_then_priority_and_marks_overdue(
    site: TestClient, p: str
) -> None:
    t = kind(p)
    put(
        site,
        case(f"{p}a", t, priority=3, due_at=FUTURE),
        case(f"{p}b", t, priority=1, due_at=FUTURE),
        case(f"{p}c", t, priority=5, due_at="2026-01-10T00:00:00Z"),
        case(f"{p}d", t, priority=2, due_at="2026-01-20T00:00:00Z"),
        case(f"{p}e", t, priority=1),
    )
    doc = page(site, f"/?type={t}")
    assert row_ids(doc) == [f"{p}d", f"{p}c", f"{p}b", f"{p}e", f"{p}a"]
    marks = {r.get("data-case"): r.one("td", cls="due").text() for r in rows(doc)}
    assert marks[f"{p}d"].endswith("days overdue") and marks[f"{p}c"].endswith("days overdue")
    assert "overdue" not in marks[f"{p}b"] + marks[f"{p}a"] + marks[f"{p}e"]
    first = rows(doc)[0]
    assert first.one("a").get("href") == f"/cases/{p}d"
    assert doc.one("p", id="count").text() == "Cases 1–5 of 5"
    # the filter form keeps what was chosen
    form = doc.one("form", cls="filters")
    assert form.get("method") == "get"
    options = form.one("select", id="f-type").find_all("option")
    assert [o.get("value") for o in options if "selected" in o.attrs] == [t]


def test_worklist_filters_by_status_and_due_date(site: TestClient, p: str) -> None:
    t = kind(p)
    put(
        site,
        case(f"{p}soon", t, due_at="2026-02-01T00:00:00Z"),
        case(f"{p}late", t, due_at=FUTURE),
        case(f"{p}shut", t, due_at="2026-01-15T00:00:00Z"),
    )
    closed = site.post(f"/v1/cases/{p}shut/close", json={"outcome": "withdrawn"})
    assert closed.status_code == 200, closed.text
    assert row_ids(page(site, f"/?type={t}")) == [f"{p}soon", f"{p}late"]
    assert row_ids(page(site, f"/?type={t}&due_before=2026-03-01")) == [f"{p}soon"]
    assert row_ids(page(site, f"/?type={t}&status=closed")) == [f"{p}shut"]
    everything = page(site, f"/?type={t}&status=&due_before=")
    assert sorted(row_ids(everything)) == sorted([f"{p}soon", f"{p}late", f"{p}shut"])
    assert "overdue" not in page(site, f"/?type={t}&status=closed").one("tbody").text().lower()


def test_worklist_pages_with_next_and_previous_links(site: TestClient, p: str) -> None:
    t = kind(p)
    put(site, *(case(f"{p}n{i:02d}", t, due_at=FUTURE, priority=3) for i in range(27)))
    first = page(site, f"/?type={t}")
    assert row_ids(first) == [f"{p}n{i:02d}" for i in range(25)]
    assert first.find("a", rel="prev") is None
    link = first.one("a", rel="next").get("href")
    query = parse_qs(urlsplit(link).query)
    assert query["page"] == ["2"] and query["type"] == [t]
    second = page(site, link)
    assert row_ids(second) == [f"{p}n25", f"{p}n26"]
    assert second.one("p", id="count").text() == "Cases 26–27 of 27"
    assert second.find("a", rel="next") is None
    back = second.one("a", rel="prev").get("href")
    assert row_ids(page(site, back)) == row_ids(first)


def worklist_row(site: TestClient, url: str, case_id: str) -> Node:
    return page(site, url).one("tr", data_case=case_id)


def test_worklist_counts_pending_recommendations_without_opening_the_case(
    site: TestClient, p: str
) -> None:
    put(site, claim(p, due_at="2000-01-01T00:00:00Z", priority=1))
    url = f"/?q={p}c1"
    # recommended in the background once written: no one opens the case first
    deadline = time.monotonic() + 20
    while worklist_row(site, url, f"{p}c1").one("td", cls="pending").text() == "0":
        assert time.monotonic() < deadline, "the worklist never counted the recommendations"
        time.sleep(0.2)
    row = worklist_row(site, url, f"{p}c1")
    recommended = page(site, f"/cases/{p}c1").find_all("article", cls="recommendation")
    assert int(row.one("td", cls="pending").text()) == len(recommended) > 0
    labels = [r.one("h3").text() for r in recommended]
    assert any(label.startswith(row.one("td", cls="top").text()) for label in labels)


# --- case page ----------------------------------------------------------------------------


def test_case_page_shows_every_section(site: TestClient, p: str) -> None:
    put(site, claim(p))
    doc = page(site, f"/cases/{p}c1")
    assert doc.one("h1").text() == f"Case {p}c1"
    for section in ("summary", "recommendations", "parties", "evidence", "timeline", "links"):
        assert doc.find("section", id=section) is not None, section
    picture = doc.one("section", id="picture")
    if importlib.util.find_spec("service.web.picture") is not None:
        assert picture.one("figure", cls="picture").find("svg") is not None  # inline, not <img>
    else:
        assert picture.find("p", cls="none") is not None
    assert "open" in doc.one("dd", cls="status").text()
    ann = doc.one("section", id="parties").one("tr", data_party=f"{p}ann")
    assert ann.one("td", cls="roles").text() == "claimant"
    assert "Flagged" in ann.text() and f"ann@{p}mail.test" in ann.text()
    evidence = doc.one("section", id="evidence")
    photo, invoice = (
        evidence.one("tr", data_evidence=f"{p}ev1"),
        evidence.one("tr", data_evidence=f"{p}ev2"),
    )
    assert photo.one("td", cls="verified").text() == "verified"
    assert invoice.one("td", cls="verified").text() == "not verified"
    assert invoice.one("td", cls="effect").text() == "contradicts"
    entries = doc.one("ol", cls="timeline").find_all("li")
    times = [e.one("time").get("datetime") for e in entries]
    assert times == sorted(times) and len(entries) == 3


def test_case_page_recommendations_have_accept_and_override_forms(site: TestClient, p: str) -> None:
    put(site, claim(p))
    doc = page(site, f"/cases/{p}c1")
    recs = doc.one("section", id="recommendations").find_all("article", cls="recommendation")
    assert {"refer-to-siu", "verify-evidence"} <= {r.get("data-action") for r in recs}
    siu = next(r for r in recs if r.get("data-action") == "refer-to-siu")
    assert "flagged" in siu.one("p", cls="rationale").text()
    assert siu.one("span", cls="score").text().startswith("score ")
    assert f"{p}ann" in siu.one("details", cls="evidence-of").text()
    rid = siu.get("id")
    accept = siu.one("form", cls="accept")
    assert accept.get("method") == "post"
    assert accept.get("action") == f"/cases/{p}c1/recommendations/{rid}/accept"
    override = siu.one("form", cls="override")
    assert override.get("action") == f"/cases/{p}c1/recommendations/{rid}/override"
    options = override.one("select").find_all("option")
    # nothing chosen until the expert chooses: the list starts on "Choose…"
    assert options[0].get("value") == "" and "selected" in options[0].attrs
    assert options[0].text() == "Choose…"
    values = [o.get("value") for o in options[1:]]
    assert values and "refer-to-siu" not in values and "request-documents" in values
    reason = override.one("input", name="reason")
    assert "required" in reason.attrs and reason.get("pattern")  # three words, in the browser
    assert override.one("input", name="csrf").get("value") == csrf(site)
    assert override.find("input", name="expert") is None  # the expert is who signed in


def recommendation(doc: Node, action: str) -> Node:
    recs = doc.one("section", id="recommendations").find_all("article", cls="recommendation")
    return next(r for r in recs if r.get("data-action") == action)


def test_override_with_a_reason_is_recorded_and_shown_in_the_timeline(
    site: TestClient, graph: Graph, p: str
) -> None:
    put(site, claim(p))
    rid = recommendation(page(site, f"/cases/{p}c1"), "refer-to-siu").get("id")
    form = {"csrf": csrf(site), "action": "request-documents", "reason": "the photos look genuine"}
    response = site.post(
        f"/cases/{p}c1/recommendations/{rid}/override",
        data=form,
        headers=BROWSER,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/cases/{p}c1"
    stored = graph.read(
        "MATCH (d:ExpertDecision)-[:ON]->(:Recommendation {id: $rid}) "
        "RETURN d.outcome AS outcome, d.action AS action, d.reason AS reason",
        rid=rid,
    )
    assert stored == [
        {"outcome": "overridden", "action": "request-documents", "reason": form["reason"]}
    ]
    doc = page(site, response.headers["location"])
    banner = doc.one("section", id="recommendations").one("p", id="form-done")
    assert "Request documents" in banner.text()
    assert "form-done" not in site.get(f"/cases/{p}c1", headers=BROWSER).text  # shown once
    taken = doc.one("ol", cls="timeline").one("li", data_kind="request-documents")
    assert "by expert" in taken.text() and "overridden" in taken.text()
    assert taken.one("q", cls="reason").text() == "the photos look genuine"
    assert doc.find("article", id=rid) is None  # decided: no longer offered


def test_short_reason_comes_back_at_the_card_with_the_error_focused(
    site: TestClient, graph: Graph, p: str
) -> None:
    put(site, claim(p))
    rid = recommendation(page(site, f"/cases/{p}c1"), "refer-to-siu").get("id")
    response = site.post(
        f"/cases/{p}c1/recommendations/{rid}/override",
        data={"csrf": csrf(site), "action": "request-documents", "reason": "no"},
        headers=BROWSER,
        follow_redirects=False,
    )
    # post/redirect/get: the address is the case page's (reloading is harmless)
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{p}c1"
    doc = page(site, response.headers["location"])
    article = doc.one("article", id=rid)
    error = article.one("p", id=f"error-{rid}")
    assert "at least 3 words" in error.text() and "autofocus" in error.attrs
    assert article.one("input", name="reason").get("value") == "no"
    chosen = article.one("select").find_all("option")
    assert [o.get("value") for o in chosen if "selected" in o.attrs] == ["request-documents"]
    assert not graph.read(
        "MATCH (d:ExpertDecision)-[:ON]->(:Recommendation {id: $rid}) RETURN d", rid=rid
    )


def test_accept_then_deciding_again_is_a_conflict_shown_on_the_page(
    site: TestClient, p: str
) -> None:
    put(site, claim(p))
    rid = recommendation(page(site, f"/cases/{p}c1"), "refer-to-siu").get("id")
    url = f"/cases/{p}c1/recommendations/{rid}/accept"
    first = site.post(url, data={"csrf": csrf(site)}, headers=BROWSER, follow_redirects=False)
    assert first.status_code == 303
    doc = page(site, first.headers["location"])
    taken = doc.one("ol", cls="timeline").one("li", data_kind="refer-to-siu")
    assert "accepted" in taken.text()
    again = site.post(url, data={"csrf": csrf(site)}, headers=BROWSER)
    assert again.status_code == 200 and again.url.path == f"/cases/{p}c1"
    assert "decided already" in parse(again.text).one("p", id="form-error").text()


def test_why_there_are_no_recommendations(site: TestClient, p: str) -> None:
    put(site, claim(p, id=f"{p}shut"), case(f"{p}odd", kind(p)))
    assert site.post(f"/v1/cases/{p}shut/close", json={"outcome": "paid"}).status_code == 200
    assert "closed" in page(site, f"/cases/{p}shut").one("p", id="why-none").text()
    why = page(site, f"/cases/{p}odd").one("p", id="why-none").text()
    assert "no playbook" in why and kind(p) in why


def test_unknown_case_is_a_404_page(site: TestClient, p: str) -> None:
    doc = page(site, f"/cases/{p}nope", 404)
    assert doc.one("section", id="error").get("data-code") == "not-found"


def test_ring_case_shows_its_linked_cases_with_the_path(site: TestClient, demo: DemoSet) -> None:
    ring = demo.rings[0]
    doc = page(site, f"/cases/{ring[0]}")
    links = doc.one("section", id="links")
    linked = [r.get("data-case") for r in links.find_all("tr") if r.get("data-case")]
    assert set(ring[1:]) <= set(linked)
    assert len(linked) == len(set(linked))  # each linked case once, in the group of what it shares
    groups = links.find_all("div", cls="link-group")
    group = next(g for g in groups if g.find("tr", data_case=ring[1]))
    assert group.one("h3").text().startswith("Through ")
    row = group.one("tr", data_case=ring[1])
    hops, far = int(row.get("data-hops")), row.one("td", cls="hops").text()
    assert far == "directly linked" if hops == 1 else far.startswith(f"{hops} links away, through")
    # the recommendation's graph evidence reads as paths too, not as raw data
    siu = recommendation(doc, "refer-to-siu").one("details", cls="evidence-of")
    paths = [li.text() for li in siu.find_all("li") if li.text().startswith("Case ")]
    assert paths and all(" → " in p and "{" not in p for p in paths)
