"""The local Neo4j launcher (service.graph.local) and the server it gives, over real Bolt."""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import neo4j
import pytest
from typer.testing import CliRunner

from service.graph import local
from service.graph.cli import neo4j_app

if TYPE_CHECKING:
    from .conftest import Neo4jServer

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

COMPONENTS = "CALL dbms.components() YIELD name, versions, edition RETURN versions, edition"
WRITE_PROBE = "MERGE (p:LauncherProbe {id: $id}) SET p.note = $note, p.count = $count"
READ_PROBE = "MATCH (p:LauncherProbe {id: $id}) RETURN p.note AS note, p.count AS count"
DELETE_PROBE = "MATCH (p:LauncherProbe {id: $id}) DELETE p"


@pytest.fixture
def local_server(neo4j_server: Neo4jServer) -> local.Status:
    """The launcher's server; skips when NEO4J_URI points at a server it did not start."""
    if neo4j_server.local is None:
        pytest.skip(f"NEO4J_URI={neo4j_server.uri} is not the local launcher's server")
    return neo4j_server.local


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((local.HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def test_server_is_neo4j_5(neo4j_driver: neo4j.Driver, neo4j_server: Neo4jServer) -> None:
    records, _, _ = neo4j_driver.execute_query(
        COMPONENTS, database_=neo4j_server.database, routing_=neo4j.RoutingControl.READ
    )
    version = records[0]["versions"][0]
    if neo4j_server.local is not None:
        assert version.startswith("5.")
        assert records[0]["edition"] == "community"
    else:
        assert int(version.split(".")[0]) >= 5
    assert neo4j_driver.get_server_info().agent.startswith("Neo4j/")


def test_write_and_read_a_node_with_parameters(
    neo4j_driver: neo4j.Driver, neo4j_server: Neo4jServer
) -> None:
    probe = {"id": f"probe-{uuid.uuid4()}", "note": 'it\'s "quoted" — ünïcode; $not_a_param'}
    with neo4j_driver.session(database=neo4j_server.database) as session:
        session.execute_write(lambda tx: tx.run(WRITE_PROBE, {**probe, "count": 42}).consume())
        try:
            record = session.execute_read(
                lambda tx: tx.run(READ_PROBE, {"id": probe["id"]}).single(strict=True)
            )
        finally:
            session.execute_write(lambda tx: tx.run(DELETE_PROBE, {"id": probe["id"]}).consume())
    assert record["note"] == probe["note"]
    assert record["count"] == 42


def test_status_reports_the_running_server(local_server: local.Status) -> None:
    status = local.status(local_server.data_dir)
    assert status.running and status.accepting
    assert (status.pid, status.port) == (local_server.pid, local_server.port)
    assert status.uri == f"bolt://127.0.0.1:{local_server.port}"
    assert (status.data_dir / "neo4j.pid").read_text().strip() == str(status.pid)
    assert status.log.is_file()


def test_second_start_is_a_no_op(local_server: local.Status) -> None:
    began = time.monotonic()
    again = local.start(port=local_server.port or 0, data_dir=local_server.data_dir)
    assert again.pid == local_server.pid
    assert time.monotonic() - began < 5


def test_start_on_another_port_while_running_is_refused(local_server: local.Status) -> None:
    with pytest.raises(local.Neo4jLauncherError, match="already runs on port"):
        local.start(port=_free_port(), data_dir=local_server.data_dir)


def test_cli_status_shows_the_server(local_server: local.Status) -> None:
    if local_server.data_dir != local.DEFAULT_DATA_DIR.resolve():
        pytest.skip("the CLI looks at var/neo4j only")
    result = CliRunner().invoke(neo4j_app, ["status"])
    assert result.exit_code == 0, result.output
    assert f"running at {local_server.uri}" in result.output


def test_run_reuses_a_running_server_and_passes_the_exit_code(
    local_server: local.Status, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEO4J_URI", raising=False)
    # Credentials of some other server in the environment: the local server's replace them.
    monkeypatch.setenv("NEO4J_PASSWORD", "another server's password")
    expected = {"NEO4J_URI": local_server.uri, "NEO4J_USER": "neo4j"}
    expected["NEO4J_PASSWORD"] = local_server.password_file.read_text().strip()
    check = (
        f"import os, sys; want = {expected!r}; "
        "sys.exit(5 if all(os.environ[k] == v for k, v in want.items()) else 1)"
    )
    code = local.run(
        [sys.executable, "-c", check], port=local_server.port or 0, data_dir=local_server.data_dir
    )
    assert code == 5
    assert local.status(local_server.data_dir).pid == local_server.pid  # not stopped: not ours


def test_run_with_neo4j_uri_set_only_runs_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_URI", "bolt://db.example:7687")
    check = (
        "import os, sys; sys.exit(7 if os.environ['NEO4J_URI'] == 'bolt://db.example:7687' else 1)"
    )
    assert local.run([sys.executable, "-c", check], data_dir=Path("/nonexistent")) == 7


def test_port_taken_by_another_program_is_refused(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind((local.HOST, 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(local.Neo4jLauncherError, match=f"port {port} on 127.0.0.1 is in use"):
            local.start(port=port, data_dir=tmp_path)


def test_server_dying_while_starting_shows_the_log(
    local_server: local.Status, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Needs the built launcher, which local_server guarantees; the JVM refuses to start.
    monkeypatch.setenv(local.JAVA_OPTS_ENV, "-XX:+NoSuchOption")
    with pytest.raises(local.Neo4jLauncherError, match=r"(?s)exited with code 1.*NoSuchOption"):
        local.start(port=_free_port(), data_dir=tmp_path, timeout=30)
    assert not local.status(tmp_path).running
    assert not (tmp_path / "neo4j.pid").exists()


def test_stale_pid_file_is_not_a_running_server(tmp_path: Path) -> None:
    # A pid that runs, but is not the launcher (this test process), as after a pid is reused.
    (tmp_path / "neo4j.pid").write_text(f"{os.getpid()}\n")
    assert not local.status(tmp_path).running
    stopped = local.stop(tmp_path)
    assert stopped.pid is None
    assert not (tmp_path / "neo4j.pid").exists()


def test_a_password_the_server_refuses_is_said_at_once(
    local_server: local.Status, tmp_path: Path
) -> None:
    # The running server, seen through a data folder whose password file holds another password
    # (as when its neo4j user's password was changed by hand).
    (tmp_path / local.PASSWORD_FILE).write_text("not-the-servers-password\n")
    (tmp_path / local.PASSWORD_FILE).chmod(0o600)
    elsewhere = replace(local_server, data_dir=tmp_path)
    began = time.monotonic()
    with pytest.raises(local.Neo4jLauncherError, match=r"refused the password in .*password"):
        local._wait_for_bolt(elsewhere, timeout=60, log_offset=0)
    assert time.monotonic() - began < 10  # not after the whole timeout
