"""Reload time of a generated 1,000-rule file: read, check and compile it, then the swap.

A served ruleset is replaced by a changed version of itself (a different seed, so the rules
differ) through ``Registry.reload``, as the watcher and ``POST /v1/rulesets/reload`` do. The
swap, building the new mapping and assigning it, is timed on its own: it is all a request can
ever wait for, and it does not wait for it (the old mapping serves until the assignment).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.engine import Registry

from .generate import SEED, ruleset_yaml
from .report import Row

NAME = "generated-1000"
RULES = 1000


def reload_rows(say: Callable[[str], None], rounds: int = 5) -> list[Row]:
    """Time ``rounds`` reloads of a changed 1,000-rule file, and one of an unchanged one."""
    texts = [ruleset_yaml(SEED + n, RULES, NAME) for n in range(rounds + 1)]
    with tempfile.TemporaryDirectory(prefix="casewise-reload-") as tmp:
        folder = Path(tmp)
        file = folder / f"{NAME}.yaml"
        file.write_text(texts[0])
        registry = Registry()
        started = time.perf_counter()
        registry.reload(folder)
        first = time.perf_counter() - started
        assert registry.names() == [NAME], registry.files.problems
        loads: list[float] = []
        swaps: list[float] = []
        for text in texts[1:]:
            file.write_text(text)
            report = registry.reload(folder)
            assert [o.change for o in report.outcomes] == ["changed"], report.problems
            loads.append(report.seconds)
            swaps.append(report.swap_seconds)
        unchanged = registry.reload(folder).seconds
    size = len(texts[0].encode()) // 1024
    load = statistics.median(loads)
    swap = statistics.median(swaps)
    times = f"{load * 1000:.0f} ms, swap {swap * 1e6:.1f} µs"
    say(f"reload of a {RULES}-rule file ({size} KiB): {times}")
    return [
        Row(f"reload: load+check+compile of a changed {RULES}-rule file ({size} KiB), median of "
            f"{rounds}", f"{load * 1000:.0f} ms", f"first load {first * 1000:.0f} ms"),
        Row("reload: the swap (new mapping, one assignment)", f"{swap * 1e6:.1f} µs"),
        Row(f"reload: an unchanged {RULES}-rule file (hash only)", f"{unchanged * 1000:.2f} ms"),
    ]  # fmt: skip
