"""Every route against every role: allowed, 401 or 403 as service/auth/policy.py says.

A route added without a rule fails here (and the app refuses to start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import MemoryStore
from service.auth.policy import ROUTES, app_routes
from service.auth.sessions import COOKIE
from service.auth.store import create_key
from service.engine import Registry
from service.settings import Settings
from tests.auth import PASSWORD, ROLES, as_role, csrf, make_app, memory
from tests.fixtures import RULES

SAMPLE = {
    "ruleset": "invoice-approval",
    "name": "invoice-approval",
    "case_id": "c1",
    "rid": "r1",
    "decision_id": "d1",
    "document_id": "doc-1",
    "version": "0" * 64,
    "key_id": "0" * 16,
}


def _routes() -> list[tuple[str, str]]:
    app = make_app(Settings(rules_dir=RULES), Registry())
    return sorted(set(app_routes(app.router.routes)))


ROUTE_LIST = _routes()


def test_every_route_has_a_rule_and_every_rule_a_route() -> None:
    assert [r for r in ROUTE_LIST if r not in ROUTES] == []
    assert [r for r in ROUTES if r not in ROUTE_LIST] == []


def test_an_app_with_a_route_without_a_rule_does_not_start() -> None:
    app = make_app(Settings(rules_dir=RULES), Registry())
    app.add_api_route("/v1/secret", lambda: {})
    assert ("GET", "/v1/secret") not in ROUTES
    with pytest.raises(RuntimeError, match="routes without a rule.*GET /v1/secret"):
        with TestClient(app):  # starts the app (its lifespan), as `casewise serve` does
            pass


@pytest.mark.parametrize("role", ROLES)
def test_a_route_without_a_rule_never_reaches_its_handler(role: str) -> None:
    called: list[str] = []
    app = make_app(Settings(rules_dir=RULES), Registry())

    def secret() -> dict[str, int]:
        called.append(role)
        return {"secret": 1}

    app.add_api_route("/v1/secret", secret)
    client = as_role(TestClient(app), role)  # not started: the route was added after the check
    response = client.get("/v1/secret")
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"
    assert "no rule" in response.json()["error"]["message"]
    assert called == []
    # Paths the app does not serve still answer 404 and 405.
    assert client.get("/v1/no-such-thing").status_code == 404
    assert client.get("/v1/cases/c1/close").status_code == 405


def _call(client: TestClient, method: str, path: str) -> Any:
    url = path.format(**SAMPLE)
    if path == "/static":
        return client.get("/static/casewise.css")
    if method == "GET":
        return client.get(url)
    if path == "/signin":
        client.get("/signin")
        form = {"name": "expert", "password": PASSWORD, "csrf": csrf(client)}
        return client.post(url, data=form, follow_redirects=False)
    if not path.startswith("/v1/"):  # a page's form: with the session's CSRF token
        client.get("/signin") if COOKIE not in client.cookies else None
        return client.post(url, data={"csrf": csrf(client)}, follow_redirects=False)
    return client.post(url, json={})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), ROUTE_LIST, ids=[f"{m} {p}" for m, p in ROUTE_LIST])
def test_route_answers_the_role_as_the_policy_says(
    client_as: Callable[[str], TestClient], method: str, path: str, role: str
) -> None:
    rule = ROUTES[(method, path)]
    status = _call(client_as(role), method, path).status_code
    if rule.roles is None:
        assert status not in (401, 403), f"{method} {path} is public; {role} got {status}"
    elif role == "anonymous":
        assert status == 401, f"{method} {path} needs a role; anonymous got {status}"
    elif role in rule.roles:
        assert status not in (401, 403), f"{method} {path} allows {role}; got {status}"
    else:
        assert status == 403, f"{method} {path} refuses {role}; got {status}"


def test_a_key_asks_only_for_its_rulesets(api_settings: Settings, rules_registry: Registry) -> None:
    store, _ = memory()
    key = create_key(store, "discounts", ["discount"])
    with as_role(TestClient(make_app(api_settings, rules_registry)), "system", key) as client:
        ok = client.post("/v1/decisions/discount", json={"tier": "gold", "amount": 500})
        assert ok.status_code == 200
        refused = client.post("/v1/decisions/invoice-approval", json={"amount": 1})
        assert refused.status_code == 403
        assert "invoice-approval" in refused.json()["error"]["message"]
        assert client.get("/v1/rulesets/invoice-approval").status_code == 403


def test_a_wrong_key_is_401_and_a_key_is_verified_once(
    api_settings: Settings, rules_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStore()
    key = create_key(store, "counted", ["*"])
    calls: list[str] = []
    find = store.find_key

    def counted(key_id: str) -> Any:
        calls.append(key_id)
        return find(key_id)

    monkeypatch.setattr(store, "find_key", counted)
    with TestClient(create_app(api_settings, rules_registry, users=store)) as client:
        bad = client.get("/v1/rulesets", headers={"Authorization": f"Bearer {key}x"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthenticated"
        calls.clear()
        for _ in range(3):
            ok = client.get("/v1/rulesets", headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200
        assert len(calls) == 1  # then from the cache


def test_form_post_without_the_csrf_token_is_403(client_as: Callable[[str], TestClient]) -> None:
    expert = client_as("expert")
    response = expert.post("/cases/c1/recommendations/r1/accept", data={})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf-failed"
    wrong = expert.post("/signout", data={"csrf": "not-the-token"})
    assert wrong.status_code == 403


def test_sign_in_sets_a_signed_http_only_cookie_and_sign_out_ends_it(
    client_as: Callable[[str], TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = client_as("anonymous")
    page = client.get("/signin")
    assert page.status_code == 200 and 'name="csrf"' in page.text
    form = {"name": "author", "password": "wrong password!", "csrf": csrf(client)}
    assert client.post("/signin", data=form).status_code == 401
    with caplog.at_level(logging.DEBUG):
        form["password"] = PASSWORD
        response = client.post("/signin", data=form, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert PASSWORD not in caplog.text
    rules = client.get("/rules")
    assert 'id="current-user">author<' in rules.text
    assert client.post("/signout", data={"csrf": csrf(client)}).status_code == 200
    assert client.get("/rules").status_code == 401
    # a tampered cookie is no session
    client.cookies.set(COOKIE, client.cookies[COOKIE] + "x")
    assert client.get("/rules").status_code == 401


def test_a_browser_without_a_session_is_sent_to_sign_in(
    client_as: Callable[[str], TestClient],
) -> None:
    response = client_as("anonymous").get(
        "/rules?x=1", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/rules%3Fx%3D1"


def test_without_a_user_store_protected_routes_are_503_not_open() -> None:
    with TestClient(create_app(Settings(rules_dir=RULES, neo4j_uri=""))) as client:
        response = client.get("/v1/rulesets")
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "auth-unavailable"
        assert "NEO4J_URI" in error["message"] and "CASEWISE_AUTH=off" in error["message"]
        assert client.get("/healthz").status_code == 200


def test_auth_off_opens_every_route_on_purpose() -> None:
    settings = Settings(rules_dir=RULES, neo4j_uri="", auth="off")
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/rulesets").status_code == 200
