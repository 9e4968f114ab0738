"""Diffs for people: a unified diff as classed lines, or two columns side by side.

Both are built from ``difflib``; the templates colour deleted lines red and added ones green
(service/web/static/authoring.css) and never see raw markup.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

CONTEXT = 3


@dataclass(frozen=True)
class Line:
    """One line of a unified diff: its text and its kind (add, del, hunk, meta, same)."""

    text: str
    kind: str


@dataclass(frozen=True)
class Row:
    """One row of a side-by-side diff: the old line and the new one (None: no line there)."""

    old_no: int | None
    old: str | None
    new_no: int | None
    new: str | None
    kind: str  # same, change, del, add, gap


def classify(diff_text: str) -> list[Line]:
    """Give the lines of a unified diff's text, each with its kind."""
    lines = []
    for text in diff_text.splitlines():
        if text.startswith(("+++", "---")):
            kind = "meta"
        elif text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append(Line(text, kind))
    return lines


def unified(old: str, new: str, old_name: str, new_name: str) -> list[Line]:
    """Give the unified diff from ``old`` to ``new`` as classed lines (none if equal)."""
    text = "\n".join(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), old_name, new_name, n=CONTEXT, lineterm=""
        )
    )
    return classify(text)


def side_by_side(old: str, new: str) -> list[Row]:
    """Give the rows of a two-column diff, unchanged stretches cut to ``CONTEXT`` lines."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(CONTEXT):
        if rows:
            rows.append(Row(None, None, None, None, "gap"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    Row(i + 1, a[i], j + 1, b[j], "same")
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            olds, news = list(range(i1, i2)), list(range(j1, j2))
            for k in range(max(len(olds), len(news))):
                i = olds[k] if k < len(olds) else None
                j = news[k] if k < len(news) else None
                kind = (
                    "change" if i is not None and j is not None else ("del" if j is None else "add")
                )
                rows.append(
                    Row(
                        None if i is None else i + 1,
                        None if i is None else a[i],
                        None if j is None else j + 1,
                        None if j is None else b[j],
                        kind,
                    )
                )
    return rows


def apply(original: str, diff_text: str) -> str | None:
    """Give ``original`` with the one-file unified diff applied; None if it does not apply."""
    try:
        patch = PatchSet.from_string(diff_text)
    except UnidiffParseError:
        return None
    if len(patch) != 1:
        return None
    source = original.splitlines(keepends=True)
    out: list[str] = []
    at = 0  # lines of ``source`` used so far
    for hunk in patch[0]:
        start = hunk.source_start - 1 if hunk.source_length else hunk.source_start
        if start < at:
            return None
        out += source[at:start]
        at = start
        for line in hunk:
            if line.is_added:
                out.append(line.value)
                continue
            if at >= len(source) or source[at].rstrip("\r\n") != line.value.rstrip("\r\n"):
                return None  # the file changed since the diff was made
            if line.is_context:
                out.append(source[at])
            at += 1
    return "".join(out + source[at:])
