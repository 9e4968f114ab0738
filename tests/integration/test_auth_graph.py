"""Users and keys in Neo4j: added by the CLI, stored only as hashes, used by the service."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api import create_app
from service.auth import Neo4jStore
from service.auth.sessions import COOKIE
from service.auth.store import add_user
from service.cli import app
from service.graph.db import Graph
from tests.auth import csrf, sign_in

from .conftest import Neo4jServer, cli_env
from .test_cases_api import settings_for

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

PASSWORD = "the expert's own passphrase"


def test_users_and_keys_from_the_cli_sign_in_and_decide(
    neo4j_server: Neo4jServer, graph: Graph, p: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = cli_env(neo4j_server)
    added = runner.invoke(
        app, ["users", "add", f"{p}kim", "--role", "expert", "--password-stdin"],
        input=PASSWORD + "\n", env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    created = runner.invoke(app, ["keys", "create", "--rulesets", "discount"], env=env)
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("cw_")

    stored = graph.read(
        "MATCH (u:User {name: $name}) RETURN properties(u) AS props", name=f"{p}kim"
    )[0]["props"]
    assert stored["role"] == "expert" and stored["password_hash"].startswith("$argon2")
    assert PASSWORD not in str(stored)
    keys = graph.read("MATCH (k:ApiKey {id: $id}) RETURN properties(k) AS props", id=key[3:19])
    assert keys and key.split("_", 2)[2] not in str(keys[0]["props"])

    with TestClient(create_app(settings_for(neo4j_server))) as client:
        header = {"Authorization": f"Bearer {key}"}
        ok = client.post(
            "/v1/decisions/discount", json={"tier": "gold", "amount": 500}, headers=header
        )
        assert ok.status_code == 200, ok.text
        other = client.post("/v1/decisions/invoice-approval", json={"amount": 1}, headers=header)
        assert other.status_code == 403
        sign_in(client, f"{p}kim", PASSWORD)
        assert f'id="current-user">{p}kim<' in client.get("/cases").text
        assert client.get("/rules").status_code == 200


def test_a_bad_role_or_short_password_is_refused(neo4j_server: Neo4jServer, p: str) -> None:
    runner = CliRunner()
    env = cli_env(neo4j_server)
    role = runner.invoke(
        app, ["users", "add", f"{p}x", "--role", "boss", "--password-stdin"],
        input=PASSWORD + "\n", env=env,
    )  # fmt: skip
    assert role.exit_code == 1 and "role 'boss'" in role.output
    short = runner.invoke(
        app, ["users", "add", f"{p}x", "--role", "author", "--password-stdin"],
        input="short\n", env=env,
    )  # fmt: skip
    assert short.exit_code == 1 and "8 or more" in short.output


def test_a_session_is_a_node_of_its_own_until_sign_out(
    neo4j_server: Neo4jServer, graph: Graph, p: str
) -> None:
    store = Neo4jStore(graph)
    add_user(store, f"{p}lee", "author", PASSWORD)
    with TestClient(create_app(settings_for(neo4j_server))) as client:
        sign_in(client, f"{p}lee", PASSWORD)
        token = client.app.state.auth.sessions.decode(client.cookies[COOKIE])["s"]  # type: ignore[attr-defined]
        rows = graph.read(SESSIONS, user=f"{p}lee")
        assert len(rows) == 1
        stored = rows[0]
        # Stored by the hash of the token, never the token; connected to nothing.
        assert stored["props"]["id"] == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(stored["props"]) and stored["degree"] == 0
        assert client.get("/rules").status_code == 200
        # The role is the user's current one, on the next request.
        add_user(store, f"{p}lee", "expert", PASSWORD)
        assert client.get("/rules").status_code == 200
        assert client.get("/v1/suggestions").status_code == 403
        assert client.post("/signout", data={"csrf": csrf(client)}).status_code == 200
        assert graph.read(SESSIONS, user=f"{p}lee") == []


def test_a_removed_user_is_signed_out_at_once(
    neo4j_server: Neo4jServer, graph: Graph, p: str
) -> None:
    add_user(Neo4jStore(graph), f"{p}gone", "expert", PASSWORD)
    with TestClient(create_app(settings_for(neo4j_server))) as client:
        sign_in(client, f"{p}gone", PASSWORD)
        assert client.get("/v1/cases").status_code == 200
        graph.write("MATCH (u:User {name: $name}) DELETE u", name=f"{p}gone")
        assert client.get("/v1/cases").status_code == 401


SESSIONS = """
MATCH (s:Session {user: $user})
RETURN properties(s) AS props, COUNT { (s)--() } AS degree
"""
