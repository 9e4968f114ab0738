"""People and keys for admins: the /admin pages and the CLI, on the session's Neo4j.

A disabled user's session and a revoked key stop working on the next request; every change is
listed on /admin with who made it.
"""

from __future__ import annotations

import re
import time

import httpx2
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.app import create_app
from service.auth import Neo4jStore
from service.auth.store import KeyCache, add_user, check_key, create_key
from service.cli import app
from service.graph.db import Graph
from tests.auth import PASSWORD, csrf, sign_in
from tests.graphs import Neo4jServer, cli_env, settings_for
from tests.pagetree import parse

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]


def _post(client: TestClient, url: str, **fields: str) -> httpx2.Response:
    return client.post(url, data={"csrf": csrf(client), **fields}, follow_redirects=False)


def _row(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{re.escape(row_id)}".*?</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return match.group(0)


def test_an_admin_adds_disables_and_enables_a_user_whose_session_ends_at_once(
    neo4j_server: Neo4jServer, graph: Graph, graph_key: str, p: str
) -> None:
    settings = settings_for(neo4j_server)
    with TestClient(create_app(settings)) as admin, TestClient(create_app(settings)) as other:
        sign_in(admin, "admin")
        added = _post(admin, "/admin/users", name=f"{p}sam", role="expert", password=PASSWORD)
        assert added.status_code == 303
        sign_in(other, f"{p}sam")  # in another worker
        assert other.get("/cases").status_code == 200
        page = admin.get("/admin/users").text
        row = _row(page, f"user-{p}sam")
        assert 'data-disabled="no"' in row and "<time" in row  # signed in just now

        assert _post(admin, f"/admin/users/{p}sam/disable").status_code == 303
        assert other.get("/cases").status_code == 401  # the next request, in the other worker
        assert 'data-disabled="yes"' in _row(admin.get("/admin/users").text, f"user-{p}sam")
        refused = other.post(
            "/signin",
            data={"name": f"{p}sam", "password": PASSWORD, "csrf": csrf(other), "next": "/"},
        )
        assert refused.status_code == 401

        assert _post(admin, f"/admin/users/{p}sam/enable").status_code == 303
        assert _post(admin, f"/admin/users/{p}sam/role", role="author").status_code == 303
        sign_in(other, f"{p}sam")
        assert 'id="current-user">' + f"{p}sam" in other.get("/rules").text
        assert "(author)" in other.get("/rules").text
        new = "another passphrase"
        reset = _post(admin, f"/admin/users/{p}sam/password", password=new)
        assert reset.status_code == 303
        assert other.get("/rules").status_code == 401  # the session ended with the old password
        sign_in(other, f"{p}sam", new)

        changes = parse(admin.get("/admin").text)
        rows = changes.find_all("tr", **{"data-target": f"{p}sam"})
        actions = [r.get("data-action") for r in rows]
        assert actions == [
            "password reset",
            "role changed",
            "user enabled",
            "user disabled",
            "user added",
        ]
        assert all("admin" in r.text() for r in rows)


def test_a_bad_change_is_shown_next_to_its_form_and_nothing_is_written(
    neo4j_server: Neo4jServer, graph: Graph, graph_key: str, p: str
) -> None:
    with TestClient(create_app(settings_for(neo4j_server))) as admin:
        sign_in(admin, "admin")
        short = _post(admin, "/admin/users", name=f"{p}lee", role="expert", password="short")
        assert short.status_code == 422
        tree = parse(short.text)
        assert "8 or more" in tree.one(id="form-error").text()
        assert tree.one(id="new-name").get("value") == f"{p}lee"  # what was typed stays
        assert not graph.read("MATCH (u:User {name: $n}) RETURN u", n=f"{p}lee")
        missing = _post(admin, f"/admin/users/{p}nobody/disable")
        assert missing.status_code == 422
        assert f"no user '{p}nobody'" in parse(missing.text).one(id="form-error").text()
        self_disable = _post(admin, "/admin/users/admin/disable")
        assert "cannot disable yourself" in parse(self_disable.text).one(id="form-error").text()
        # an expert may not see the page at all
    with TestClient(create_app(settings_for(neo4j_server))) as expert:
        sign_in(expert, "expert")
        assert expert.get("/admin/users").status_code == 403


def test_a_key_is_shown_once_listed_without_its_secret_and_revoked_at_once(
    neo4j_server: Neo4jServer, graph: Graph, graph_key: str, p: str
) -> None:
    settings = settings_for(neo4j_server)
    with TestClient(create_app(settings)) as admin:
        sign_in(admin, "admin")
        created = _post(admin, "/admin/keys", name=f"{p}erp", rulesets="discount", role="system")
        assert created.status_code == 200
        assert created.headers["cache-control"] == "no-store"
        key = parse(created.text).one(id="key-value").text()
        key_id = key[3:19]
        secret = key.split("_", 2)[2]
        listing = admin.get("/admin/keys").text
        assert secret not in listing and "#key-value" not in listing
        row = _row(listing, f"key-{key_id}")
        assert f"{p}erp" in row and "discount" in row and "never" in row

        decide = {"Authorization": f"Bearer {key}"}
        body = {"tier": "gold", "amount": 500}
        with TestClient(create_app(settings)) as worker:
            assert (
                worker.post("/v1/decisions/discount", json=body, headers=decide).status_code == 200
            )
            assert _post(admin, f"/admin/keys/{key_id}/revoke").status_code == 303
            # the revoking worker refuses it on the next request
            assert (
                admin.post("/v1/decisions/discount", json=body, headers=decide).status_code == 401
            )
            # the other worker, which had it cached, refuses it once it reads the generation
            deadline = time.monotonic() + 5
            while (
                worker.post("/v1/decisions/discount", json=body, headers=decide).status_code != 401
            ):
                assert time.monotonic() < deadline, "another worker still takes the revoked key"
                time.sleep(0.1)
        assert 'data-revoked="yes"' in _row(admin.get("/admin/keys").text, f"key-{key_id}")
        again = _post(admin, f"/admin/keys/{key_id}/revoke")
        assert again.status_code == 422
        assert "no live key" in parse(again.text).one(id="form-error").text()


def test_a_cache_given_the_generation_drops_keys_verified_before_a_revocation(
    graph: Graph, p: str
) -> None:
    store = Neo4jStore(graph)
    key = create_key(store, f"{p}cached", ["*"])
    cache = KeyCache()
    principal = check_key(store, key)
    assert principal is not None
    before = store.generation()
    cache.put(key, principal, before)
    assert cache.get(key, store.generation()) == principal
    from service.auth import people

    people.revoke_key(graph, "tester", key[3:19])
    assert store.generation() > before
    assert cache.get(key, store.generation()) is None  # every worker that asks sees it
    assert check_key(store, key) is None


def test_the_cli_lists_disables_revokes_and_rotates(
    neo4j_server: Neo4jServer, graph: Graph, p: str
) -> None:
    runner = CliRunner()
    env = cli_env(neo4j_server)
    store = Neo4jStore(graph)
    add_user(store, f"{p}ana", "author", PASSWORD)
    key = create_key(store, f"{p}batch", ["discount", "invoice-approval"])
    key_id = key[3:19]

    listed = runner.invoke(app, ["users", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert re.search(rf"{p}ana\s+author\s+active", listed.stdout)
    assert "password" not in listed.stdout.lower().replace("sign-in", "")
    disabled = runner.invoke(app, ["users", "disable", f"{p}ana"], env=env)
    assert disabled.exit_code == 0, disabled.output
    assert re.search(
        rf"{p}ana\s+author\s+disabled", runner.invoke(app, ["users", "list"], env=env).stdout
    )
    assert runner.invoke(app, ["users", "enable", f"{p}ana"], env=env).exit_code == 0
    unknown = runner.invoke(app, ["users", "disable", f"{p}nobody"], env=env)
    assert unknown.exit_code == 1 and f"no user '{p}nobody'" in unknown.output

    keys = runner.invoke(app, ["keys", "list"], env=env)
    assert keys.exit_code == 0 and key_id in keys.stdout
    assert key.split("_", 2)[2] not in keys.stdout
    assert "discount,invoice-approval" in keys.stdout

    rotated = runner.invoke(app, ["keys", "rotate", key_id], env=env)
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.stdout.strip().splitlines()[-1]
    assert new_key.startswith("cw_") and new_key != key
    assert check_key(store, key) is None
    fresh = check_key(store, new_key)
    assert fresh is not None and fresh.rulesets == frozenset({"discount", "invoice-approval"})

    revoked = runner.invoke(app, ["keys", "revoke", new_key[3:19]], env=env)
    assert revoked.exit_code == 0 and check_key(store, new_key) is None
    bad = runner.invoke(app, ["keys", "revoke", "not-an-id"], env=env)
    assert bad.exit_code == 1 and "16 hex digits" in bad.output
    recorded = graph.read(
        "MATCH (c:AuthChange) WHERE c.target STARTS WITH $p RETURN c.action AS a, c.actor AS who",
        p=p,
    )
    assert {r["a"] for r in recorded} >= {
        "user disabled",
        "user enabled",
        "key rotated",
        "key revoked",
    }
    assert all(r["who"].startswith("cli") for r in recorded)
