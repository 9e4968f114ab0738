"""Two Casewise nodes on one Neo4j with auth and TLS: same versions served, nothing lost.

One Neo4j for the module (``casewise neo4j start --tls`` on a spare port with its own data
folder: Bolt over TLS only, a self-signed certificate made with openssl, auth on). Two
``casewise serve`` processes with their own ports, spools and rule folders connect with
``bolt+s://`` and CASEWISE_NEO4J_CA_FILE. A rule change written to both folders reaches both
(``casewise cluster status`` says when they differ and when they agree); one node is SIGKILLed
while clients post decisions to both, and every decision answered 200 is in the decision log
exactly once after the survivor flushed and the killed node, restarted, replayed its spool.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.devtools import localneo4j as local
from service.graph.db import Graph, GraphUnavailable
from tests.integration.test_decision_log_crash import FRAUD, ONCE, ROUTINE
from tests.serving import free_port, served_env, serving

RULES = Path(__file__).parents[2] / "rules"
RULESET = "invoice-approval"
THREADS = 4

pytestmark = [pytest.mark.integration, pytest.mark.neo4j, pytest.mark.slow]


@pytest.fixture(scope="module")
def tls_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local.Status]:
    """A Neo4j of this module's own: Bolt over TLS only (self-signed), auth on."""
    data_dir = tmp_path_factory.mktemp("neo4j-tls")
    server = local.start(port=free_port(), data_dir=data_dir, tls=True)
    try:
        yield server
    finally:
        local.stop(data_dir)


def node_env(server: local.Status, spool: Path) -> dict[str, str]:
    assert server.uri is not None and server.ca_file is not None
    user, password = server.auth
    return served_env() | {
        "NEO4J_URI": server.uri,
        "NEO4J_USER": user,
        "NEO4J_PASSWORD": password,
        "CASEWISE_NEO4J_CA_FILE": str(server.ca_file),
        "CASEWISE_AUTH": "off",
        "CASEWISE_SPOOL_DIR": str(spool),
        "CASEWISE_WATCH_DEBOUNCE_MS": "50",
    }


def versions(url: str) -> dict[str, str | None]:
    """The version a node serves of each ruleset, from its /v1/rulesets/status."""
    body = httpx.get(f"{url}/v1/rulesets/status", timeout=10).json()
    return {entry["name"]: entry["version"] for entry in body["rulesets"]}


def wait_version(url: str, old: str | None, timeout: float = 30) -> str:
    """Wait until the node serves another version of RULESET than ``old``; give it."""
    deadline = time.monotonic() + timeout
    while (version := versions(url)[RULESET]) == old:
        assert time.monotonic() < deadline, f"{url} still serves {old} after {timeout} s"
        time.sleep(0.1)
    assert version is not None
    return version


def cluster_status(*urls: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["cluster", "status", *urls])
    return result.exit_code, result.output


def edit(folder: Path, note: str) -> None:
    """Change the ruleset's description in ``folder`` (a new version, same decisions)."""
    path = folder / f"{RULESET}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("processing SLA.", f"processing SLA ({note}).", 1), "utf-8")


class Load:
    """Clients posting decisions with Idempotency-Keys to every node in turn, until stopped.

    A request a node does not answer (killed) goes to the next node with the same key, as a
    load balancer's retry would; every id answered 200 is noted with the node that answered.
    """

    def __init__(self, urls: list[str], prefix: str) -> None:
        self.urls = urls
        self.prefix = prefix
        self.ok: dict[str, bool] = {}  # id -> asked for a case
        self.by: dict[str, str] = {}  # id -> the node that answered
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(THREADS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ok) < count:
            assert time.monotonic() < deadline, f"only {len(self.ok)} answers: {self.failures[:3]}"
            time.sleep(0.05)

    def _run(self, thread: int) -> None:
        clients = [httpx.Client(base_url=url, timeout=30) for url in self.urls]
        try:
            n = 0
            while not self._stop.is_set():
                key = f"{self.prefix}{thread}-{n}"
                wants_case = n % 4 == 0
                for attempt in range(len(clients)):
                    node = (n + thread + attempt) % len(clients)
                    client = clients[node]
                    try:
                        response = client.post(
                            f"/v1/decisions/{RULESET}",
                            json=FRAUD if wants_case else ROUTINE,
                            headers={"Idempotency-Key": key},
                        )
                    except httpx.TransportError:
                        continue  # that node is gone: the next one, same key
                    if response.status_code == 200:
                        self.ok[key] = wants_case
                        self.by[key] = self.urls[node]
                    else:
                        self.failures.append(f"{key}: {response.status_code} {response.text}")
                    break
                else:
                    self.failures.append(f"{key}: no node answered")
                n += 1
        finally:
            for client in clients:
                client.close()


def missing_from_log(graph: Graph, ids: list[str], timeout: float) -> list[str]:
    """Wait up to ``timeout`` until every id is in the decision log; give those still missing."""
    deadline = time.monotonic() + timeout
    while True:
        rows = graph.read(ONCE, ids=ids)
        missing = [r["id"] for r in rows if r["nodes"] == 0]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.3)


def test_the_graph_takes_only_tls_verified_against_the_ca_file(tls_neo4j: local.Status) -> None:
    assert tls_neo4j.uri is not None and tls_neo4j.uri.startswith("bolt+s://")
    assert tls_neo4j.ca_file is not None
    plain = tls_neo4j.uri.replace("bolt+s://", "bolt://")
    with pytest.raises(GraphUnavailable, match="not reachable"):
        Graph.connect(plain, *tls_neo4j.auth, "neo4j").close()  # no TLS: refused
    with pytest.raises(GraphUnavailable, match="not reachable"):
        Graph.connect(tls_neo4j.uri, *tls_neo4j.auth, "neo4j").close()  # system CAs only
    with pytest.raises(GraphUnavailable, match=r"\+ssc"):
        Graph.open(plain.replace("bolt://", "bolt+ssc://"), *tls_neo4j.auth, "neo4j", Path("x"))
    with pytest.raises(GraphUnavailable, match="refused the login"):
        Graph.connect(tls_neo4j.uri, "neo4j", "wrong-password", "neo4j", tls_neo4j.ca_file)
    graph = Graph.connect(tls_neo4j.uri, *tls_neo4j.auth, "neo4j", tls_neo4j.ca_file)
    try:
        assert graph.read("RETURN 1 AS one") == [{"one": 1}]
    finally:
        graph.close()


def test_the_launcher_hands_out_bolt_s_and_the_ca_file(
    tls_neo4j: local.Status, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_neo4j.ca_file is not None and tls_neo4j.port is not None
    key = tls_neo4j.ca_file.with_name("private.key")
    assert key.stat().st_mode & 0o777 == 0o600
    assert local.status(tls_neo4j.data_dir).uri == tls_neo4j.uri  # TLS read back from the pid
    with pytest.raises(local.Neo4jLauncherError, match="already runs with TLS on"):
        local.start(port=tls_neo4j.port, data_dir=tls_neo4j.data_dir, tls=False)
    # What with-neo4j.sh runs gets the URI and the certificate to trust with it.
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.delenv(local.TLS_ENV, raising=False)
    seen = tmp_path / "env.json"
    script = f"import json, os; open({str(seen)!r}, 'w').write(json.dumps(dict(os.environ)))"
    code = local.run(
        [sys.executable, "-c", script], port=tls_neo4j.port, data_dir=tls_neo4j.data_dir
    )
    env = json.loads(seen.read_text())
    assert code == 0 and local.status(tls_neo4j.data_dir).running  # reused, not stopped
    assert env["NEO4J_URI"] == tls_neo4j.uri
    assert env[local.CA_FILE_ENV] == str(tls_neo4j.ca_file)


def test_two_nodes_serve_the_same_rules_and_lose_nothing_when_one_is_killed(
    tls_neo4j: local.Status, tmp_path: Path
) -> None:
    folders = {name: tmp_path / name / "rules" for name in ("a", "b")}
    for folder in folders.values():
        shutil.copytree(RULES, folder)
    env = {name: node_env(tls_neo4j, tmp_path / name / "spool") for name in folders}
    args = {name: ["--rules", str(folder)] for name, folder in folders.items()}
    prefix = f"two-{uuid.uuid4().hex[:6]}-"
    graph = Graph.connect(tls_neo4j.uri or "", *tls_neo4j.auth, "neo4j", tls_neo4j.ca_file)
    try:
        with (
            serving(args["a"], env["a"], tmp_path / "a.log") as a,
            serving(args["b"], env["b"], tmp_path / "b.log") as b,
        ):
            # Same files, so the same versions; a change in one folder only is seen as such.
            assert versions(a.url) == versions(b.url)
            assert cluster_status(a.url, b.url)[0] == 0
            first = versions(a.url)[RULESET]
            edit(folders["a"], "edited")
            changed = wait_version(a.url, first)
            code, output = cluster_status(a.url, b.url)
            assert code == 1 and f"DIFFERS ruleset {RULESET}" in output, output
            edit(folders["b"], "edited")
            assert wait_version(b.url, first) == changed
            assert versions(a.url) == versions(b.url)
            code, output = cluster_status(a.url, b.url)
            assert code == 0 and "all 2 node(s) ready" in output, output

            with Load([a.url, b.url], prefix) as load:
                load.wait_for(200)
                b.kill()  # SIGKILL, mid-load: what it answered is in its spool only
                load.wait_for(len(load.ok) + 100)
            assert load.failures == []
            assert cluster_status(a.url, b.url)[0] == 2  # b is gone
            answered_by_a = sorted(k for k, url in load.by.items() if url == a.url)
            answered_by_b = sorted(k for k, url in load.by.items() if url == b.url)
            assert len(answered_by_a) > 100 and len(answered_by_b) > 50
            # The survivor flushed what it answered.
            assert missing_from_log(graph, answered_by_a, timeout=40) == []
            waiting = len(missing_from_log(graph, answered_by_b, timeout=0))
            # The killed node, started again on its spool, replays what it had not flushed.
            with serving(args["b"], env["b"], tmp_path / "b-again.log") as again:
                assert versions(again.url) == versions(a.url)
                assert missing_from_log(graph, sorted(load.ok), timeout=40) == []
        rows = graph.read(ONCE, ids=sorted(load.ok))
        assert all(r["nodes"] == 1 and r["versions"] == 1 for r in rows)
        opened = {r["id"]: r["opened"] for r in rows}
        assert all(opened[i] == (1 if wants else 0) for i, wants in load.ok.items())
        decided = graph.read(
            "MATCH (d:RoutingDecision) WHERE d.id IN $ids RETURN DISTINCT d.version AS v",
            ids=sorted(load.ok),
        )
        assert [row["v"] for row in decided] == [changed]  # every node decided on the edit
        print(
            f"{len(load.ok)} answered ({len(answered_by_a)} by a, {len(answered_by_b)} by b); "
            f"{waiting} of b's not yet in Neo4j at the kill"
        )
    finally:
        graph.close()


def test_cluster_status_says_which_node_cannot_be_asked() -> None:
    code, output = cluster_status(f"http://127.0.0.1:{free_port()}")
    assert code == 2 and "cannot reach" in output, output
