"""Rule files the tests write: a ruleset whose versions tell themselves apart, a broken one,
and YAML text written to a folder as the file its ``ruleset:`` names."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path

from service.engine import Ruleset

TODAY = dt.date(2026, 3, 2)

Make = Callable[..., Ruleset]


def rule_text(number: int, *, name: str = "price") -> str:
    """A ruleset whose output ``version_no`` is ``number``: a response shows what decided it."""
    return f"""ruleset: {name}
description: Version {number} of a ruleset for reload tests.
input:
  amount: {{type: number, required: true}}
output:
  version_no: {{type: integer, default: {number}}}
  big: {{type: boolean, default: false}}
rules:
  - id: big-amount
    when: amount > {number * 10}
    then: {{set: {{big: true}}}}
"""


BROKEN = "ruleset: price\ninput:\n  amount: {type: numbr}\noutput: {}\nrules: []\n"


def write_rules(folder: Path, text: str, name: str | None = None) -> Path:
    """Write ``text`` (dedented) to ``folder``, named after its ``ruleset:`` (or ``name``)."""
    text = textwrap.dedent(text).lstrip("\n")
    if name is None:
        first = text.splitlines()[0]
        named = first.startswith(("ruleset:", "playbook:"))
        name = first.split(":", 1)[1].strip() if named else "x"
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path
