"""A file on this machine whose change tells its workers at once that a key was revoked.

Every worker keeps the keys it verified (``KeyCache``) and reads the store's generation at most
once a second, so a key revoked on another machine stops there within that second. On this
machine it should stop at the very next request, in every worker: whoever revokes, rotates or
disables (an admin's page in any worker, or ``casewise keys revoke``) also rewrites the file
``auth-changed`` in the spool folder, and each worker looks at the file's change time before
trusting a cached key (one ``stat``, about a microsecond). When it moved, the worker reads the
generation at once instead of waiting for its second to pass.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger("casewise.auth")

FILE_NAME = "auth-changed"


def nudge_path(spool_dir: Path) -> Path:
    """Give the file the workers using ``spool_dir`` watch."""
    return spool_dir / FILE_NAME


def nudge(spool_dir: Path) -> None:
    """Tell this machine's workers that a right was taken away (rewrite the file)."""
    path = nudge_path(spool_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
        temporary.write_text(f"{time.time_ns()}\n", encoding="ascii")
        os.replace(temporary, path)
    except OSError as exc:  # the store's generation still reaches every worker within a second
        log.warning("cannot write %s (%s); workers notice the change within a second", path, exc)


class Watch:
    """Whether the nudge file changed since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen = self._stamp()

    def _stamp(self) -> int:
        try:
            status = os.stat(self.path)
        except OSError:
            return 0
        return status.st_mtime_ns ^ status.st_ino

    def moved(self) -> bool:
        """True once after each change of the file."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        return True
