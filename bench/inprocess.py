"""In-process measurements: decisions per second, and resident memory over many decisions."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Rate:
    decisions: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0


def throughput(
    decide: Callable[[dict[str, Any]], Any],
    inputs: list[dict[str, Any]],
    decisions: int,
    *,
    max_seconds: float,
    warmup: int = 1000,
) -> Rate:
    """Decide ``decisions`` inputs (cycling through ``inputs``), stopping after ``max_seconds``."""
    for data in inputs[: min(warmup, len(inputs))]:
        decide(data)
    done = 0
    started = time.perf_counter()
    deadline = started + max_seconds
    while done < decisions:
        chunk = inputs[: decisions - done]
        for data in chunk:
            decide(data)
        done += len(chunk)
        if time.perf_counter() > deadline:
            break
    return Rate(done, time.perf_counter() - started)


@dataclass
class Memory:
    calls: int
    before: int  # bytes
    after: int
    seconds: float

    @property
    def growth(self) -> float:
        return (self.after - self.before) / self.before * 100


def rss_growth(
    decide: Callable[[dict[str, Any]], Any],
    inputs: list[dict[str, Any]],
    calls: int,
    *,
    warmup: int = 10_000,
    progress: Callable[[str], None] | None = None,
) -> Memory:
    """Resident set size before and after ``calls`` decisions (after ``warmup`` of them)."""
    import psutil  # type: ignore[import-untyped]

    process = psutil.Process()
    n = len(inputs)
    for i in range(warmup):
        decide(inputs[i % n])
    gc.collect()
    before = process.memory_info().rss
    started = time.perf_counter()
    done = 0
    report_every = max(calls // 10, 1)
    while done < calls:
        chunk = inputs[: min(n, calls - done)]
        for data in chunk:
            decide(data)
        done += len(chunk)
        if progress is not None and done % report_every < len(chunk):
            rss = process.memory_info().rss
            progress(f"  {done:>9,} calls, RSS {rss / 2**20:.1f} MiB")
    seconds = time.perf_counter() - started
    gc.collect()
    return Memory(calls, before, process.memory_info().rss, seconds)
