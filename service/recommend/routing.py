"""Routing rules whose escalations experts keep closing as "no action", with a proposed change.

When a case a routing decision opened is closed, its outcome is set on the decision
(``RoutingDecision.case_outcome``, by ``queries.CLOSE_CASE``). A rule that *escalates* — sets
``open_case: true`` — and fired in decisions whose closed cases ended with a no-action outcome
(``CASEWISE_SUGGEST_NO_ACTION_OUTCOMES``) in at least ``min_rate`` of at least ``min_cases``
closed cases is listed, with the rate, the outcomes, the supporting cases and a unified diff of
the rule file. The change tried first narrows the rule: when its condition compares a number
(``amount > 10000``) and every case that needed action had a higher value than some no-action
ones, the bound is raised to the highest such no-action value. Otherwise the rule stops opening
a case (``open_case: false``; it still does the rest). A change is kept only if the patched
file loads, so the diff always applies to a working file.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString

from service.engine import Ruleset, load_ruleset
from service.graph.db import Graph
from service.kernel.errors import CasewiseError
from service.recommend.patching import Patch, first_that_loads, patch_rule

# Closed cases opened by routing decisions; the outcome set on the decision when the case was
# closed, else (cases closed before that was recorded) the case's own.
ESCALATIONS: LiteralString = """
MATCH (d:RoutingDecision)-[:OPENED]->(c:Case)
WHERE d.ruleset IS NOT NULL AND ($ruleset IS NULL OR d.ruleset = $ruleset)
  AND (d.case_outcome IS NOT NULL OR c.status = 'closed')
RETURN d.ruleset AS ruleset, d.id AS decision, d.fired AS fired, c.id AS case_id,
       coalesce(d.case_outcome, c.outcome) AS outcome
ORDER BY d.ruleset, c.id
"""


@dataclass(frozen=True)
class RoutingSuggestion:
    """An escalating rule whose cases experts mostly close with no action, and what to change."""

    ruleset: str
    rule: str
    cases: int
    no_action: int
    no_action_rate: float
    outcomes: dict[str, int]
    no_action_cases: list[str]
    change: str  # "narrow" | "stop-opening" | "none"
    path: str | None
    diff: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def outcome_set(text: str) -> frozenset[str]:
    """Give the comma-separated outcomes of ``text``, normalised (see ``normal``)."""
    return frozenset(normal(part) for part in text.split(",") if part.strip())


def normal(outcome: str | None) -> str:
    """Give an outcome lower-case with dashes: 'No Action' and 'no_action' are 'no-action'."""
    return re.sub(r"[\s_]+", "-", (outcome or "").strip().lower())


def escalating_rules(ruleset: Ruleset) -> set[str]:
    """Give the ids of the rules (and ``table#row`` rows) that set ``open_case: true``."""
    found = {r.id for r in ruleset.rules if r.set.get("open_case") is True}
    for table in ruleset.describe()["tables"]:
        for row in table["rows"]:
            if row["values"].get("open_case") is True:
                found.add(f"{table['id']}#{row['row']}")
    return found


def suggest_routing(
    graph: Graph,
    rules_dir: Path,
    no_action: Collection[str],
    *,
    min_rate: float = 0.6,
    min_cases: int = 5,
    ruleset: str | None = None,
    max_firings: int = 1000,
) -> list[RoutingSuggestion]:
    """Give a RoutingSuggestion per escalating rule judged often unneeded, highest rate first.

    ``no_action`` are the normalised outcomes that mean the case needed nothing done.
    """
    wanted = {normal(o) for o in no_action}
    by_ruleset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in graph.read(ESCALATIONS, ruleset=ruleset):
        by_ruleset[row["ruleset"]].append(row)
    found: list[RoutingSuggestion] = []
    for name, rows in by_ruleset.items():
        path = rules_dir / f"{name}.yaml"
        try:
            served = load_ruleset(path, max_firings=max_firings)
        except (CasewiseError, OSError):
            continue  # no rule file to change (or a broken one: `rules check` reports it)
        escalating = escalating_rules(served)
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            fired = json.loads(row["fired"]) if row["fired"] else []
            for item in fired:
                rule = item.get("rule") if isinstance(item, dict) else str(item)
                if rule in escalating:
                    groups[rule].append({**row, "values": item.get("values", {})})
        for rule, cases in groups.items():
            quiet = [c for c in cases if normal(c["outcome"]) in wanted]
            rate = len(quiet) / len(cases)
            if len(cases) < min_cases or rate < min_rate:
                continue
            found.append(_suggestion(name, rule, cases, quiet, rate, path, served))
    found.sort(key=lambda s: (-s.no_action_rate, -s.cases, s.ruleset, s.rule))
    return found


def _suggestion(
    ruleset: str,
    rule: str,
    cases: list[dict[str, Any]],
    quiet: list[dict[str, Any]],
    rate: float,
    path: Path,
    served: Ruleset,
) -> RoutingSuggestion:
    text = path.read_text(encoding="utf-8")
    tries: list[Patch] = []
    narrowed = _narrow(text, rule, served, cases, quiet)
    if narrowed is not None:
        tries.append(narrowed)
    tries.append(
        Patch(
            "stop-opening",
            patch_rule(text, rule, re.compile(r"(\bopen_case:\s*)true\b"), r"\1false"),
            f"rule '{rule}' opened {len(cases)} case(s) that were closed, {rate:.0%} of them "
            "with no action: let it stop opening a case (it still does the rest)",
        )
    )
    kept = first_that_loads(
        path,
        text,
        tries,
        (),
        otherwise=f"rule '{rule}' has no open_case: true in {path} that this could change",
    )
    outcomes = Counter(str(c["outcome"]) for c in cases)
    return RoutingSuggestion(
        ruleset=ruleset,
        rule=rule,
        cases=len(cases),
        no_action=len(quiet),
        no_action_rate=round(rate, 4),
        outcomes=dict(sorted(outcomes.items(), key=lambda item: (-item[1], item[0]))),
        no_action_cases=sorted(c["case_id"] for c in quiet),
        change=kept.kind,
        path=str(path),
        diff=kept.diff,
        note=kept.note,
    )


def _narrow(
    text: str,
    rule: str,
    served: Ruleset,
    cases: list[dict[str, Any]],
    quiet: list[dict[str, Any]],
) -> Patch | None:
    """Give a change raising a lower bound of the rule's condition past the no-action values
    below every case that needed action, if there is one."""
    found = next((r for r in served.rules if r.id == rule), None)
    if found is None:
        return None
    quiet_ids = {c["decision"] for c in quiet}
    acted = [c for c in cases if c["decision"] not in quiet_ids]
    if not acted:
        return None
    for field in found.paths:
        bound = re.search(
            r"(?<![\w.])" + re.escape(field) + r"\s*(>=|>)\s*(-?\d+(?:\.\d+)?)(?![\w.])", found.when
        )
        if bound is None:
            continue
        acted_values = [_number(c["values"].get(field)) for c in acted]
        if not acted_values or None in acted_values:
            continue
        lowest_acted = min(v for v in acted_values if v is not None)
        below = [
            v
            for v in (_number(c["values"].get(field)) for c in quiet)
            if v is not None and v < lowest_acted
        ]
        if not below:
            continue
        new_bound = max(below)
        if new_bound <= float(bound.group(2)):
            continue
        shown = f"{new_bound:g}" if new_bound != int(new_bound) else str(int(new_bound))
        operator = re.escape(bound.group(0))
        pattern = re.compile(r"(\bwhen:.*?)" + operator)
        replacement = f"{field} > {shown}"

        def replaced(match: re.Match[str], new: str = replacement) -> str:
            return match.group(1) + new

        patched = patch_rule(text, rule, pattern, replaced)
        return Patch(
            "narrow",
            patched,
            f"rule '{rule}' opened {len(cases)} case(s) that were closed, "
            f"{len(quiet) / len(cases):.0%} of them with no action; {len(below)} of those had "
            f"{field} <= {shown}, every case that needed action more: make it {field} > {shown}",
        )
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
