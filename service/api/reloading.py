"""Rule changes while the service runs: reload on demand or when the files change.

``Reloader.reload`` reloads the rules folder, then the catalogue and playbooks of the knowledge
folder, in the calling thread (never the event loop: ``watch`` and the reload route hand it to
a worker thread), logs what changed or was refused, and hands the versions that started
serving to the ``VersionKeeper``. ``watch`` is the lifespan task that calls it when watchfiles
reports a change under either folder.

Each file's load is bounded (``service/engine/limits.py``): its size, its expressions, and
its time (``CASEWISE_COMPILE_TIMEOUT_S``); what durable_rules would hang on is refused before
it is built (``service/engine/durable_guard.py``). A file that fails in any way is refused on
its own, with its problems in the status, and its last good version keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from service.engine import Registry
from service.engine.livefiles import Outcome
from service.graph.versions import VersionKeeper
from service.kernel import metrics
from service.recommend.playbooks import PlaybookRegistry
from service.settings import Settings

log = logging.getLogger("casewise.reload")


class Reloader:
    """Reloads the rulesets and playbooks of the settings' folders, one reload at a time."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        playbooks: PlaybookRegistry,
        keeper: VersionKeeper | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.playbooks = playbooks
        self.keeper = keeper
        self._lock = threading.Lock()

    def reload(self) -> dict[str, Any]:
        """Reload both folders; give each file's outcome (the answer of the reload route)."""
        with self._lock:
            rules = self.registry.reload(self.settings.rules_dir)
            knowledge = self.playbooks.reload(self.settings.knowledge_dir)
            for outcome in rules.outcomes + knowledge.outcomes:
                _log(outcome)
            self.keep(rules.stopped + knowledge.stopped)
        return {
            "rulesets": [o.to_dict() for o in rules.outcomes],
            "playbooks": [o.to_dict() for o in knowledge.outcomes],
            "refused": len(rules.refused) + len(knowledge.refused),
            "seconds": round(rules.seconds + knowledge.seconds, 4),
        }

    def keep(self, stopped: list[str] | None = None) -> None:
        """Hand the versions that started serving (since the last call) to the keeper."""
        started = self.registry.files.take_started() + self.playbooks.files.take_started()
        if self.keeper is not None and (started or stopped):
            self.keeper.keep(started, stopped or ())


def _log(outcome: Outcome) -> None:
    metrics.RELOADS.labels(outcome.change).inc()
    what = f"{outcome.name or '?'} ({outcome.path})"
    if outcome.change in ("new", "changed"):
        log.info("serving %s version %s", what, (outcome.version or "")[:12])
    elif outcome.change == "retired":
        log.warning("retired %s: the file is gone", what)
    elif outcome.change == "refused":
        for problem in outcome.errors:
            log.error("%s", problem)
        if outcome.version:
            log.error(
                "refused the change to %s; version %s keeps serving", what, outcome.version[:12]
            )
        else:
            log.error("refused %s: not served", what)


async def watch(reloader: Reloader, folders: list[Path], debounce_ms: int) -> None:
    """Reload (in a worker thread) whenever files under ``folders`` change; runs until cancelled."""
    from watchfiles import awatch  # imported here: only a serving process watches

    existing = [str(f) for f in folders if f.exists()]
    if not existing:
        log.warning("nothing to watch: %s do not exist", ", ".join(map(str, folders)))
        return
    log.info("watching %s for rule changes", ", ".join(existing))
    async for changes in awatch(*existing, debounce=debounce_ms, step=50, recursive=True):
        paths = sorted({Path(p).name for _, p in changes})
        log.info("files changed (%s); reloading", ", ".join(paths[:5]))
        try:
            await run_in_threadpool(reloader.reload)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed reload must not stop the watching
            log.exception("reload after a file change failed; the last good versions serve")
