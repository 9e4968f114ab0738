"""The local Neo4j against a hostile web page and hostile Cypher (issue 10, items 6 and 1), and
``make run``'s demo users and key (item 11).

A page the developer visits can open a WebSocket to 127.0.0.1, and Bolt speaks WebSocket on its
port; Cypher's LOAD CSV can read files and fetch URLs. The launcher's server needs the password
kept in its data folder, refuses WebSocket handshakes, and lets Cypher reach no file or address.
These tests need that server: they skip when NEO4J_URI points at another one (`make test`
starts the launcher's, so there they run).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import stat
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import neo4j
import pytest
from neo4j.exceptions import AuthError, ClientError
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as websocket_connect

from service.auth.store import Neo4jStore, check_key, check_password
from service.cli import app
from service.graph import local
from service.graph.db import Graph

if TYPE_CHECKING:
    from tests.conftest import Neo4jServer

LOAD_CSV = "LOAD CSV FROM $url AS line RETURN line"
CONFIG = "CALL dbms.listConfig() YIELD name, value RETURN name, value"
HOSTILE_ORIGIN = "http://evil.example"
DEMO_PASSWORD = "casewise-demo"


@pytest.fixture
def local_server(neo4j_server: Neo4jServer) -> local.Status:
    """The launcher's server; skips when NEO4J_URI points at a server it did not start."""
    if neo4j_server.local is None:
        pytest.skip(
            f"NEO4J_URI={neo4j_server.uri} is not the local launcher's server "
            "(run through tools/neo4j/with-neo4j.sh, as `make test` does)"
        )
    return neo4j_server.local


@pytest.fixture
def authed(local_server: local.Status) -> Iterator[neo4j.Driver]:
    """A driver with the password from the server's data folder."""
    assert local_server.uri is not None
    with neo4j.GraphDatabase.driver(local_server.uri, auth=local_server.auth) as driver:
        yield driver


@pytest.mark.integration
@pytest.mark.neo4j
@pytest.mark.parametrize("auth", [("neo4j", "neo4j"), ("neo4j", ""), None], ids=str)
def test_bolt_without_the_password_is_refused(
    local_server: local.Status, auth: tuple[str, str] | None
) -> None:
    assert local_server.uri is not None
    with (
        neo4j.GraphDatabase.driver(local_server.uri, auth=auth) as driver,
        pytest.raises(AuthError) as refused,
    ):
        driver.execute_query("MATCH (u:User) RETURN u.password_hash")
    assert refused.value.code == "Neo.ClientError.Security.Unauthorized"


@pytest.mark.integration
@pytest.mark.neo4j
def test_bolt_with_the_password_works(authed: neo4j.Driver) -> None:
    records, _, _ = authed.execute_query("RETURN 1 AS one")
    assert records[0]["one"] == 1


@pytest.mark.integration
@pytest.mark.neo4j
def test_hostile_websocket_handshake_is_refused(local_server: local.Status) -> None:
    # What a page's `new WebSocket("ws://127.0.0.1:<port>")` sends, Origin and all.
    with pytest.raises(InvalidStatus) as refused:
        websocket_connect(
            f"ws://127.0.0.1:{local_server.port}", origin=HOSTILE_ORIGIN, open_timeout=5
        )  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


@pytest.mark.integration
@pytest.mark.neo4j
def test_hostile_websocket_cannot_go_on_to_bolt(local_server: local.Status) -> None:
    """After the refused upgrade the connection is closed: no Bolt handshake, so no query."""
    assert local_server.port is not None
    handshake = (
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Origin: {HOSTILE_ORIGIN}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with socket.create_connection((local.HOST, local_server.port), timeout=5) as client:
        client.sendall(handshake)
        answer = _read_until_closed(client)
        assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
        assert b"101 Switching Protocols" not in answer
        # Bolt's preamble and version proposal (5.x), as a page would send next.
        with contextlib.suppress(OSError):
            client.sendall(bytes.fromhex("6060b017") + bytes.fromhex("00000505") + bytes(12))
        assert _read_until_closed(client) == b""


@pytest.mark.integration
@pytest.mark.neo4j
def test_load_csv_of_a_local_file_is_refused(authed: neo4j.Driver, tmp_path: Path) -> None:
    secret = tmp_path / "secret-key"
    secret.write_text("not-for-cypher\n")
    with pytest.raises(ClientError) as refused:
        authed.execute_query(LOAD_CSV, url=secret.as_uri())
    assert refused.value.code == "Neo.ClientError.Statement.ExternalResourceFailed"
    assert "allow_csv_import_from_file_urls" in (refused.value.message or "")
    assert "not-for-cypher" not in str(refused.value)


@pytest.mark.integration
@pytest.mark.neo4j
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_load_csv_from_a_loopback_url_is_refused(authed: neo4j.Driver, host: str) -> None:
    with _csv_server() as (port, requests):
        url = f"http://{host}:{port}/healthz"
        # The server is there and answers (so a refusal is Neo4j's doing, not a dead port).
        with socket.create_connection((local.HOST, port), timeout=2):
            pass
        with pytest.raises(ClientError) as refused:
            authed.execute_query(LOAD_CSV, url=url)
        assert refused.value.code == "Neo.ClientError.Statement.ExternalResourceFailed"
        assert "cypher_ip_blocklist" in (refused.value.message or "")
        assert requests == []


@pytest.mark.integration
@pytest.mark.neo4j
def test_server_guards_are_configured(authed: neo4j.Driver, local_server: local.Status) -> None:
    records, _, _ = authed.execute_query(CONFIG)
    config = {r["name"]: r["value"] for r in records}
    assert config["dbms.security.auth_enabled"] == "true"
    assert config["dbms.security.allow_csv_import_from_file_urls"] == "false"
    assert config["db.transaction.timeout"] == "1m"
    assert config["dbms.security.procedures.allowlist"] == ""
    # Not the data folder (where the password file is): an empty folder of its own.
    import_dir = Path(config["server.directories.import"])
    assert import_dir == local_server.data_dir / "import"
    assert list(import_dir.iterdir()) == []


@pytest.mark.integration
@pytest.mark.neo4j
def test_password_file_is_private(local_server: local.Status) -> None:
    mode = stat.S_IMODE(local_server.password_file.stat().st_mode)
    assert mode == 0o600, f"{local_server.password_file} has mode {mode:o}"
    assert len(local_server.password_file.read_text().strip()) >= 32
    # The auth.ini the launcher hands Neo4j (a hash of the password) is gone once it runs.
    assert not (local_server.data_dir / "data" / "dbms" / "auth.ini").exists()


def test_password_is_generated_once_and_all_callers_agree(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        passwords = set(pool.map(lambda _: local.password(tmp_path), range(16)))
    assert len(passwords) == 1
    (password,) = passwords
    assert len(password) >= 32
    assert stat.S_IMODE((tmp_path / local.PASSWORD_FILE).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [local.PASSWORD_FILE]
    assert local.password(tmp_path) == password


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    local.password(tmp_path)
    os.chmod(tmp_path / local.PASSWORD_FILE, 0o644)
    with pytest.raises(
        local.Neo4jLauncherError, match=r"readable by others \(mode 644\).*chmod 600"
    ):
        local.password(tmp_path)


def test_empty_password_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / local.PASSWORD_FILE
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(local.Neo4jLauncherError, match="holds no password"):
        local.password(tmp_path)


@pytest.mark.integration
@pytest.mark.neo4j
def test_users_add_if_missing_keeps_a_changed_password(
    neo4j_server: Neo4jServer, graph: Graph
) -> None:
    name, own = f"t{uuid.uuid4().hex[:10]}-expert", "the expert's own passphrase"
    runner, env = CliRunner(), _cli_env(neo4j_server)
    add = ["users", "add", name, "--role", "expert", "--password-stdin"]
    assert runner.invoke(app, add, input=own + "\n", env=env).exit_code == 0
    # What `make run` does on every run: the demo password, --if-missing.
    kept = runner.invoke(app, [*add, "--if-missing"], input=DEMO_PASSWORD + "\n", env=env)
    assert kept.exit_code == 0, kept.output
    assert f"user {name} (expert) exists; kept" in kept.output
    store = Neo4jStore(graph)
    assert check_password(store, name, own) is not None
    assert check_password(store, name, DEMO_PASSWORD) is None
    # Asked for (make run RESET_DEMO_PASSWORDS=1): set again.
    reset = runner.invoke(app, add, input=DEMO_PASSWORD + "\n", env=env)
    assert reset.exit_code == 0, reset.output
    assert check_password(store, name, DEMO_PASSWORD) is not None


@pytest.mark.integration
@pytest.mark.neo4j
def test_keys_create_save_keeps_one_key_and_never_prints_it(
    neo4j_server: Neo4jServer, graph: Graph, tmp_path: Path
) -> None:
    name, saved = f"t{uuid.uuid4().hex[:10]}-demo", tmp_path / "var" / "demo-key"
    runner, env = CliRunner(), _cli_env(neo4j_server)
    create = ["keys", "create", "--rulesets", "*", "--name", name, "--save", str(saved)]
    first = runner.invoke(app, create, env=env)
    assert first.exit_code == 0, first.output
    key = saved.read_text().strip()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert key not in first.output and f"saved in {saved}" in first.output
    store = Neo4jStore(graph)
    assert check_key(store, key) is not None

    again = runner.invoke(app, create, env=env)
    assert again.exit_code == 0, again.output
    assert "still valid; reusing it" in again.output and key not in again.output
    assert saved.read_text().strip() == key
    assert _keys_named(graph, name) == 1

    # Another scope is another key; the file then holds the new one.
    other = runner.invoke(app, [*create[:3], "invoice-approval", *create[4:]], env=env)
    assert other.exit_code == 0, other.output
    assert saved.read_text().strip() != key
    assert _keys_named(graph, name) == 2


@pytest.mark.integration
@pytest.mark.neo4j
def test_keys_create_save_refuses_a_key_file_others_can_read(
    neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    saved = tmp_path / "demo-key"
    saved.write_text("cw_0123456789abcdef_" + "x" * 43 + "\n")
    saved.chmod(0o644)
    create = ["keys", "create", "--rulesets", "*", "--name", "demo", "--save", str(saved)]
    refused = CliRunner().invoke(app, create, env=_cli_env(neo4j_server))
    assert refused.exit_code == 1
    assert "readable by others (mode 644)" in refused.output and "chmod 600" in refused.output


def _cli_env(server: Neo4jServer) -> dict[str, str]:
    """The environment that points the ``casewise`` CLI at the session's Neo4j."""
    return {
        "NEO4J_URI": server.uri,
        "NEO4J_USER": server.user,
        "NEO4J_PASSWORD": server.password,
        "NEO4J_DATABASE": server.database,
    }


def _keys_named(graph: Graph, name: str) -> int:
    rows = graph.read("MATCH (k:ApiKey {name: $name}) RETURN count(k) AS n", name=name)
    return int(rows[0]["n"])


def _read_until_closed(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := client.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def _csv_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on 127.0.0.1 that answers any GET with a CSV; gives its port and the
    paths it was asked for."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = b"a,b\n1,2\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((local.HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
