"""Playbook rules experts keep overriding, with a proposed change to the playbook file.

For each (playbook, rule) whose recommendations were overridden at least ``min_rate`` of the
time over at least ``min_decisions`` decisions: the alternative experts chose most, their
reasons grouped (normalised text, counted), the cases, and a unified diff of the playbook file.
The diff replaces the rule's recommended action with that alternative when most overrides
agree on it (and the catalogue has it); otherwise it lowers the rule's weight by the override
rate. A proposal is kept only if the patched file loads (``patching.first_that_loads``), so
applying the diff never leaves a broken playbook.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString

from service.graph.db import Graph
from service.recommend.catalogue import load_actions
from service.recommend.patching import Patch, first_that_loads, patch_rule

# Decisions on recommendations made by a playbook rule (not the "(expert)" pseudo-rule).
DECISIONS: LiteralString = """
MATCH (d:ExpertDecision)
WHERE d.playbook IS NOT NULL AND d.rule IS NOT NULL AND d.rule <> '(expert)'
  AND ($playbook IS NULL OR d.playbook = $playbook)
OPTIONAL MATCH (d)-[:IN_CASE]->(c:Case)
RETURN d.playbook AS playbook, d.rule AS rule, d.outcome AS outcome,
       d.recommended_action AS recommended, d.action AS action, d.reason AS reason,
       d.case_type AS case_type, c.id AS case_id
ORDER BY d.at, d.id
"""

_WORD = re.compile(r"[^\w\s-]+")


@dataclass(frozen=True)
class Suggestion:
    """A rule experts override often, and what to change."""

    playbook: str
    rule: str
    recommended_action: str
    decisions: int
    overridden: int
    override_rate: float
    alternative: str | None
    alternatives: dict[str, int]
    reasons: list[dict[str, Any]]
    cases: list[str]
    change: str  # "replace-action" | "lower-weight" | "none"
    path: str | None
    diff: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def catalogue_types(path: Path) -> dict[str, tuple[str, ...]]:
    """Give each action of the catalogue at ``path`` with the case types it applies to."""
    return {action.id: tuple(action.case_types) for action in load_actions(path).values()}


def normalise_reason(text: str | None) -> str:
    """Give a reason lower-case, without punctuation, with single spaces."""
    return " ".join(_WORD.sub(" ", (text or "").lower()).split())


def suggest(
    graph: Graph,
    playbooks_dir: Path,
    actions: Collection[str],
    *,
    min_rate: float = 0.6,
    min_decisions: int = 5,
    case_types: Mapping[str, Collection[str]] | None = None,
    playbook: str | None = None,
) -> list[Suggestion]:
    """Give a Suggestion per (playbook, rule) overridden often enough, most overridden first.

    ``actions`` are the catalogue's ids; ``case_types`` (action -> the case types it applies
    to, ``*`` for all) keeps an alternative that does not apply to the playbook's case type
    from being proposed in place of the rule's action. ``playbook`` keeps only that one's rules.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in graph.read(DECISIONS, playbook=playbook):
        groups[(row["playbook"], row["rule"])].append(row)
    found = []
    for (name, rule), rows in groups.items():
        overrides = [r for r in rows if r["outcome"] == "overridden"]
        rate = len(overrides) / len(rows)
        if len(rows) < min_decisions or rate < min_rate:
            continue
        usable = {
            a for a in actions if case_types is None or {"*", name} & set(case_types.get(a, ("*",)))
        }
        found.append(_suggestion(name, rule, rows, overrides, playbooks_dir, actions, usable))
    found.sort(key=lambda s: (-s.override_rate, -s.decisions, s.playbook, s.rule))
    return found


def _suggestion(
    playbook: str,
    rule: str,
    rows: list[dict[str, Any]],
    overrides: list[dict[str, Any]],
    playbooks_dir: Path,
    actions: Collection[str],
    usable: Collection[str],
) -> Suggestion:
    recommended = Counter(r["recommended"] for r in rows if r["recommended"]).most_common(1)
    action = recommended[0][0] if recommended else ""
    chosen = Counter(r["action"] for r in overrides if r["action"])
    ranked = sorted(chosen.items(), key=lambda item: (-item[1], item[0]))
    alternative = ranked[0][0] if ranked else None
    reasons = Counter(normalise_reason(r["reason"]) for r in overrides if r["reason"])
    rate = len(overrides) / len(rows)
    path = playbooks_dir / f"{playbook}.yaml"
    change, diff, note = "none", None, f"no playbook file {path}"
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        tries: list[Patch] = []
        if alternative and alternative in usable and chosen[alternative] * 2 > len(overrides):
            tries.append(
                Patch(
                    "replace-action",
                    replace_action(text, rule, action, alternative),
                    _describe("replace-action", rule, action, alternative, rate),
                )
            )
        tries.append(
            Patch(
                "lower-weight",
                lower_weight(text, rule, 1 - rate),
                _describe("lower-weight", rule, action, alternative, rate),
            )
        )
        kept = first_that_loads(
            path,
            text,
            tries,
            actions,
            otherwise=f"rule '{rule}' has no recommend block this could change in {path}",
        )
        change, diff, note = kept.kind, kept.diff, kept.note
    return Suggestion(
        playbook=playbook,
        rule=rule,
        recommended_action=action,
        decisions=len(rows),
        overridden=len(overrides),
        override_rate=round(rate, 4),
        alternative=alternative,
        alternatives=dict(ranked),
        reasons=[
            {"reason": reason, "count": count}
            for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        cases=sorted({r["case_id"] for r in rows if r["case_id"]}),
        change=change,
        path=str(path),
        diff=diff,
        note=note,
    )


def _describe(kind: str, rule: str, action: str, alternative: str | None, rate: float) -> str:
    if kind == "replace-action":
        return (
            f"experts overrode rule '{rule}' in {rate:.0%} of decisions, most often choosing "
            f"'{alternative}': recommend that instead of '{action}'"
        )
    return (
        f"experts overrode rule '{rule}' in {rate:.0%} of decisions with no one alternative "
        f"agreed on: lower its weight"
    )


def replace_action(text: str, rule: str, action: str, alternative: str) -> str | None:
    """Give ``text`` with rule ``rule``'s ``action: <action>`` made ``action: <alternative>``."""
    pattern = re.compile(r"(\baction:\s*)(['\"]?)" + re.escape(action) + r"\2(?=\s*[,}#\n]|$)")
    return patch_rule(text, rule, pattern, lambda m: m.group(1) + alternative)


def lower_weight(text: str, rule: str, factor: float) -> str | None:
    """Give ``text`` with rule ``rule``'s ``weight`` multiplied by ``factor`` (at least 0.05)."""
    pattern = re.compile(r"(\bweight:\s*)([0-9]*\.?[0-9]+)")

    def lowered(match: re.Match[str]) -> str:
        weight = max(0.05, round(float(match.group(2)) * factor, 2))
        return f"{match.group(1)}{weight:g}"

    return patch_rule(text, rule, pattern, lowered)
