"""The cores of a bench run: the clients' and the service's, each process group kept to its own.

Only the standard library, so that the test suite can check it without the bench's extras.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def _group_stats(leader: int) -> Iterator[tuple[Path, list[str]]]:
    """Give each process of ``leader``'s process group: its /proc folder and its stat fields
    after the name (pgrp at 2, utime and stime at 11 and 12)."""
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # not a process, or gone
        if int(fields[2]) == leader:
            yield entry, fields


def group_cpu(leader: int) -> float:
    """Give the CPU seconds used so far by the processes of ``leader``'s process group."""
    total = sum(int(fields[11]) + int(fields[12]) for _, fields in _group_stats(leader))
    return total / os.sysconf("SC_CLK_TCK")


def split_cores() -> tuple[set[int], set[int]] | None:
    """Give the cores for the clients and the cores for the service: half each, the clients'
    first (None: fewer than two cores to split, and everything shares them)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    half = len(cores) // 2
    return set(cores[:half]), set(cores[half:])


def pin_group(leader: int, cores: set[int]) -> int:
    """Keep every thread of ``leader``'s process group on ``cores`` (threads and processes
    started later inherit it); give how many threads were pinned."""
    pinned = 0
    for entry, _ in _group_stats(leader):
        try:
            threads = list((entry / "task").iterdir())
        except OSError:
            continue  # gone
        for thread in threads:
            try:
                os.sched_setaffinity(int(thread.name), cores)
                pinned += 1
            except OSError:
                pass  # gone meanwhile
    return pinned
