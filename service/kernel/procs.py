"""Whether a process runs, for the files other processes leave by pid (metrics, probe reports)."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Tell whether the process ``pid`` runs: one that died and is not reaped yet (a zombie)
    does not; one of another user does."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return process_state(pid) not in ("Z", "X")


def process_state(pid: int) -> str:
    """Give the one-letter state of ``pid`` from /proc ('' if unknown)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[0] if fields else ""
