"""CPU time of processes and threads as Linux accounts it, for the bench's splits of a cost.

A process's total (``process_seconds``) is read from /proc/PID/stat, in clock ticks: it counts
the threads that ended too, and is exact enough for a busy process over seconds. A thread's
(``thread_seconds``) is read from its schedstat, in nanoseconds of run time: tick accounting
charges a whole tick to whichever thread runs when it falls, which a thread that wakes often
for a few microseconds (the spool's writer) is not charged fairly by. Only the standard
library, so that the test suite can check it without the bench's extras.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_seconds(pid: int) -> float:
    """Give the CPU time (user + system) process ``pid`` used so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_seconds(pid: int, tid: int) -> float:
    """Give the time thread ``tid`` of process ``pid`` ran on a CPU so far (schedstat)."""
    return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0]) / 1e9


def main_and_others(pid: int) -> tuple[float, float]:
    """Give the run time of process ``pid``'s main thread (a worker's event loop), and the sum
    over its other threads now alive (a thread that ended is no longer counted)."""
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            seconds = thread_seconds(pid, int(task.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        if int(task.name) == pid:
            main = seconds
        else:
            others += seconds
    return main, others
