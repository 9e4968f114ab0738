"""The action catalogue (``knowledge/actions.yaml``) read once: its actions and its mistakes.

Playbooks check their ``recommend`` actions against it (``catalogue_ids``); the recommender
serves its actions (``service.recommend.catalogue.load_actions`` refuses a catalogue with any
mistake).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Problem
from .source import Pos, Source, check_keys, node_pos, parse_yaml, read_source, value_pos

CATALOGUE = "actions.yaml"
ACTION_KEYS = (
    "id",
    "label",
    "description",
    "case_types",
    "closes_case",
    "repeatable",
    "sla_hours",
    "effect",
)
# What taking an action may change on its case: priority ("raise": one step more urgent, or
# 1..5), status (open or pending; closing needs an outcome) and team (a queue of ``teams``).
EFFECT_KEYS = ("priority", "status", "team")
EFFECT_STATUSES = ("open", "pending")
TEAM_KEYS = ("id", "label")
ACTION_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
CASE_TYPE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*|\*")
ALL_TYPES = "*"


@dataclass(frozen=True)
class Action:
    """One action of the catalogue."""

    id: str
    label: str
    description: str
    case_types: tuple[str, ...]
    closes_case: bool
    repeatable: bool
    sla_hours: float | None
    effect: tuple[tuple[str, str | int], ...] = ()  # (key, value) of EFFECT_KEYS, in order

    @property
    def effects(self) -> dict[str, str | int]:
        """What taking the action changes on its case, by EFFECT_KEYS."""
        return dict(self.effect)

    def applies_to(self, case_type: str) -> bool:
        """Whether the action may be recommended or taken in a case of ``case_type``."""
        return ALL_TYPES in self.case_types or case_type in self.case_types

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "case_types": list(self.case_types),
            "closes_case": self.closes_case,
            "repeatable": self.repeatable,
            "sla_hours": self.sla_hours,
            "effect": self.effects,
        }


@dataclass(frozen=True)
class Catalogue:
    """The catalogue as read: the actions without a mistake, and every mistake found."""

    actions: dict[str, Action]
    named: frozenset[str] | None  # every id an entry names; None without a list of actions
    problems: list[Problem]
    teams: dict[str, str] | None = None  # team queue id -> label


def read_catalogue(path: Path) -> Catalogue:
    """The catalogue at ``path`` with every mistake and its place; OSError if it cannot be read."""
    src, _ = read_source(path)
    doc = parse_yaml(src)
    if src.problems:
        return Catalogue({}, None, src.problems)
    start = Pos(1, 1)
    if not isinstance(doc, dict) or not isinstance(doc.get("actions"), list):
        src.error(start, "the catalogue must be a mapping with 'actions': a list of actions")
        return Catalogue({}, None, src.problems)
    check_keys(src, doc, ("actions", "teams"), "the catalogue", start)
    teams = _teams(
        src, doc.get("teams", []), value_pos(doc, "teams", start) if "teams" in doc else start
    )
    actions: dict[str, Action] = {}
    seen: dict[str, Pos] = {}
    items = doc["actions"]
    for n, item in enumerate(items):
        pos = value_pos(items, n, start)
        action = _action(src, item, pos, teams)
        if action is None:
            continue
        if action.id in seen:
            first = seen[action.id]
            src.error(
                value_pos(item, "id", pos),
                f"action '{action.id}' is listed twice (first at line {first.line}); "
                "give it one entry",
            )
            continue
        seen[action.id] = value_pos(item, "id", pos)
        actions[action.id] = action
    named = frozenset(str(a["id"]) for a in items if isinstance(a, dict) and "id" in a)
    return Catalogue(actions, named, src.problems, teams)


def _teams(src: Source, items: Any, pos: Pos) -> dict[str, str]:
    """The team queues a case may be given to: ``[{id, label}]``."""
    if not isinstance(items, list):
        src.error(pos, "'teams' must be a list of {id, label}")
        return {}
    teams: dict[str, str] = {}
    for n, item in enumerate(items):
        where = value_pos(items, n, pos)
        if not isinstance(item, dict):
            src.error(where, "a team must be a mapping with keys: id, label")
            continue
        check_keys(src, item, TEAM_KEYS, "a team", where)
        team_id, label = item.get("id"), item.get("label")
        if not isinstance(team_id, str) or not ACTION_ID.fullmatch(team_id):
            src.error(
                value_pos(item, "id", where) if "id" in item else where,
                f"team 'id' must be lower-case words joined by '-' (fraud-team), got {team_id!r}",
            )
            continue
        if not isinstance(label, str) or not label.strip():
            src.error(where, f"team '{team_id}' needs a 'label' (the name shown to experts)")
            continue
        if team_id in teams:
            src.error(value_pos(item, "id", where), f"team '{team_id}' is listed twice")
            continue
        teams[team_id] = label.strip()
    return teams


def _effect(
    src: Source, item: dict[str, Any], pos: Pos, action_id: str, teams: dict[str, str]
) -> tuple[tuple[str, str | int], ...]:
    """The ``effect`` of an action, checked: every key known, every value one it may take."""
    effect = item.get("effect")
    if effect is None:
        return ()
    where = value_pos(item, "effect", pos)
    if not isinstance(effect, dict) or not effect:
        src.error(
            where, f"'effect' of action '{action_id}' must map some of: {', '.join(EFFECT_KEYS)}"
        )
        return ()
    check_keys(src, effect, EFFECT_KEYS, f"the effect of action '{action_id}'", where)
    out: list[tuple[str, str | int]] = []
    for key in EFFECT_KEYS:
        if key not in effect:
            continue
        value, at = effect[key], value_pos(effect, key, where)
        if key == "priority":
            fits = value == "raise" or (
                isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5
            )
            wanted = '"raise" or a priority from 1 (most urgent) to 5'
        elif key == "status":
            fits, wanted = value in EFFECT_STATUSES, " or ".join(EFFECT_STATUSES)
        else:
            fits = isinstance(value, str) and value in teams
            wanted = "a team of 'teams': " + (", ".join(sorted(teams)) or "none is declared")
        if not fits:
            src.error(at, f"effect {key} of action '{action_id}' must be {wanted}, got {value!r}")
            continue
        out.append((key, value))
    return tuple(out)


def catalogue_ids(playbook: Path) -> set[str] | None:
    """Action ids of the catalogue beside the playbooks folder (knowledge/actions.yaml).

    Every id an entry names counts, even of an entry with a mistake: the catalogue's own
    loader reports those. None if there is no catalogue or no list of actions in it.
    """
    path = playbook.resolve().parent.parent / CATALOGUE
    if not path.is_file():
        return None
    named = read_catalogue(path).named
    return set(named) if named is not None else None


def _action(src: Source, item: Any, pos: Pos, teams: dict[str, str]) -> Action | None:
    if not isinstance(item, dict):
        src.error(pos, "an action must be a mapping with keys: " + ", ".join(ACTION_KEYS))
        return None
    pos = node_pos(item, pos)
    before = len(src.problems)
    check_keys(src, item, ACTION_KEYS, "an action", pos)
    action_id = item.get("id")
    if not isinstance(action_id, str) or not ACTION_ID.fullmatch(action_id):
        where = value_pos(item, "id", pos) if "id" in item else pos
        src.error(
            where,
            f"action 'id' must be lower-case words joined by '-' (verify-evidence), "
            f"got {action_id!r}",
        )
        action_id = "?"
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        src.error(
            value_pos(item, "label", pos) if "label" in item else pos,
            f"action '{action_id}' needs a 'label' (a short name shown to experts)",
        )
    case_types = item.get("case_types", [ALL_TYPES])
    if not isinstance(case_types, list) or not case_types:
        src.error(
            value_pos(item, "case_types", pos),
            f"'case_types' of action '{action_id}' must be a list of case types, or [\"*\"]",
        )
        case_types = []
    for n, case_type in enumerate(case_types):
        if not isinstance(case_type, str) or not CASE_TYPE.fullmatch(case_type):
            src.error(
                value_pos(case_types, n, value_pos(item, "case_types", pos)),
                f"case type {case_type!r} of action '{action_id}' must be lower-case words "
                "joined by '-' (insurance-claim), or \"*\" for every type",
            )
    flags: dict[str, bool] = {}
    for key in ("closes_case", "repeatable"):
        value = item.get(key, False)
        if not isinstance(value, bool):
            src.error(
                value_pos(item, key, pos),
                f"'{key}' of action '{action_id}' must be true or false, got {value!r}",
            )
        flags[key] = value is True
    sla = item.get("sla_hours")
    if sla is not None and (isinstance(sla, bool) or not isinstance(sla, int | float) or sla <= 0):
        src.error(
            value_pos(item, "sla_hours", pos),
            f"'sla_hours' of action '{action_id}' must be a positive number, got {sla!r}",
        )
    effect = _effect(src, item, pos, str(action_id), teams)
    if len(src.problems) > before:
        return None
    return Action(
        id=str(action_id),
        label=str(label).strip(),
        description=str(item.get("description") or "").strip(),
        case_types=tuple(str(t) for t in case_types),
        closes_case=flags["closes_case"],
        repeatable=flags["repeatable"],
        sla_hours=float(sla) if sla is not None else None,
        effect=effect,
    )
