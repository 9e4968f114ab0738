"""Many threads deciding at once get exactly the decisions each input gets alone."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from service.engine import DecisionError, InputError, Registry
from tests.rulefiles import TODAY

RULES = Path(__file__).resolve().parents[3] / "rules"


def _inputs(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    items = []
    for _ in range(n):
        item: dict[str, Any] = {
            "amount": rng.choice([50, 400, 900, 4999, 5001, 9000, 12000, 60000]),
            "department": rng.choice(["IT", "Ops", "Sales", "Finance", "HR"]),
            "vendor": {
                "risk": rng.choice(["low", "medium", "high"]),
                "bank_details_changed": rng.random() < 0.2,
            },
            "po_matched": rng.random() < 0.8,
        }
        if rng.random() < 0.02:
            item["department"] = "Marketing"  # some invalid input, answered with an error
        items.append(item)
    return items


def _decide(registry: Registry, item: dict[str, Any]) -> Any:
    try:
        d = registry.get("invoice-approval").evaluate(item, today=TODAY)
    except (InputError, DecisionError) as exc:
        return ("error", str(exc))
    return (d.outputs, [(f.rule, f.values) for f in d.fired], d.facts, d.version)


def test_thousands_of_concurrent_decisions_match_the_same_decisions_made_alone() -> None:
    registry = Registry()
    assert registry.load_dir(RULES) == []
    items = _inputs(4000)
    alone = [_decide(registry, item) for item in items]
    assert len({repr(a[0]) for a in alone}) > 8  # the sample exercises several routes
    assert sum(a[0] == "error" for a in alone) < 200
    with ThreadPoolExecutor(max_workers=16) as pool:
        together = list(pool.map(lambda item: _decide(registry, item), items))
    mismatches = [i for i, (a, b) in enumerate(zip(alone, together, strict=True)) if a != b]
    assert mismatches == []
