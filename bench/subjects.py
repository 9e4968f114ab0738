"""What the bench measures: a ruleset, its inputs, and every implementation of its decisions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.engine import DecisionError, InputError, Ruleset, load_ruleset

from .generate import make_inputs
from .model import RuleModel, load_model, load_yaml

Decide = Callable[[dict[str, Any]], dict[str, Any]]

# Implementations compared with Casewise, by the name the report uses.
PLAIN = "plain Python"
ZEN = "zen-engine"
ZEN_DECISION = "zen-engine (create_decision)"
CLIPS = "CLIPS (clipspy)"


class NotEquivalent(Exception):
    """An implementation decided differently from Casewise on some input."""


@dataclass
class Subject:
    """One ruleset: Casewise's compiled ruleset, the bench's reading of it, and the inputs."""

    name: str
    path: Path
    model: RuleModel
    ruleset: Ruleset
    today: dt.date
    inputs: list[dict[str, Any]]
    rejected: int = 0
    expected: list[str] = field(default_factory=list)  # canonical Casewise outputs


def prepare(path: Path, sample: int, today: dt.date) -> Subject:
    """Load ``path`` both ways and draw ``sample`` inputs that Casewise accepts."""
    ruleset = load_ruleset(path)
    model = load_model(path)
    examples = _examples(path)
    candidates = make_inputs(model, sample, today=today, examples=examples)
    subject = Subject(ruleset.name, path, model, ruleset, today, [])
    for data in candidates:
        try:
            outputs = ruleset.evaluate(data, today=today).outputs
        except (InputError, DecisionError):
            subject.rejected += 1
            continue
        subject.inputs.append(data)
        subject.expected.append(canonical(outputs))
    if not subject.inputs:
        raise NotEquivalent(f"{path}: Casewise refused every generated input")
    return subject


def _examples(path: Path) -> list[dict[str, Any]]:
    """The inputs of the rule file's test file, if it has one."""
    test_file = path.with_name(path.name.removesuffix(".yaml") + ".test.yaml")
    if not test_file.exists():
        return []
    doc = load_yaml(test_file) or {}
    return [c["input"] for c in doc.get("cases", []) if isinstance(c.get("input"), dict)]


def implementations(subject: Subject, names: list[str] | None = None) -> dict[str, Decide]:
    """The comparison implementations of ``subject``'s decisions, by report name."""
    from .clips_rules import clips_decider
    from .plain import compile_plain
    from .zen_graph import zen_decider

    makers: dict[str, Callable[[], Decide]] = {
        PLAIN: lambda: compile_plain(subject.model, subject.today),
        ZEN: lambda: zen_decider(subject.model, subject.today),
        ZEN_DECISION: lambda: zen_decider(subject.model, subject.today, api="decision"),
        CLIPS: lambda: clips_decider(subject.model, subject.today),
    }
    return {name: makers[name]() for name in (names or list(makers))}


def canonical(outputs: dict[str, Any]) -> str:
    """Outputs in one comparable form: no null values, 2.0 == 2, floats to 9 places."""
    return json.dumps(_norm({k: v for k, v in outputs.items() if v is not None}), sort_keys=True)


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 9)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    return value


def check_equivalent(subject: Subject, name: str, decide: Decide) -> None:
    """Raise NotEquivalent unless ``decide`` gives Casewise's outputs on every input."""
    bad = []
    for data, expected in zip(subject.inputs, subject.expected, strict=True):
        try:
            got = canonical(decide(data))
        except Exception as exc:  # noqa: BLE001 - reported with the input
            got = f"raised {type(exc).__name__}: {exc}"
        if got != expected:
            bad.append((data, expected, got))
    if bad:
        lines = [
            f"{name} disagrees with Casewise on {len(bad)} of {len(subject.inputs)} inputs "
            f"of ruleset {subject.name}; first ones:"
        ]
        for data, expected, got in bad[:3]:
            lines += [
                f"  input:    {json.dumps(data)}",
                f"  Casewise: {expected}",
                f"  {name}: {got}",
            ]
        raise NotEquivalent("\n".join(lines))
