"""``casewise cluster status URL...``: whether every node of a Casewise install serves the same.

Casewise nodes share one Neo4j and each watches its own rule folder (docs/deployment.md), so a
rule change reaches each node when its folder changes. This command asks every node its
``/readyz`` and ``/v1/rulesets/status`` and compares, per ruleset and playbook, the version each
node serves (the sha256 of the file's bytes, the same on every node for the same file).

Exit status: 0 every node is ready and serves the same versions, 1 some node is not ready or
serves another version (or lacks a file), 2 some node could not be asked.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.console import Console

cluster_app = typer.Typer(help="Compare the nodes of a Casewise install.", no_args_is_help=True)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

MISSING = "-"


class Unreachable(Exception):
    """A node did not answer, or answered something other than Casewise's JSON."""


@dataclass
class Node:
    """What one node said: ready or not, and the version it serves of each file."""

    url: str
    ready: bool = False
    readiness: str = ""
    versions: dict[str, str] = field(default_factory=dict)  # "ruleset NAME" -> version
    refused: dict[str, str] = field(default_factory=dict)  # "ruleset NAME" -> attempted


def _get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, Any]:
    """Give the status and the JSON body of GET ``url`` (an error status is an answer too)."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, data = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    except (OSError, ValueError) as exc:
        raise Unreachable(f"cannot reach {url}: {exc}") from None
    try:
        return status, json.loads(data)
    except ValueError:
        raise Unreachable(f"{url} answered {status} with no JSON; is it Casewise?") from None


def ask(base: str, key: str | None, timeout: float) -> Node:
    """Ask one node its readiness and the versions it serves; Unreachable if it cannot be."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    node = Node(base)
    status, body = _get(f"{base}/readyz", {}, timeout)
    node.ready = status == 200
    if not node.ready:
        node.readiness = str((body.get("error") or {}).get("message", status))
    status, body = _get(f"{base}/v1/rulesets/status", headers, timeout)
    if status != 200:
        message = (body.get("error") or {}).get("message", "")
        hint = ""
        if status in (401, 403):
            hint = "; give an API key of role system, author or admin (--key or CASEWISE_API_KEY)"
        raise Unreachable(f"{base}/v1/rulesets/status answered {status}: {message}{hint}")
    for kind in ("rulesets", "playbooks"):
        for entry in body.get(kind, []):
            name = f"{kind[:-1]} {entry.get('name') or entry.get('path')}"
            node.versions[name] = entry.get("version") or MISSING
            if entry.get("state") == "refused":
                node.refused[name] = (entry.get("attempted_version") or "?")[:12]
    return node


def differences(nodes: list[Node]) -> dict[str, dict[str, str]]:
    """Give, per file not served alike by every node, each node's version (``-`` if none)."""
    names = sorted({name for node in nodes for name in node.versions})
    found: dict[str, dict[str, str]] = {}
    for name in names:
        seen = {node.url: node.versions.get(name, MISSING) for node in nodes}
        if len(set(seen.values())) > 1:
            found[name] = seen
    return found


@cluster_app.command()
def status(
    urls: Annotated[
        list[str], typer.Argument(help="Each node's base URL, e.g. http://10.0.0.5:8000.")
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key", help="An API key of role system, author or admin (default CASEWISE_API_KEY)."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait per node.")] = 10.0,
) -> None:
    """Ask every node whether it is ready and which versions it serves; say if they differ.

    Exit status: 0 all ready and alike, 1 some node not ready or serving another version,
    2 some node could not be asked.
    """
    token = key or os.environ.get("CASEWISE_API_KEY")
    nodes: list[Node] = []
    failed = False
    for url in urls:
        try:
            nodes.append(ask(url.rstrip("/"), token, timeout))
        except Unreachable as exc:
            err.print(f"error: {exc}", markup=False)
            failed = True
    for node in nodes:
        state = "ready" if node.ready else f"NOT READY: {node.readiness}"
        out.print(f"{node.url}  {state}  {len(node.versions)} file(s)", markup=False)
        for name, attempted in sorted(node.refused.items()):
            out.print(f"  {name}: refused version {attempted}, the last good one serves")
    diff = differences(nodes)
    for name, seen in diff.items():
        out.print(f"DIFFERS {name}:", markup=False)
        for url, version in seen.items():
            out.print(f"  {url}  {version[:12]}", markup=False)
    if failed:
        raise typer.Exit(2)
    unready = sum(1 for node in nodes if not node.ready)
    if diff or unready:
        problems = [f"{len(diff)} file(s) differ"] if diff else []
        problems += [f"{unready} node(s) not ready"] if unready else []
        out.print(f"{'; '.join(problems)} (of {len(nodes)} node(s))", markup=False)
        raise typer.Exit(1)
    files = len(nodes[0].versions) if nodes else 0
    out.print(f"all {len(nodes)} node(s) ready, serving the same {files} file(s)")
