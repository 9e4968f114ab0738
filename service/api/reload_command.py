"""``casewise rules reload``: ask a running Casewise to reload its rule files now."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Annotated, Any

import typer
from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_URL = "http://127.0.0.1:8000"


def reload(
    url: Annotated[
        str | None,
        typer.Option("--url", help=f"The running Casewise (default CASEWISE_URL, {DEFAULT_URL})."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="An API key of role author (default CASEWISE_API_KEY)."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait.")] = 120.0,
) -> None:
    """Reload the changed rule files and playbooks of a running Casewise; print each outcome.

    Exit status: 0 reloaded, 1 some file was refused (its last good version serves), 2 the
    service could not be asked.
    """
    base = (url or os.environ.get("CASEWISE_URL") or DEFAULT_URL).rstrip("/")
    token = key or os.environ.get("CASEWISE_API_KEY")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"{base}/v1/rulesets/reload", method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        err.print(f"error: {base} answered {exc.code}: {_message(exc.read())}")
        if exc.code in (401, 403):
            err.print(
                "give an API key of role author: casewise keys create --role author "
                "--rulesets '*' --name NAME, then --key KEY or CASEWISE_API_KEY"
            )
        raise typer.Exit(2) from None
    except (OSError, ValueError) as exc:
        err.print(f"error: cannot reach Casewise at {base}: {exc}; is it running (--url)?")
        raise typer.Exit(2) from None
    for outcome in body["rulesets"] + body["playbooks"]:
        version = (outcome["version"] or "")[:12] or "-"
        out.print(f"{outcome['outcome']:<9} {outcome['name'] or '?'} {version} {outcome['path']}")
        for problem in outcome["errors"]:
            out.print(f"  {problem['text']}")
    refused = body["refused"]
    summary = f"{refused} file(s) refused" if refused else "every file loaded"
    out.print(f"reloaded in {body['seconds']:.3f} s: {summary}")
    if refused:
        raise typer.Exit(1)


def _message(data: bytes) -> str:
    try:
        return str(json.loads(data)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return data.decode(errors="replace")[:200]
