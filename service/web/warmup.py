"""Warm what the first case page would otherwise load on first use, at start-up: the layout
library and numpy under it (seconds from a cold disk), the page templates, Neo4j's plans of the
page's reads (one case's neighbourhood, links and timeline, read and thrown away); and it starts
learning the next-activity model of each case type (from every case history) in a thread."""

from __future__ import annotations

import logging
import time
from typing import LiteralString

from service.graph import reads
from service.graph.db import GraphError, GraphHandle
from service.graph.neighbourhood import Edge, Neighbourhood, Node, neighbourhood
from service.http.templating import environment
from service.web import casework
from service.web.picture.svg import render_svg

log = logging.getLogger("casewise.web")

TEMPLATES = ("base.html", "worklist.html", "case.html", "error.html")
ANY_CASE: LiteralString = "MATCH (c:Case) RETURN c.id AS id LIMIT 1"
CASE_TYPES: LiteralString = "MATCH (c:Case) WHERE c.type IS NOT NULL RETURN DISTINCT c.type AS type"


def _tiny() -> Neighbourhood:
    nodes = (Node("Case:a", "Case", "a", "Case a"), Node("Person:b", "Person", "b", "b", 1))
    return Neighbourhood("a", nodes, (Edge("Person:b", "Case:a", "PARTY_TO"),), 2)


def warm(handle: GraphHandle, link_depth: int = 2) -> float:
    """Load and run once what the case page uses; give the seconds it took. Never fails: a
    graph that does not answer is simply not warmed."""
    started = time.perf_counter()
    render_svg(_tiny())  # imports and runs the layout (networkx, numpy)
    for name in TEMPLATES:
        environment.get_template(name)
    if handle.configured and handle.ready and handle.graph is not None:
        graph = handle.graph
        try:
            rows = graph.read(ANY_CASE)
            if rows:
                case_id = str(rows[0]["id"])
                neighbourhood(graph, case_id)
                reads.get_case(graph, case_id)
                reads.links(graph, case_id, link_depth)
                reads.timeline(graph, case_id)
            # the next-activity models the page shows: learnt in the background, as they read
            # every case history (seconds on a large graph)
            casework.learn_all(graph, [str(row["type"]) for row in graph.read(CASE_TYPES)])
        except GraphError as exc:
            log.info("the case page's reads were not warmed: %s", exc)
    took = time.perf_counter() - started
    log.info("case page warmed in %.2f s (layout, templates, graph reads)", took)
    return took
