"""Proposed changes to a rule file: one rule's block patched, kept only if the file still loads.

Shared by the playbook suggestions (``mining``) and the routing suggestions (``routing``): each
tries its changes in order with ``first_that_loads`` and shows the one kept as a unified diff.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from service.engine import load_ruleset
from service.kernel.errors import CasewiseError

Replacement = str | Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class Patch:
    """A change to try: its kind, the patched text (None: it does not apply), what it means."""

    kind: str
    text: str | None
    note: str


@dataclass(frozen=True)
class Kept:
    """The change kept (``kind`` "none" when no change loads), its diff and why."""

    kind: str
    diff: str | None
    note: str


def rule_block(lines: list[str], rule: str) -> tuple[int, int] | None:
    """Give the [start, end) line span of the rule ``- id: <rule>`` in a rule file's lines."""
    head = re.compile(r"^(\s*)-\s+id:\s*['\"]?" + re.escape(rule) + r"['\"]?\s*(#.*)?$")
    for i, line in enumerate(lines):
        match = head.match(line)
        if match is None:
            continue
        indent = len(match.group(1))
        end = i + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped and not stripped.startswith("#"):
                width = len(lines[end]) - len(lines[end].lstrip())
                if width < indent or (width == indent and stripped.startswith("-")):
                    break
            end += 1
        return i, end
    return None


def patch_rule(text: str, rule: str, pattern: re.Pattern[str], replace: Replacement) -> str | None:
    """Give ``text`` with the first match of ``pattern`` in rule ``rule``'s block replaced;
    None if the rule or the match is not there."""
    lines = text.splitlines(keepends=True)
    span = rule_block(lines, rule)
    if span is None:
        return None
    start, end = span
    for i in range(start, end):
        changed, n = pattern.subn(replace, lines[i], count=1)
        if n:
            lines[i] = changed
            return "".join(lines)
    return None


def check_loads(path: Path, text: str, actions: Collection[str]) -> str | None:
    """Give None if ``text``, as the file ``path``, loads (a playbook's actions checked against
    ``actions``); else why not."""
    try:
        load_ruleset(path, actions=set(actions), data=text.encode("utf-8"))
    except CasewiseError as exc:
        return str(exc)
    return None


def first_that_loads(
    path: Path, text: str, patches: Iterable[Patch], actions: Collection[str], *, otherwise: str
) -> Kept:
    """Give the first of ``patches`` that changes ``text`` and loads, with its diff; if none
    does, kind "none" and why the last one tried did not load (``otherwise`` if none applied)."""
    note = otherwise
    for patch in patches:
        if patch.text is None or patch.text == text:
            continue
        problem = check_loads(path, patch.text, actions)
        if problem is None:
            return Kept(patch.kind, unified_diff(path, text, patch.text), patch.note)
        note = f"the {patch.kind} change does not load: {problem}"
    return Kept("none", None, note)


def unified_diff(path: Path, before: str, after: str) -> str:
    """Give the change from ``before`` to ``after`` as a unified diff of ``path``.

    The file is named relative to the working folder when it is inside it (so ``git apply``
    takes the diff from the repository root), else as ``<folder>/<file>``.
    """
    try:
        name = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        name = f"{path.parent.name}/{path.name}"
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )
