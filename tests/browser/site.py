"""What the browser tests share with their fixtures: the demo data and the server they run
against, and the broken rule file the server is given (and where it is broken)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.demo.cases import DemoSet

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"

# A rule file the server refuses: a misspelt field, at line 9, column 11.
BROKEN_NAME = "broken-example"
BROKEN_RULES = """\
ruleset: broken-example
description: Reads a misspelt field, so the server refuses it and /rules says where.
input:
  amount: {type: number, required: true}
output:
  route: {type: string}
rules:
  - id: big
    when: amout > 100
    then: {set: {route: manager}}
"""
BROKEN_POSITION = f"{BROKEN_NAME}.yaml:9:11"

# A second expert user, whom cases are handed over to.
COLLEAGUE = "colleague"


@dataclass(frozen=True)
class Demo:
    """The demo data the server shows, and the ring claim the expert flow opens."""

    data: DemoSet
    prefix: str
    ring_claim: str


@dataclass(frozen=True)
class Site:
    """The running server: its address, its log, the rules folder it serves."""

    url: str
    log: Path
    rules: Path
