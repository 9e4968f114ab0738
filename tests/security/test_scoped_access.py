"""Issue 10 item 10 (rulesets, cases, named experts, author decisions): keys see their scope.

Against a real ``casewise serve`` on the test Neo4j: a key scoped to one ruleset lists only that
ruleset, reads and writes only the cases of its ruleset's decisions and the cases it created
(any other case is a 404, as an unknown one), is never told the id of another case in a
recommendation's evidence, may act only for an existing expert, and an author's decision is a
dry run that opens no case and leaves no record. The graph is shared and may hold any number of
other cases: every check is on cases of the test's own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.auth import Neo4jStore
from service.auth.store import add_user, create_key
from service.graph.db import Graph
from tests.auth import PASSWORD
from tests.graphs import Neo4jServer
from tests.hostile import assert_refused, assert_still_answering
from tests.serving import casewise_serve, served_env

pytestmark = [pytest.mark.integration, pytest.mark.neo4j]

RULES = Path(__file__).parents[2] / "rules"
FRAUD = {"amount": 20000, "department": "IT", "vendor": {"risk": "high", "name": "Shady Ltd"}}
DECIDE = "/v1/decisions/invoice-approval"


@dataclass(frozen=True)
class World:
    """The served app, its callers, and the cases: ``mine`` (opened by a decision of the
    scoped key's ruleset), ``made`` (created by the scoped key), ``other`` (another key's)."""

    url: str
    scoped: httpx.Client
    star: httpx.Client
    author: httpx.Client
    reader: httpx.Client  # an author's key for leave-request only
    expert: str
    mine: str
    made: str
    other: str


def a_case(case_id: str, account: str) -> dict[str, Any]:
    party = {"id": f"{case_id}-p", "kind": "person", "name": "Pat", "role": "claimant",
             "identifiers": [{"kind": "bank_account", "value": account}]}  # fmt: skip
    return {"id": case_id, "type": "insurance-claim", "opened_at": "2026-01-01T08:00:00Z",
            "parties": [party]}  # fmt: skip


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, neo4j_server: Neo4jServer, graph: Graph
) -> Iterator[World]:
    store = Neo4jStore(graph)
    p = f"sc{uuid.uuid4().hex[:8]}-"
    scoped = create_key(store, f"{p}scoped", ["invoice-approval"])
    star = create_key(store, f"{p}star", ["*"])
    author = create_key(store, f"{p}author", ["*"], role="author")
    reader = create_key(store, f"{p}reader", ["leave-request"], role="author")
    add_user(store, f"{p}kim", "expert", PASSWORD)
    add_user(store, f"{p}lee", "expert", PASSWORD)  # holds the cases one test lists
    add_user(store, f"{p}ann", "author", PASSWORD)
    folder = tmp_path_factory.mktemp("scoped")
    env = served_env(neo4j_server) | {
        "CASEWISE_WATCH": "off",
    }
    with casewise_serve(["--rules", str(RULES)], env, folder / "serve.log") as url:
        clients = [
            httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {key}"})
            for key in (scoped, star, author, reader)
        ]
        try:
            opened = clients[0].post(DECIDE, json=FRAUD, headers={"Idempotency-Key": f"{p}d"})
            assert opened.status_code == 200, opened.text
            account = f"NL{uuid.uuid4().int % 10**10:010d}"
            made, other = f"{p}made", f"{p}other"
            for client, case_id in ((clients[0], made), (clients[1], other)):
                written = client.post("/v1/cases", json={"cases": [a_case(case_id, account)]})
                assert written.status_code == 200, written.text
            scoped_client, star_client, author_client, reader_client = clients
            yield World(
                url,
                scoped_client,
                star_client,
                author_client,
                reader_client,
                f"{p}kim",
                opened.json()["case_id"],
                made,
                other,
            )
        finally:
            for client in clients:
                client.close()


def test_a_scoped_key_lists_only_its_rulesets(world: World) -> None:
    listed = world.scoped.get("/v1/rulesets")
    assert listed.status_code == 200, listed.text
    assert [r["name"] for r in listed.json()["rulesets"]] == ["invoice-approval"]
    status = world.scoped.get("/v1/rulesets/status").json()
    assert {s["name"] for s in status["rulesets"]} == {"invoice-approval"}
    assert status["playbooks"] == []
    everything = {r["name"] for r in world.star.get("/v1/rulesets").json()["rulesets"]}
    assert {"invoice-approval", "leave-request"} <= everything
    assert_still_answering(world.url)


def test_a_scoped_key_reads_only_its_rulesets_decisions(world: World) -> None:
    decision_id = world.mine.removeprefix("case-")
    deadline = time.monotonic() + 15
    while not world.author.get(f"/v1/decisions/{decision_id}").status_code == 200:
        assert time.monotonic() < deadline, "the decision never reached the log"
        time.sleep(0.1)
    assert_refused(world.reader.get(f"/v1/decisions/{decision_id}"), 404, decision_id)
    page = world.reader.get("/v1/decisions", params={"limit": 500})
    assert page.status_code == 200, page.text
    assert {d["ruleset"] for d in page.json()["decisions"]} <= {"leave-request"}
    assert [r["name"] for r in world.reader.get("/v1/rulesets").json()["rulesets"]] == [
        "leave-request"
    ]
    assert_still_answering(world.url)


def test_a_scoped_key_reads_the_cases_of_its_ruleset_and_its_own_only(world: World) -> None:
    for case_id in (world.mine, world.made):
        got = world.scoped.get(f"/v1/cases/{case_id}")
        assert got.status_code == 200, got.text
    # Listed: a case of each kind of this test's own, all held by one expert, since the shared
    # graph may hold more than a page of cases of the ruleset.
    lee = world.expert.replace("kim", "lee")
    opened = world.scoped.post(DECIDE, json=FRAUD, headers={"Idempotency-Key": f"{lee}-d"})
    assert opened.status_code == 200, opened.text
    mine, made, other = opened.json()["case_id"], f"{world.made}-held", f"{world.other}-held"
    held = world.star.post(f"/v1/cases/{mine}/assign", json={"assignee": lee})
    assert held.status_code == 200, held.text
    for client, case_id in ((world.scoped, made), (world.star, other)):
        case = a_case(case_id, f"NL{uuid.uuid4().int % 10**10:010d}") | {"assignee": lee}
        written = client.post("/v1/cases", json={"cases": [case]})
        assert written.status_code == 200, written.text
    listed = world.scoped.get("/v1/cases", params={"assignee": lee}).json()
    assert sorted(c["id"] for c in listed["items"]) == sorted([mine, made])
    assert listed["total"] == 2
    everyone = world.star.get("/v1/cases", params={"assignee": lee}).json()
    assert sorted(c["id"] for c in everyone["items"]) == sorted([mine, made, other])
    assert world.star.get(f"/v1/cases/{world.other}").status_code == 200
    # The reproducer: the scoped key read the other case's bank account and address.
    for path in ("", "/timeline", "/links", "/recommendations", "/similar-actions"):
        response = world.scoped.get(f"/v1/cases/{world.other}{path}")
        assert_refused(response, 404, world.other)
    unknown = world.scoped.get(f"/v1/cases/{world.other}-nope")
    assert_refused(unknown, 404)  # the same answer as a case that does not exist
    # Linked through a shared bank account: the star key sees the other case, the scoped not.
    star_links = world.star.get(f"/v1/cases/{world.made}/links").json()["links"]
    assert world.other in [x["case"]["id"] for x in star_links]
    scoped_links = world.scoped.get(f"/v1/cases/{world.made}/links").json()["links"]
    assert world.other not in [x["case"]["id"] for x in scoped_links]
    assert_still_answering(world.url)


def test_a_scoped_key_cannot_write_a_case_out_of_its_scope(world: World) -> None:
    other = world.other
    acts = [
        (f"/v1/cases/{other}/close", {"outcome": "no-action"}),
        (f"/v1/cases/{other}/assign", {"assignee": world.expert}),
        (f"/v1/cases/{other}/recommendations/rec-x/accept", {"expert": world.expert}),
        (f"/v1/cases/{other}/events",
         {"events": [{"id": f"{other}-e9", "kind": "note", "at": "2026-01-02T08:00:00Z"}]}),
        ("/v1/cases", {"cases": [a_case(other, "NL0000000000")]}),
    ]  # fmt: skip
    for path, body in acts:
        assert_refused(world.scoped.post(path, json=body), 404, other)
    # Naming the other case's party from its own case would change it and show its accounts.
    party = {"id": f"{other}-p", "kind": "person", "name": "Mallory", "role": "claimant",
             "identifiers": [{"kind": "bank_account", "value": "NL0000000000"}]}  # fmt: skip
    taken = world.scoped.post(f"/v1/cases/{world.made}/parties", json={"parties": [party]})
    error = assert_refused(taken, 422, "parties[0].id", f"{other}-p")
    assert f"'{other}'" not in str(error)  # the other case is not named
    mine = a_case(f"{world.made}-2", "NL0000000001")
    mine["parties"] = [party]
    assert_refused(world.scoped.post("/v1/cases", json={"cases": [mine]}), 422, "parties[0].id")
    case = world.star.get(f"/v1/cases/{other}").json()
    assert case["parties"][0]["name"] == "Pat"
    assert case["status"] == "open" and case["assignee"] is None
    assert case["events"] == [] and case["parties"][0]["identifiers"][0]["value"] != "NL0000000000"
    assert_still_answering(world.url)


def test_a_key_acts_only_for_an_existing_expert(world: World) -> None:
    ghost = f"{world.expert}-ghost"
    accept = world.scoped.post(
        f"/v1/cases/{world.mine}/recommendations/rec-x/accept", json={"expert": ghost}
    )
    error = assert_refused(accept, 422, "expert", ghost)
    assert error["details"][0]["field"] == "expert"
    override = world.star.post(
        f"/v1/cases/{world.mine}/recommendations/rec-x/override",
        json={"expert": ghost, "action": "refer-to-siu", "reason": "it looks like fraud"},
    )
    assert_refused(override, 422, "expert", ghost)
    author = world.expert.replace("kim", "ann")  # a user, but not an expert
    assign = world.scoped.post(f"/v1/cases/{world.mine}/assign", json={"assignee": author})
    assert_refused(assign, 422, "assignee", author)
    good = world.scoped.post(f"/v1/cases/{world.mine}/assign", json={"assignee": world.expert})
    assert good.status_code == 200, good.text
    assert good.json()["assignee"] == world.expert
    assert_still_answering(world.url)


def test_an_authors_decision_is_a_dry_run(world: World, graph: Graph) -> None:
    key = f"dry-{uuid.uuid4().hex[:10]}"
    dry = world.author.post(DECIDE, json=FRAUD, headers={"Idempotency-Key": key})
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert answer["dry_run"] is True and answer["would_open_case"] is True
    assert "case_id" not in answer and answer["outputs"]["open_case"] is True
    batch = world.author.post(DECIDE + "/batch", json={"items": [FRAUD]},
                              headers={"Idempotency-Key": f"{key}-b"})  # fmt: skip
    assert batch.json()["results"][0]["decision"]["would_open_case"] is True
    # A real decision made after it reaches the log; the dry runs never do, nor their cases.
    real = world.star.post(DECIDE, json=FRAUD, headers={"Idempotency-Key": f"{key}-real"})
    assert real.status_code == 200, real.text
    deadline = time.monotonic() + 15
    found = """
    UNWIND $ids AS id
    OPTIONAL MATCH (d:RoutingDecision {id: id})
    OPTIONAL MATCH (c:Case {id: 'case-' + id})
    RETURN id, d IS NOT NULL AS logged, c IS NOT NULL AS opened ORDER BY id
    """
    ids = [key, f"{key}-b.0", f"{key}-real"]
    while not graph.read(found, ids=[f"{key}-real"])[0]["logged"]:
        assert time.monotonic() < deadline, "the real decision never reached the log"
        time.sleep(0.1)
    rows = {r["id"]: (r["logged"], r["opened"]) for r in graph.read(found, ids=ids)}
    assert rows == {key: (False, False), f"{key}-b.0": (False, False),
                    f"{key}-real": (True, True)}  # fmt: skip
    assert_still_answering(world.url)


def test_similar_actions_never_name_a_case_out_of_the_keys_scope(world: World) -> None:
    kind = f"claim-{uuid.uuid4().hex[:8]}"  # a type of its own: no other test's closed cases
    made, other = f"{world.made}-sim", f"{world.other}-sim"
    for client, case_id in ((world.scoped, made), (world.star, other)):
        case = a_case(case_id, f"NL{uuid.uuid4().int % 10**10:010d}") | {"type": kind}
        created = client.post("/v1/cases", json={"cases": [case]})
        assert created.status_code == 200, created.text
    event = {"id": f"{other}-e1", "kind": "request-documents", "at": "2026-01-02T08:00:00Z"}
    assert world.star.post(f"/v1/cases/{other}/events", json={"events": [event]}).is_success
    closed = world.star.post(f"/v1/cases/{other}/close", json={"outcome": "paid"})
    assert closed.status_code == 200, closed.text
    everything = world.star.get(f"/v1/cases/{made}/similar-actions").json()["similar_actions"]
    assert [(a["action"], a["cases"]) for a in everything] == [("request-documents", [other])]
    scoped = world.scoped.get(f"/v1/cases/{made}/similar-actions")
    assert scoped.status_code == 200, scoped.text
    assert scoped.json()["similar_actions"] == []
    assert_still_answering(world.url)


def test_recommendation_evidence_never_names_a_case_out_of_the_keys_scope(world: World) -> None:
    account = f"NL{uuid.uuid4().int % 10**10:010d}"
    mine, ring = f"{world.made}-ring", [f"{world.other}-ring{n}" for n in (1, 2)]
    for client, case_id in ((world.scoped, mine), (world.star, ring[0]), (world.star, ring[1])):
        created = client.post("/v1/cases", json={"cases": [a_case(case_id, account)]})
        assert created.status_code == 200, created.text
    closed = world.star.post(f"/v1/cases/{ring[0]}/close", json={"outcome": "fraud-confirmed"})
    assert closed.status_code == 200, closed.text

    def refer(client: httpx.Client) -> dict[str, Any]:
        got = client.get(f"/v1/cases/{mine}/recommendations")
        assert got.status_code == 200, got.text
        found: dict[str, Any] = {r["action"]: r for r in got.json()["recommendations"]}
        return dict(found["refer-to-siu"])

    told = json.dumps(refer(world.star)["evidence"])
    assert all(case_id in told and f"{case_id}-p" in told for case_id in ring)
    # The scoped key: both linked claims counted (a path each, to a case not named), the bank
    # account its own claim holds shown, neither their ids nor their parties' ids anywhere.
    scoped = refer(world.scoped)
    paths = scoped["evidence"]["linked_claims"]
    assert [path["nodes"][-1] for path in paths] == [{"kind": "Case", "id": None}] * 2
    assert all(path["nodes"][2] == {"kind": "BankAccount", "id": account} for path in paths)
    assert not any(case_id in json.dumps(scoped) for case_id in ring)
    assert scoped["reasons"] == [f"shares bank account {account} with 2 other cases"]
    assert_still_answering(world.url)
