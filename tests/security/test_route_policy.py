"""Issue 10 item 10 (deny by default): a route without a policy rule is served to no one.

``service/auth/policy.py`` has one rule per route. A route missing there stops the app from
starting (``create_app``, and again when it starts serving); one that slipped in after that is
refused to every caller by the middleware, and its handler never runs. Paths the app does not
serve still answer 404, and a wrong method 405.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.auth import policy
from service.engine import Registry
from service.settings import Settings
from tests.auth import ROLES, as_role, make_app
from tests.fixtures import RULES
from tests.hostile import assert_refused
from tests.serving import free_port


def _app() -> FastAPI:
    return make_app(Settings(rules_dir=RULES, watch="off"), Registry())


def test_a_route_that_loses_its_rule_stops_create_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(policy.ROUTES, ("GET", "/dashboard"))
    with pytest.raises(RuntimeError, match=r"without a rule .*GET /dashboard"):
        _app()


def test_uvicorn_does_not_start_an_app_with_a_route_without_a_rule(
    capfd: pytest.CaptureFixture[str],
) -> None:
    app = _app()
    app.add_api_route("/v1/export-everything", lambda: {"all": "of it"})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, lifespan="on", log_level="error"))
    with pytest.raises(SystemExit) as stopped:
        asyncio.run(server.serve())
    assert stopped.value.code == 3  # uvicorn's "startup failed"
    assert not server.started
    logged = capfd.readouterr().err
    assert "Application startup failed" in logged
    assert "routes without a rule in service/auth/policy.py ROUTES: GET /v1/export-everything" in (
        logged
    )
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/v1/export-everything", timeout=1)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/export"), ("POST", "/v1/export"), ("GET", "/export")]
)
def test_an_unlisted_route_never_reaches_its_handler(role: str, method: str, path: str) -> None:
    reached: list[str] = []
    app = _app()
    handler: Callable[[], Any] = lambda: reached.append(role) or {"secret": "data"}  # noqa: E731
    app.add_api_route(path, handler, methods=[method])
    client = as_role(TestClient(app), role)  # added after the start-up check, as a bug would be
    response = client.request(method, path, json={}, headers={"Accept": "text/html"})
    assert response.status_code == 403, response.text
    assert "no rule in service/auth/policy.py" in response.text
    json_answer = client.request(method, path, json={})
    assert_refused(json_answer, 403, "no rule", path)
    assert reached == []


@pytest.mark.parametrize("role", ["anonymous", "expert", "system"])
def test_paths_the_app_does_not_serve_are_still_404_and_405(role: str) -> None:
    client = as_role(TestClient(_app()), role)
    assert_refused(client.get("/v1/no-such-thing"), 404, "no route")
    assert_refused(client.post("/no/such/page", json={}), 404, "no route")
    assert_refused(client.delete("/v1/cases/c1"), 405, "not allowed")
    assert_refused(client.get("/v1/cases/c1/close"), 405, "not allowed")
