"""Hostile input at the edge (issue 10, items 9 and 11), replayed against a real ``casewise serve``.

Every reproducer that answered 500 now gets a clear 4xx in the one error shape, and the service
keeps answering /healthz within a second; every answer carries the security headers.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from service.graph.db import Graph
from service.http.errors import error_body
from service.http.responses import JSON
from tests.auth import PASSWORD
from tests.fixtures import RULES
from tests.graphs import KNOWLEDGE, Neo4jServer
from tests.hostile import assert_refused, assert_still_answering
from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

DECIDE = "/v1/decisions/invoice-approval"
JSON_TYPE = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer) -> Iterator[str]:
    log = tmp_path_factory.mktemp("edges") / "serve.log"
    env = served_env(neo4j_server) | {
        "CASEWISE_KNOWLEDGE_DIR": str(KNOWLEDGE),
        "CASEWISE_WATCH": "off",
    }
    with casewise_serve(["--rules", str(RULES)], env, log) as url:
        yield url


@pytest.fixture(scope="module")
def api(server: str, graph_key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {graph_key}"}
    with httpx.Client(base_url=server, headers=headers, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def browser(server: str, graph_key: str) -> Iterator[httpx.Client]:
    """A client signed in as the admin, asking for pages."""
    with httpx.Client(base_url=server, timeout=10, headers={"accept": "text/html"}) as client:
        page = client.get("/signin")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"name": "admin", "password": PASSWORD, "csrf": token, "next": "/"}
        assert client.post("/signin", data=form).status_code in (200, 303)
        yield client


@pytest.fixture
def p() -> str:
    return f"t{uuid.uuid4().hex[:10]}-"


def a_case(p: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{p}c",
        "type": "customer-complaint",
        "opened_at": "2025-05-01T08:00:00Z",
        "due_at": "2025-05-20T08:00:00Z",
        **extra,
    }


def post_raw(api: httpx.Client, path: str, body: bytes, **headers: str) -> httpx.Response:
    return api.post(path, content=body, headers=headers or JSON_TYPE)


# --- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"amount": 1, "department": "\\ud800"}', ["line 1 column", "surrogate"]),
        (b'{"amount": 1e400}', ["line 1 column", "1.8e308"]),
        (b'{"amount": ' + b"9" * 400 + b"}", ["line 1 column", "1.8e308"]),
        (b'{"amount": 99999999999999999999}', ["99999999999999999999", "64-bit"]),
        (b'{"amount": NaN}', ["line 1 column"]),
        (b'{"amount": Infinity}', ["line 1 column"]),
        (b'{"a": ' + b"[" * 2000 + b"]" * 2000 + b"}", ["64 levels"]),
        (b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}", ["64 levels", "a[0][0]"]),
        (b'{"amount": 1, "amount": 2}', ["'amount' twice"]),
        (b'\xef\xbb\xbf{"amount": 1}', ["byte order mark"]),
        ('{"amount": 1}'.encode("utf-16"), ["utf-16", "utf-8"]),
        ('{"amount": 1}'.encode("utf-16-le"), ["utf-16", "utf-8"]),
        (b'{"amount": "\xff"}', ["utf-8"]),
    ],
    ids=[
        "surrogate",
        "1e400",
        "400-digits",
        "int-beyond-64-bits",
        "nan",
        "infinity",
        "depth-2000",
        "depth-100",
        "duplicate-key",
        "bom",
        "utf-16-bom",
        "utf-16-le",
        "latin-1",
    ],
)
@pytest.mark.parametrize("path", [DECIDE, f"{DECIDE}/batch", "/v1/cases"])
def test_hostile_json_is_refused(
    server: str, api: httpx.Client, path: str, body: bytes, words: list[str]
) -> None:
    if path != DECIDE and body.startswith(b"{") and b"\x00" not in body:
        key = b"items" if path.endswith("batch") else b"cases"
        body = b'{"' + key + b'": [' + body + b"]}"
    error = assert_refused(post_raw(api, path, body), 422, *words)
    assert error["code"] == "invalid-input"
    assert_still_answering(server)


@pytest.mark.parametrize(
    "path",
    [
        DECIDE,
        f"{DECIDE}/batch",
        "/v1/cases",
        "/v1/cases/x/parties",
        "/v1/cases/x/evidence",
        "/v1/cases/x/events",
        "/v1/cases/x/close",
        "/v1/cases/x/assign",
        "/v1/cases/x/recommendations/r/accept",
        "/v1/cases/x/recommendations/r/override",
    ],
)
@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=latin-1"])
def test_a_body_not_declared_json_is_415(
    server: str, api: httpx.Client, path: str, content_type: str
) -> None:
    response = post_raw(api, path, b'{"cases": []}', **{"content-type": content_type})
    error = assert_refused(response, 415, "application/json", content_type)
    assert error["code"] == "unsupported-media-type"
    assert_still_answering(server)


def test_a_body_nested_just_within_the_limit_reaches_the_ruleset(api: httpx.Client) -> None:
    """64 levels pass the reader: the ruleset's own schema is what answers (an unknown field)."""
    deep: Any = "low"
    for _ in range(63):
        deep = {"x": deep}
    data = {"amount": 120, "department": "IT", "vendor": {"risk": "low"}, "extra": deep}
    assert_refused(api.post(DECIDE, json=data), 422, "unknown field 'extra'")
    assert_refused(api.post(DECIDE, json={**data, "extra": {"x": deep}}), 422, "64 levels")


# --- lone surrogates ---------------------------------------------------------------------------


def test_a_refused_surrogate_leaves_cases_readable(
    api: httpx.Client, browser: httpx.Client, p: str
) -> None:
    assert api.post("/v1/cases", json={"cases": [a_case(p)]}).status_code == 200
    body = orjson.dumps({"cases": [a_case(p, attributes={"note": "x"})]}).replace(b"x", b"\\ud800")
    assert_refused(post_raw(api, "/v1/cases", body), 422, "surrogate")
    assert api.get("/v1/cases", params={"limit": 500}).status_code == 200
    case = api.get(f"/v1/cases/{p}c")
    assert case.status_code == 200
    assert case.json()["attributes"] == {}  # nothing of the refused body was stored
    assert browser.get(f"/cases/{p}c").status_code == 200


def test_a_surrogate_stored_before_still_renders(
    api: httpx.Client, browser: httpx.Client, graph: Graph, p: str
) -> None:
    """Text stored before the edge refused surrogates: the list, the case and its page answer."""
    assert api.post("/v1/cases", json={"cases": [a_case(p)]}).status_code == 200
    graph.write(
        "MATCH (c:Case {id: $id}) SET c.attributes = $text",
        id=f"{p}c",
        text='{"note": "a\\ud800b"}',
    )
    listed = api.get("/v1/cases", params={"type": "customer-complaint", "limit": 500})
    assert listed.status_code == 200, listed.text
    case = api.get(f"/v1/cases/{p}c")
    assert case.status_code == 200, case.text
    assert case.json()["attributes"] == {"note": "a\\ud800b"}  # the escape, shown as text
    page = browser.get(f"/cases/{p}c")
    assert page.status_code == 200
    assert "a\\ud800b" in page.text
    assert "<svg xmlns" in page.text and "&lt;svg" not in page.text  # Markup, not escaped twice


@pytest.mark.parametrize(
    "path", ["/v1/cases?type=%ED%A0%80", "/v1/cases?assignee=%FF", "/v1/cases/%ED%A0%80"]
)
def test_a_surrogate_in_the_url_is_refused(server: str, api: httpx.Client, path: str) -> None:
    error = assert_refused(api.get(path), 422, "utf-8")
    field = error["details"][0]["field"]
    assert field == ("(path)" if "?" not in path else path.split("?")[1].split("=")[0])
    assert_still_answering(server)


def test_an_echoed_surrogate_never_breaks_an_error(api: httpx.Client) -> None:
    """A value an error echoes back cannot break the answer, from the URL or from within."""
    assert_refused(api.post("/v1/decisions/%ED%A0%80", json={}), 422, "utf-8")
    body = JSON(error_body("invalid-input", "bad", [{"value": "a\ud800", "n": 10**30}])).body
    assert orjson.loads(body)["error"]["details"] == [{"value": "a\\ud800", "n": str(10**30)}]


# --- times, cursors and offsets ----------------------------------------------------------------


def decisions(admin: httpx.Client, params: dict[str, str]) -> httpx.Response:
    """GET /v1/decisions as the signed-in admin (keys may not read the decision log)."""
    return admin.get("/v1/decisions", params=params, headers={"accept": "application/json"})


BAD_TIMES = {
    "offset-23h": "2026-01-01T00:00:00+23:00",
    "offset-minus-19h": "2026-01-01T00:00:00-19:00",
    "year-1-with-offset": "0001-01-01T00:00:00+01:00",
    "year-9999-with-offset": "9999-12-31T23:00:00-05:00",
}


@pytest.mark.parametrize("value", BAD_TIMES.values(), ids=BAD_TIMES.keys())
def test_times_neo4j_cannot_store_are_refused(
    server: str, api: httpx.Client, browser: httpx.Client, value: str
) -> None:
    error = assert_refused(api.get("/v1/cases", params={"due_before": value}), 422, "due_before")
    assert "18:00" in error["message"] + str(error["details"]) or "0001" in str(error["details"])
    for name in ("since", "until"):
        assert_refused(decisions(browser, {name: value}), 422, name)
    cursor = base64.urlsafe_b64encode(orjson.dumps([value, "d1"])).decode().rstrip("=")
    assert_refused(decisions(browser, {"cursor": cursor}), 422, "cursor")
    assert_still_answering(server)


def test_times_within_the_limits_are_answered(api: httpx.Client, browser: httpx.Client) -> None:
    for value in ("2026-01-01T00:00:00+18:00", "0001-01-01T00:00:00", "2026-01-01T00:00:00Z"):
        assert api.get("/v1/cases", params={"due_before": value}).status_code == 200
        assert decisions(browser, {"since": value}).status_code == 200


@pytest.mark.parametrize("offset", [2**63, 2**63 - 1, 10**9 + 1])
def test_an_offset_beyond_the_limit_is_refused(server: str, api: httpx.Client, offset: int) -> None:
    assert_refused(api.get("/v1/cases", params={"offset": offset}), 422, "offset")
    assert api.get("/v1/cases", params={"offset": 10**9}).status_code == 200
    assert_still_answering(server)


@pytest.mark.parametrize("page", ["99999999999", "²", "0"])
def test_a_worklist_page_beyond_the_limit_is_refused(browser: httpx.Client, page: str) -> None:
    response = browser.get("/cases", params={"page": page})
    assert response.status_code == 422
    assert "page" in response.text


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/rules", "/signin", "/healthz", "/v1/rulesets", "/nope"])
def test_every_answer_carries_the_security_headers(
    browser: httpx.Client, api: httpx.Client, path: str
) -> None:
    for client in (browser, api):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "default-src 'none'" in policy
        assert "script-src 'self';" in policy  # only /static scripts: none inline, none elsewhere
        assert "unsafe-inline" not in policy


def test_refusals_from_the_edge_carry_the_headers_too(api: httpx.Client) -> None:
    response = post_raw(api, DECIDE, b"{}", **{"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.headers["x-frame-options"] == "DENY"
    unauthenticated = httpx.post(f"{api.base_url}{DECIDE}", json={})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["x-frame-options"] == "DENY"


def test_the_api_docs_still_load_their_scripts(api: httpx.Client) -> None:
    response = api.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
