"""Hostile fact queries (issue 10, item 1): author-written Cypher runs in a sandbox.

Each reproducer of the issue is replayed the way an author would: as a candidate playbook posted
to the simulation page of a real ``casewise serve`` (signed in as an author, with the form's
CSRF token), and as a playbook file loaded or checked. Each must be refused with a message that
names the construct and shows nothing the query touched (file content, a password hash, Neo4j's
error text), the service must keep answering, and a runaway query must be stopped by the
timeout, on the server too.
"""

from __future__ import annotations

import http.server
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.engine import RuleFileError, load_ruleset
from service.engine.playbook import FactQuery, fact_query_problems
from service.graph.db import Graph
from service.recommend import facts, sandbox
from service.recommend.playbooks import PlaybookRegistry
from tests.auth import PASSWORD
from tests.conftest import Neo4jServer
from tests.hostile import assert_refused, assert_still_answering
from tests.pagetree import parse
from tests.serving import served_env, serving

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

ROOT = Path(__file__).parents[2]
KNOWLEDGE = ROOT / "knowledge"
TIMEOUT_MS = 1500

PLAYBOOK = """\
playbook: NAME
facts:
  n:
    type: integer
    description: the fact the candidates change
    query: |
QUERY
rules:
  - id: any
    when: n > 0
    then:
      recommend: {action: raise-priority, weight: 0.5, rationale: "{n} found"}
"""
SERVED_QUERY = "MATCH (c:Case {id: $case_id})\nRETURN count(c) AS value"
# Allowed by the sandbox, but fails on the case's data; Neo4j's message quotes that data.
FAILING = "MATCH (c:Case {id: $case_id}) RETURN toInteger(datetime(c.attributes).year) AS value"

SEED = """
MERGE (c:Case {id: $case_id})
  SET c.type = $case_type, c.status = 'open', c.attributes = $attributes
MERGE (r:Recommendation {id: $case_id + ':rec'})
  SET r.action = 'raise-priority', r.rule = 'any', r.playbook = $case_type, r.status = 'accepted',
      r.facts = '{}', r.version = 'v1', r.created_at = datetime()
MERGE (r)-[:FOR]->(c)
MERGE (d:ExpertDecision {id: $case_id + ':dec'})
  SET d.outcome = 'accepted', d.recommended_action = 'raise-priority', d.action = 'raise-priority',
      d.rule = 'any', d.playbook = $case_type, d.case_type = $case_type, d.at = datetime()
MERGE (d)-[:ON]->(r)
MERGE (d)-[:IN_CASE]->(c)
WITH c
UNWIND range(1, $bulk) AS i
MERGE (:Case {id: $case_id + ':bulk-' + i, type: $case_type + '-bulk', status: 'closed'})
"""
CLEAN = """
MATCH (n) WHERE (n:Case OR n:Recommendation OR n:ExpertDecision) AND n.id STARTS WITH $prefix
DETACH DELETE n
"""
RUNNING = (
    "SHOW TRANSACTIONS YIELD currentQuery WHERE currentQuery CONTAINS $marker RETURN count(*) AS n"
)


def playbook(name: str, query: str) -> str:
    """A playbook file of one fact, ``n``, given by ``query``."""
    indented = "\n".join("      " + line for line in query.strip().splitlines())
    return PLAYBOOK.replace("NAME", name).replace("QUERY", indented)


# --- loading and checking a playbook file ------------------------------------------------------

LOAD_CSV = (
    "WITH $case_id AS _cid LOAD CSV FROM 'file:///{path}' AS l "
    "RETURN toInteger(datetime(l[0]).year) AS value"
)


def test_load_csv_is_refused_at_its_line_when_the_playbook_is_checked(tmp_path: Path) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    (tmp_path / "secret-key").write_text(secret, encoding="utf-8")
    folder = tmp_path / "knowledge" / "playbooks"
    folder.mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "actions.yaml", folder.parent / "actions.yaml")
    query = LOAD_CSV.format(path=tmp_path / "secret-key")
    (folder / "claim.yaml").write_text(playbook("claim", query), encoding="utf-8")

    result = CliRunner().invoke(app, ["rules", "check", str(folder)])
    assert result.exit_code == 1, result.output
    # the query is on line 7 of the file; LOAD sits after 'WITH $case_id AS _cid ' (col 7 + 22)
    assert "claim.yaml:7:29: fact 'n': LOAD CSV is not allowed in a fact query" in result.output
    assert secret not in result.output
    # The service refuses to serve it too, with the same problem.
    registry = PlaybookRegistry.load(folder.parent)
    assert registry.names() == []
    assert ["LOAD CSV is not allowed in a fact query" in p.message for p in registry.problems] == [
        True
    ]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("MATCH (c:Case {id: $case_id}) CALL dbms.components() YIELD name RETURN name AS value",
         "CALL of a procedure is not allowed"),
        ("MATCH (c:Case {id: $case_id}) RETURN apoc.load.json('file:///etc/passwd') AS value",
         "apoc.load.json() is not allowed"),
        ("MATCH (c:Case {id: $case_id}) SET c.x = 1 RETURN 1 AS value", "SET is not allowed"),
        ("MATCH (c:Case {id: $case_id}) FOREACH (i IN [1] | CREATE (:Case)) RETURN 1 AS value",
         "FOREACH is not allowed"),
        ("USING PERIODIC COMMIT LOAD CSV FROM 'http://127.0.0.1/' AS l RETURN $case_id AS value",
         "USING PERIODIC COMMIT is not allowed"),
        ("USE system SHOW USERS YIELD user RETURN $case_id AS value", "USE is not allowed"),
    ],
)  # fmt: skip
def test_the_worst_constructs_are_named_when_the_file_loads(
    tmp_path: Path, query: str, named: str
) -> None:
    path = tmp_path / "claim.yaml"
    path.write_text(playbook("claim", query), encoding="utf-8")
    with pytest.raises(RuleFileError) as refused:
        load_ruleset(path, actions={"raise-priority"})
    problems = refused.value.problems
    assert any(named in p.message and p.line == 7 for p in problems), problems


def test_every_shipped_playbook_passes_the_sandbox(graph: Graph) -> None:
    shipped = [p for p in (KNOWLEDGE / "playbooks").glob("*.yaml") if ".test." not in p.name]
    assert len(shipped) >= 3
    for path in shipped:
        assert facts.check_queries(graph, load_ruleset(path)) == [], path


def test_credentials_are_kept_out_of_the_case_graph(graph: Graph, graph_key: str) -> None:
    # every label the auth store writes holds credentials, and none is a case-graph label
    written = set()
    for source in (ROOT / "service" / "auth").glob("*.py"):
        written |= set(re.findall(r"\(\w*:(\w+)", source.read_text(encoding="utf-8")))
    assert written and written <= sandbox.CREDENTIAL_LABELS
    assert not sandbox.CREDENTIAL_LABELS & (sandbox.CASE_LABELS | sandbox.CASE_TYPES)
    # the case graph's labels are the ones knowledge/README.md draws
    readme = (KNOWLEDGE / "README.md").read_text(encoding="utf-8")
    drawn = set(re.findall(r"^\| `(\w+)`", readme, re.M)) | {"Person", "Organisation", "Party"}
    drawn |= {"Address", "Phone", "Email", "BankAccount"}
    assert drawn <= sandbox.CASE_LABELS | {"RoutingDecision"}
    # users and keys are there (graph_key seeded them), linked to nothing: no walk reaches them
    assert graph.read("MATCH (u:User) RETURN count(u) AS n")[0]["n"] > 0
    assert facts.credentials_linked(graph) is None


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("MATCH (c:Case {id: $case_id}) OPTIONAL MATCH (u:User {name: 'admin'}) "
         "RETURN u.role AS value", "the label User holds credentials"),
        ("WITH $case_id AS _cid MATCH (x),(y),(z) RETURN count(*) AS value",
         "a node pattern without a label reads every node"),
        ("MATCH (c:Case {id: $case_id})-[*]-(x) RETURN count(x) AS value",
         "a relationship pattern without a type"),
        ("MATCH (c:Case {id: $case_id}) MATCH (n) WHERE elementId(n) = '4:x:1' "
         "RETURN count(n) AS value", "internal id"),
        ("MATCH (c:Case {id: $case_id}) MATCH (x:!Case) RETURN count(x) AS value",
         "a node pattern without a label"),
        ("MATCH (c:Case|ApiKey {id: $case_id}) RETURN c.name AS value",
         "the label ApiKey holds credentials"),
        ("MATCH (c:Case {id: $case_id}) RETURN c.password_hash AS value",
         "the property password_hash holds a secret"),
        ("MATCH (c:Case {id: $case_id})<-[:FOR]-(x:$('User')) RETURN count(x) AS value",
         "a dynamic label or type"),
        ("MATCH (c:Case {id: $case_id}) MATCH (x IS Session) RETURN count(x) AS value",
         "the label Session holds credentials"),
        ("MATCH (c:Case {id: $case_id}) WITH c AS `q'` MATCH (`q'`)<-[:FOR]-(x) "
         "WHERE `q'`.id = 'a' AND x:User AND `q'`.type = 'b' RETURN count(x) AS value",
         "the label User holds credentials"),
        ("MATCH (c:Case {id: $case_id}) RETURN [(c)<-[:FOR]-(x:Recommendation) | "
         "x{.*}] AS value", None),
    ],
)  # fmt: skip
def test_the_plan_whitelist_refuses_what_the_text_check_lets_through(
    graph: Graph, query: str, named: str | None
) -> None:
    assert fact_query_problems(query) == []  # only the plan can tell
    fact = FactQuery("n", "integer", "", query, 7)
    refused = load_ruleset(Path(KNOWLEDGE / "playbooks" / "invoice-fraud.yaml"))
    problems = facts.check_query(graph, refused, fact)
    if named is None:  # reading the case graph is what fact queries are for
        assert problems == []
        return
    assert any(named in p.message for p in problems), problems
    assert all(p.line == 7 for p in problems)


# --- the simulation page of a real server ------------------------------------------------------


@dataclass
class Site:
    url: str
    key: str  # an API key of every ruleset
    name: str  # the served playbook
    case_id: str  # a case with an expert decision on it: the candidate's queries run for it
    marker: str  # a value in that case's attributes that no page may show
    log: Path
    graph: Graph


@pytest.fixture(scope="module")
def site(
    neo4j_server: Neo4jServer,
    graph: Graph,
    graph_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    name = f"{prefix}claim"
    case_id = f"{prefix}c1"
    marker = f"marker-{uuid.uuid4().hex}"
    graph.write(
        SEED, case_id=case_id, case_type=name, attributes=f'{{"note": "{marker}"}}', bulk=120
    )
    root = tmp_path_factory.mktemp("fact-queries")
    knowledge = root / "knowledge"
    (knowledge / "playbooks").mkdir(parents=True)
    for part in ("actions.yaml", "schema.cypher"):
        shutil.copy(KNOWLEDGE / part, knowledge / part)
    served = playbook(name, SERVED_QUERY)
    (knowledge / "playbooks" / f"{name}.yaml").write_text(served, encoding="utf-8")
    # A served playbook whose query passes the sandbox but fails on the case's data.
    graph.write(SEED, case_id=f"{case_id}-bad", case_type=f"{name}-bad", attributes=marker, bulk=0)
    failing = playbook(f"{name}-bad", FAILING)
    (knowledge / "playbooks" / f"{name}-bad.yaml").write_text(failing, encoding="utf-8")
    env = served_env(neo4j_server) | {
        "CASEWISE_KNOWLEDGE_DIR": str(knowledge),
        "CASEWISE_RULES_DIR": str(ROOT / "rules"),
        "CASEWISE_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "CASEWISE_WATCH": "off",
        "CASEWISE_DECISION_LOG": "off",
        "CASEWISE_FACT_QUERY_TIMEOUT_MS": str(TIMEOUT_MS),
    }
    log = root / "serve.log"
    try:
        with serving([], env, log) as running:
            yield Site(running.url, graph_key, name, case_id, marker, log, graph)
    finally:
        graph.write(CLEAN, prefix=prefix)


@pytest.fixture(scope="module")
def author(site: Site) -> Iterator[httpx.Client]:
    """A client signed in as an author through the sign-in form (once: signing in is slow)."""
    with httpx.Client(base_url=site.url, timeout=60) as client:
        page = client.get("/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text
        form = {"name": "author", "password": PASSWORD, "csrf": token.group(1), "next": "/"}
        signed = client.post("/signin", data=form)
        assert signed.status_code == 303, signed.text
        yield client


def simulate(client: httpx.Client, site: Site, query: str) -> httpx.Response:
    """Post a candidate whose fact ``n`` is ``query`` to the served playbook's simulation page."""
    form_page = client.get(f"/rules/{site.name}/simulate", headers={"accept": "text/html"})
    assert form_page.status_code == 200, form_page.text
    csrf = parse(form_page.text).one("input", name="csrf").get("value")
    data = {"candidate": playbook(site.name, query), "csrf": csrf, "limit": "10"}
    return client.post(f"/rules/{site.name}/simulate", data=data, headers={"accept": "text/html"})


def refusal(response: httpx.Response) -> str:
    """The text of the refusal on a simulation page: the problems, or the note."""
    assert response.status_code == 422, response.text[:2000]
    doc = parse(response.text)
    assert doc.find("section", id="report") is None
    shown = doc.find("ul", id="problems") or doc.one("p", id="note")
    return shown.text()


def test_reading_a_file_through_the_simulate_page_is_refused(
    site: Site, author: httpx.Client, tmp_path: Path
) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    (tmp_path / "secret-key").write_text(secret, encoding="utf-8")
    response = simulate(author, site, LOAD_CSV.format(path=tmp_path / "secret-key"))
    shown = refusal(response)
    assert f"candidate {site.name}.yaml:7:29: fact 'n': LOAD CSV is not allowed" in shown
    assert secret not in response.text
    assert_still_answering(site.url)


class _Counting(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"2026-01-01\n")

    def log_message(self, *args: object) -> None:
        pass


def test_fetching_a_url_through_the_simulate_page_is_refused(
    site: Site, author: httpx.Client
) -> None:
    listener = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.server_address[1]}/healthz"
        query = f"WITH $case_id AS _cid LOAD CSV FROM '{url}' AS l RETURN size(l) AS value"
        assert "LOAD CSV is not allowed" in refusal(simulate(author, site, query))
        # the URL answers (so a fetch would have been counted), and Neo4j never asked for it
        assert httpx.get(url).status_code == 200
        assert _Counting.hits == 1
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join()
    assert_still_answering(site.url)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("MATCH (c:Case {id: $case_id}) OPTIONAL MATCH (u:User {name: 'admin'}) "
         "RETURN toInteger(datetime(u.password_hash).year) AS value",
         "the label User holds credentials"),
        ("MATCH (c:Case {id: $case_id}) OPTIONAL MATCH (u) WHERE u.name = 'admin' "
         "RETURN size(keys(u)) AS value", "a node pattern without a label reads every node"),
        ("MATCH (c:Case {id: $case_id}) MATCH (u:ApiKey) RETURN count(u) AS value",
         "the label ApiKey holds credentials"),
        ("WITH $case_id AS _cid MATCH (x),(y),(z) RETURN count(*) AS value",
         "a node pattern without a label reads every node"),
    ],
)  # fmt: skip
def test_reading_outside_the_case_graph_through_the_simulate_page_is_refused(
    site: Site, author: httpx.Client, query: str, named: str
) -> None:
    admin_hash = site.graph.read("MATCH (u:User {name: 'admin'}) RETURN u.password_hash AS h")
    assert admin_hash and admin_hash[0]["h"].startswith("$argon2")
    response = simulate(author, site, query)
    shown = refusal(response)
    assert f"candidate {site.name}.yaml:7:1: fact 'n': {named}" in shown
    assert "$argon2" not in response.text and admin_hash[0]["h"] not in response.text
    assert_still_answering(site.url)


def test_neo4j_error_text_is_logged_under_an_id_never_shown(
    site: Site, author: httpx.Client
) -> None:
    response = simulate(author, site, FAILING)
    shown = refusal(response)
    found = re.search(
        rf"the fact query n \(candidate {re.escape(site.name)}\.yaml:7\) failed; error id "
        r"([0-9a-f]{12}) — the service log has the details",
        shown,
    )
    assert found, shown
    assert site.marker not in response.text and "Neo." not in response.text
    logged = site.log.read_text()
    at = logged.index(f"[error id {found.group(1)}]")  # the details are in the log, under the id
    assert site.marker in logged[at : at + 2000]


def test_a_served_playbook_that_fails_answers_the_api_without_neo4j_text(site: Site) -> None:
    url = f"{site.url}/v1/cases/{site.case_id}-bad/recommendations"
    response = httpx.get(url, headers={"Authorization": f"Bearer {site.key}"})
    error = assert_refused(response, 503, "the fact query n", "failed; error id")
    assert error["code"] == "fact-query-failed"
    assert site.marker not in response.text and "Neo." not in response.text
    assert_still_answering(site.url)


def test_more_rows_than_the_limit_is_a_clear_error(site: Site, author: httpx.Client) -> None:
    query = "MATCH (c:Case {id: $case_id}) UNWIND range(1, 5) AS i RETURN i AS value"
    shown = refusal(simulate(author, site, query))
    assert f"the fact query n (candidate {site.name}.yaml:7) gave more than 1 row(s)" in shown


def test_a_runaway_query_is_stopped_by_the_timeout(site: Site, author: httpx.Client) -> None:
    marker = f"spin-{uuid.uuid4().hex[:8]}"
    # Five copies of 120+ cases: 10^10 rows and more; allowed (it only reads cases), never ends.
    query = (
        f"MATCH (c:Case {{id: $case_id}}) WITH c, '{marker}' AS marker\n"
        "MATCH (a:Case), (b:Case), (d:Case), (e:Case), (f:Case)\n"
        "RETURN count(*) AS value"
    )
    answer: list[httpx.Response] = []
    started = time.monotonic()
    thread = threading.Thread(target=lambda: answer.append(simulate(author, site, query)))
    thread.start()
    try:
        with site.graph.driver.session(database=site.graph.database) as session:
            deadline = time.monotonic() + 20
            while session.run(RUNNING, marker=marker).single(strict=True)["n"] == 0:
                assert thread.is_alive() and time.monotonic() < deadline, "the query never ran"
                time.sleep(0.05)  # polling Neo4j for the query, not pacing the test
            assert_still_answering(site.url)  # while Neo4j spins on it
    finally:
        thread.join(timeout=60)
    took = time.monotonic() - started
    shown = refusal(answer[0])
    assert (
        f"the fact query n (candidate {site.name}.yaml:7) timed out after {TIMEOUT_MS} ms" in shown
    )
    assert re.search(r"error id [0-9a-f]{12}", shown)
    assert took < TIMEOUT_MS / 1000 + 10, took
    # Neo4j stopped it: the transaction is gone and a trivial query answers at once.
    with site.graph.driver.session(database=site.graph.database) as session:
        assert session.run(RUNNING, marker=marker).single(strict=True)["n"] == 0
        before = time.monotonic()
        assert session.run("RETURN 1 AS one").single(strict=True)["one"] == 1
        assert time.monotonic() - before < 1
    assert_still_answering(site.url)
