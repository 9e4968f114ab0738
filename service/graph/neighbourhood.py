"""The neighbourhood of a case in the graph, nearest first, read in one query.

``neighbourhood`` gives the case; its parties, evidence, routing decisions and latest events;
its parties' identifiers and other cases; the parties sharing an identifier with them and their
cases: up to a limit, each node with its kind, its distance from the case and a description.
The case page draws it (``service.web.picture``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, LiteralString

from service.graph.cases import CaseNotFound
from service.graph.db import Graph

LAST_EVENTS = 5
"""Events of the case shown: the latest few; the timeline has them all."""

# Nearest first: the case (0); its parties, evidence, routing decisions and latest events (1);
# its parties' identifiers and the other cases of its parties (2); other parties sharing an
# identifier with its parties (3) and their cases (4). Within a distance, cases come first and
# events last, so that a limit keeps links to other cases before the case's own history. A node
# is kept only after every node nearer than it, so what is kept is connected to the case.
NEIGHBOURHOOD: LiteralString = """
MATCH (c:Case {id: $id})
WITH c, [{node: c, distance: 0}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO|SUPPORTS|CONTRADICTS|OPENED]-(n)
      WHERE n:Party OR n:Evidence OR n:RoutingDecision
      RETURN DISTINCT n
    } | {node: n, distance: 1}]
  + [n IN COLLECT {
      MATCH (c)<-[:IN_CASE]-(n:Event)
      RETURN n ORDER BY n.at DESC, n.id DESC LIMIT $events
    } | {node: n, distance: 1}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(:Party)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->(n)
      RETURN DISTINCT n
    } | {node: n, distance: 2}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(:Party)-[:PARTY_TO]->(n:Case)
      WHERE n <> c
      RETURN DISTINCT n
    } | {node: n, distance: 2}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(p:Party)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->()
            <-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]-(n:Party)
      WHERE n <> p
      RETURN DISTINCT n
    } | {node: n, distance: 3}]
  + [n IN COLLECT {
      MATCH (c)<-[:PARTY_TO]-(p:Party)-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]->()
            <-[:HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT]-(q:Party)-[:PARTY_TO]->(n:Case)
      WHERE q <> p AND n <> c
      RETURN DISTINCT n
    } | {node: n, distance: 4}] AS reached
UNWIND reached AS r
WITH r.node AS n, min(r.distance) AS distance
WITH n, distance,
  CASE WHEN n:Case THEN 'Case' WHEN n:Person THEN 'Person'
       WHEN n:Organisation THEN 'Organisation' WHEN n:Address THEN 'Address'
       WHEN n:Phone THEN 'Phone' WHEN n:Email THEN 'Email'
       WHEN n:BankAccount THEN 'BankAccount' WHEN n:Evidence THEN 'Evidence'
       WHEN n:Event THEN 'Event' ELSE 'RoutingDecision' END AS kind
ORDER BY distance,
  CASE kind WHEN 'Case' THEN 0 WHEN 'Person' THEN 1 WHEN 'Organisation' THEN 1
            WHEN 'Evidence' THEN 3 WHEN 'RoutingDecision' THEN 4 WHEN 'Event' THEN 5
            ELSE 2 END,
  kind, coalesce(n.id, n.value)
WITH collect({node: n, kind: kind, distance: distance,
              props: n {.id, .value, .name, .type, .status, .kind, .flagged, .effect,
                        .verified, .ruleset, at: toString(n.at)}}) AS found
WITH found[..$limit] AS kept, size(found) AS reachable
WITH kept, reachable, [k IN kept | k.node] AS nodes
RETURN reachable,
  [k IN kept | {element: elementId(k.node), kind: k.kind, distance: k.distance,
                props: k.props}] AS nodes,
  COLLECT {
    UNWIND nodes AS a
    MATCH (a)-[r:PARTY_TO|HAS_ADDRESS|HAS_PHONE|HAS_EMAIL|HAS_ACCOUNT|SUPPORTS|CONTRADICTS
               |CONCERNS|IN_CASE|OPENED]->(b)
    WHERE b IN nodes
    RETURN {source: elementId(a), target: elementId(b), type: type(r), role: r.role} AS edge
  } AS edges
"""


@dataclass(frozen=True)
class Node:
    """One node of the neighbourhood."""

    key: str  # unique in the neighbourhood: kind and id (or value), "Case:CLM-000001"
    kind: str  # one of NAMES
    name: str  # what its label shows, shortened when drawn
    title: str  # the full description: its tooltip
    distance: int = 0  # steps from the case
    flagged: bool = False
    shared_by: int = 0  # an identifier: the parties drawn holding it (2 or more: a hub)

    @property
    def hub(self) -> bool:
        """An identifier several parties share: what ties cases together."""
        return self.shared_by >= 2


@dataclass(frozen=True)
class Edge:
    """A relationship between two nodes of the neighbourhood (several roles make one edge)."""

    source: str  # node keys
    target: str
    type: str
    detail: str = ""  # the roles of PARTY_TO


@dataclass(frozen=True)
class Neighbourhood:
    """A case (the first node) and the nodes around it, nearest first, with their edges."""

    case_id: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    reachable: int = 0  # nodes within reach before the limit; more than len(nodes) if cut


NAMES: dict[str, str] = {
    # kind: its name for people (tooltips, the legend), in the legend's order
    "Case": "Case",
    "Person": "Person",
    "Organisation": "Organisation",
    "Address": "Address",
    "Phone": "Phone",
    "Email": "E-mail",
    "BankAccount": "Bank account",
    "Evidence": "Evidence",
    "Event": "Event",
    "RoutingDecision": "Routing decision",
}


def _node(kind: str, distance: int, props: dict[str, Any]) -> Node:
    ident = str(props.get("id") or props.get("value") or "?")
    flagged = bool(props.get("flagged"))
    legend = NAMES[kind]
    if kind == "Case":
        name = ident
        more = ", ".join(str(props[k]) for k in ("type", "status") if props.get(k))
        title = f"Case {ident}" + (f" ({more})" if more else "")
    elif kind in ("Person", "Organisation"):
        name = str(props.get("name") or ident)
        title = f"{legend} {name} ({ident})" + (", flagged" if flagged else "")
    elif kind == "Evidence":
        name = str(props.get("kind") or ident)
        verified = "verified" if props.get("verified") else "unverified"
        title = f"Evidence {ident}: {name}, {props.get('effect') or 'supports'}, {verified}"
    elif kind == "Event":
        name = str(props.get("kind") or ident)
        title = f"Event {ident}: {name}" + (f" at {props['at']}" if props.get("at") else "")
    elif kind == "RoutingDecision":
        name = str(props.get("ruleset") or ident)
        title = f"Routing decision {ident} ({name})"
    else:
        name = ident
        title = f"{legend} {ident}"
    return Node(f"{kind}:{ident}", kind, name, title, distance, flagged)


def neighbourhood(
    graph: Graph, case_id: str, limit: int = 50, *, events: int = LAST_EVENTS
) -> Neighbourhood:
    """Give the case and up to ``limit`` nodes around it (the case included), nearest first."""
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    rows = graph.read(NEIGHBOURHOOD, id=case_id, limit=limit, events=events)
    # The query aggregates, so it gives one row even without the case, with no nodes.
    row = rows[0] if rows else {"nodes": []}
    if not row["nodes"]:
        raise CaseNotFound(f"no case {case_id!r}; GET /v1/cases lists the cases there are")
    keys: dict[str, str] = {}
    nodes: list[Node] = []
    for item in row["nodes"]:
        node = _node(item["kind"], item["distance"], item["props"])
        keys[item["element"]] = node.key
        nodes.append(node)
    roles: dict[tuple[str, str, str], list[str]] = {}
    for edge in row["edges"]:
        found = roles.setdefault((keys[edge["source"]], keys[edge["target"]], edge["type"]), [])
        if edge["role"]:
            found.append(str(edge["role"]))
    edges = [Edge(s, t, kind, ", ".join(sorted(r))) for (s, t, kind), r in sorted(roles.items())]
    holders: dict[str, set[str]] = {}
    for edge in edges:
        if edge.type in HOLDS:
            holders.setdefault(edge.target, set()).add(edge.source)
    nodes = [_as_hub(node, len(holders.get(node.key, ()))) for node in nodes]
    return Neighbourhood(case_id, tuple(nodes), tuple(edges), row["reachable"])


HOLDS = frozenset({"HAS_ADDRESS", "HAS_PHONE", "HAS_EMAIL", "HAS_ACCOUNT"})


def _as_hub(node: Node, holders: int) -> Node:
    """Give an identifier node with the number of parties holding it; a shared one is named
    by its kind too ("Bank account GB29…"), as its label is drawn first."""
    if node.kind not in IDENTIFIER_NAMES or holders < 2:
        return node
    return replace(
        node,
        name=f"{NAMES[node.kind]} {node.name}",
        title=f"{node.title}, shared by {holders} parties",
        shared_by=holders,
    )


IDENTIFIER_NAMES = {"Address": "address", "Phone": "phone", "Email": "e-mail",
                    "BankAccount": "bank account"}  # fmt: skip


def _shared(node: dict[str, Any]) -> tuple[str, str]:
    """Give a link path node's key and its name for people ("bank account GB29…")."""
    kind = str(node.get("kind"))
    if "value" in node:
        return f"{kind}:{node['value']}", f"{IDENTIFIER_NAMES.get(kind, kind)} {node['value']}"
    if kind == "Case":
        return f"Case:{node.get('id')}", f"case {node.get('id')}"
    name = node.get("name") or node.get("id")
    return f"{kind}:{node.get('id')}", f"{NAMES.get(kind, kind).lower()} {name}"


def group_links(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group linked cases (``reads.links``) by what they share with this case: the identifier
    or party on their path nearest this case. Each group: ``key``, ``name``, ``flagged``, and
    its ``cases`` (each with ``hops`` and ``through``: the other cases on the way), nearest
    first; groups with the most cases first."""
    groups: dict[str, dict[str, Any]] = {}
    for link in links:
        via = list(link.get("via") or [])
        first_case = next((i for i, n in enumerate(via) if n.get("kind") == "Case"), len(via))
        own = via[:first_case]  # this case's party, and the identifier it shares, if any
        hub = next((n for n in own if "value" in n), own[0] if own else {"kind": "Case"})
        key, name = _shared(hub)
        group = groups.setdefault(
            key,
            {"key": key, "name": name, "cases": [],
             "flagged": any(bool(n.get("flagged")) for n in own)},
        )  # fmt: skip
        through = [str(n.get("id")) for n in via if n.get("kind") == "Case"]
        group["cases"].append({**link, "through": through})
    for group in groups.values():
        group["cases"].sort(key=lambda c: (c["hops"], c["case"]["id"]))
    return sorted(groups.values(), key=lambda g: (-len(g["cases"]), g["name"]))
