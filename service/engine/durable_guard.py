"""Keeping a compiled definition inside what durable_rules 2.0.28 can build.

durable_rules builds a network of conditions: each condition node holds the conditions
that may follow it in fixed-size tables, and it behaves badly when one fills up
(measured with durable_rules 2.0.28, see tests/security/test_rule_files.py):

- ``MAX_FOLLOWING``: a node keeps the compared conditions (``amount == 7``, ``amount > 3``,
  ``x exists``) after it in a table of 512 slots, searched until an empty slot. With 512 in
  it, every fact that reaches the node is searched for ever; with 513, ``create_ruleset``
  is. Both hold the GIL: no other thread runs again and a thread timeout cannot stop it.
  So ``amount == 0 or ... or amount == 599``, ``amount in [0, ..., 599]``, or 600 rules
  ``amount == i`` hang the process; 511 is the most that is safe.
- ``MAX_ABSENT_FOLLOWING``: 128 "is missing" tests, or rules that go on after a shared
  ``or``, after one node (error 107).
- ``MAX_SAME_END``: 256 rules or table rows that end on the same condition (error 108).
- ``MAX_GROUPS``: 15 and/or groups in one rule, counting the one ``condition`` wraps it in
  (error 113). ``compile.condition`` computes a deeper condition in Python instead.

``check`` models the network (``_Network``) and refuses, at the rule that crosses it, any
node with more than ``MAX_FOLLOWING`` followers. Where the model cannot follow (conditions
after an ``or`` inside an ``and``), a node still cannot have more followers than there are
different conditions in the whole definition: with more than ``MAX_FOLLOWING`` of those,
the definition is first built in a child process with a time limit (``probe``), and only
built in the service once that child came back.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

MAX_FOLLOWING = 511
MAX_ABSENT_FOLLOWING = 128
MAX_SAME_END = 256
MAX_GROUPS = 15
PROBE_SECONDS = 10.0  # the 1,000-rule bench file builds in 0.05 s

_CODES = {
    107: f"the engine (durable_rules) takes at most {MAX_ABSENT_FOLLOWING} 'or' branches "
    "and '== null' tests after one and the same condition, and this ruleset has more: when "
    "many rules share a condition such as (a or b), derive it once in a rule that asserts a "
    "fact, or split the rules into several rule files",
    108: f"more than {MAX_SAME_END} rules or table rows have the same condition; merge them",
    113: f"a rule has more than {MAX_GROUPS} nested and/or groups; split it into several rules",
}

_PROBE = """
import sys
import durable_rules_engine as dre
try:
    dre.create_ruleset("probe", sys.stdin.read())
except Exception as exc:
    print(exc)
    sys.exit(3)
"""


@dataclass(frozen=True)
class Refusal:
    """Why durable_rules cannot take the definition; ``key`` is the rule or row to blame."""

    key: str | None
    message: str


def groups(condition: Any) -> int:
    """The and/or groups in an engine condition."""
    if isinstance(condition, dict):
        own = 1 if ("$and" in condition or "$or" in condition) else 0
        return own + sum(groups(v) for v in condition.values())
    if isinstance(condition, list):
        return sum(groups(v) for v in condition)
    return 0


def _leaves(condition: Any) -> Iterator[Any]:
    if isinstance(condition, dict) and ("$and" in condition or "$or" in condition):
        items = condition["$and"] if "$and" in condition else condition["$or"]
        for item in items:
            yield from _leaves(item)
    else:
        yield condition


def _key(condition: Any) -> bytes:
    return orjson.dumps(condition, option=orjson.OPT_SORT_KEYS)


class _Network:
    """The condition nodes durable_rules builds, as far as they can be told from outside.

    A rule's conditions joined by ``and`` are a chain of nodes from its fact-type test;
    each alternative of an ``or`` follows the node the ``or`` starts from. What follows an
    ``or`` that has more than one end is not modelled (``unsure``).
    """

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, bytes], int] = {}
        self.following: dict[int, int] = {}  # node -> compared conditions after it
        self.unsure = False

    def walk(self, condition: Any, node: int) -> list[int]:
        if isinstance(condition, dict) and "$or" in condition:
            return [end for item in condition["$or"] for end in self.walk(item, node)]
        if isinstance(condition, dict) and "$and" in condition:
            current = [node]
            items = condition["$and"]
            for item in items:
                if len(current) != 1:  # what follows an "or" with several ends: not modelled
                    self.unsure = True
                    return []
                current = self.walk(item, current[0])
            return current
        key = (node, _key(condition))
        child = self.nodes.get(key)
        if child is None:
            child = self.nodes[key] = len(self.nodes) + 1
            if not (isinstance(condition, dict) and "$nex" in condition):
                self.following[node] = self.following.get(node, 0) + 1
        return [child]


def check(definition: dict[str, Any]) -> tuple[Refusal | None, bool]:
    """A refusal certain from counting, or None; and whether only a probe can tell."""
    network = _Network()
    ends: dict[int, int] = {}
    everything: set[bytes] = set()
    for key, rule in definition.items():
        condition = rule["all"][0]["m"]
        if groups(condition) > MAX_GROUPS:
            return Refusal(key, _CODES[113]), False
        before = dict(network.following)
        for end in set(network.walk(condition, 0)):
            ends[end] = ends.get(end, 0) + 1
            if ends[end] > MAX_SAME_END:
                return Refusal(key, _CODES[108]), False
        for node, count in network.following.items():
            if count > MAX_FOLLOWING:
                own = count - before.get(node, 0)
                return Refusal(key, _following_message(own, count)), False
        everything.update(_key(c) for c in _leaves(condition))
    # one fact-type test per fact kind: at most two more conditions than the rules compare
    return None, network.unsure and len(everything) > MAX_FOLLOWING + 2


def _following_message(own: int, total: int) -> str:
    if own > MAX_FOLLOWING:
        what = f"this condition is {own} different comparisons joined by 'or' (or an 'in' list)"
    else:
        what = (
            f"with this condition, {total} different comparisons come at one point of the ruleset"
        )
    return (
        f"{what}; the engine (durable_rules) takes at most {MAX_FOLLOWING} and would hang "
        "on more: compare with ranges (amount >= 0 and amount < 600) instead of listing "
        "values, or split the rules into several rule files"
    )


def probe(definition: dict[str, Any], seconds: float) -> str | None:
    """Build ``definition`` in a child process: None if it builds within ``seconds``, else why."""
    seconds = max(0.5, min(seconds, PROBE_SECONDS))
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and code, no shell
            [sys.executable, "-c", _PROBE],
            input=_key(definition),
            capture_output=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return (
            f"the engine (durable_rules) did not build this ruleset within {seconds:g} s and "
            f"would hang the service: most likely more than {MAX_FOLLOWING} different "
            "comparisons follow one condition; use ranges instead of listing values, or "
            "split the rules into several rule files"
        )
    if done.returncode == 0:
        return None
    return translate(done.stdout.decode(errors="replace").strip() or done.stderr.decode()[-300:])


def translate(error: str) -> str:
    """An engine error (``Could not create ruleset, error code: 113``) in an author's words."""
    code = error.rsplit(":", 1)[-1].strip()
    if code.isdigit() and int(code) in _CODES:
        return _CODES[int(code)]
    return f"the engine (durable_rules) cannot build this ruleset: {error}"
