"""The decision log of a running service: its spool, and its flusher when there is a graph."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from service.decisionlog.flusher import Flusher
from service.decisionlog.keys import KeyIndex
from service.decisionlog.spool import Spool, encode
from service.graph.db import GraphHandle
from service.settings import Settings

log = logging.getLogger("casewise.decisionlog")

SHUTDOWN_FLUSH_SECONDS = 3.0


def spool_folder(settings: Settings) -> Path:
    """Give the folder of the decision records: ``decisions/`` in CASEWISE_SPOOL_DIR."""
    return settings.spool_dir / "decisions"


class DecisionLog:
    """Records decisions durably (the spool) and moves them to Neo4j (the flusher)."""

    def __init__(self, spool: Spool, flusher: Flusher | None, keys: KeyIndex | None = None) -> None:
        self.spool = spool
        self.flusher = flusher
        self.keys = keys  # the decision ids clients chose (Idempotency-Key), shared by workers

    @classmethod
    def start(cls, settings: Settings, handle: GraphHandle) -> DecisionLog | None:
        """Give the running log of ``settings`` (None when CASEWISE_DECISION_LOG=off)."""
        if settings.decision_log == "off":
            log.info("CASEWISE_DECISION_LOG=off: decisions are not recorded")
            return None
        spool = Spool(spool_folder(settings))
        spool.start()
        keys = KeyIndex.beside(settings.spool_dir)
        flusher = None
        if handle.configured:
            flusher = Flusher(spool, handle, keys=keys)
            flusher.start()
        else:
            log.warning(
                "NEO4J_URI is not set: decision records stay in the spool %s until Casewise "
                "starts with a graph",
                spool.directory,
            )
        return cls(spool, flusher, keys)

    @property
    def graph_down(self) -> bool:
        """Tell whether the last write to Neo4j found it unavailable."""
        return self.flusher is not None and self.flusher.graph_down

    def mark_graph_down(self) -> None:
        """Note that Neo4j failed on the request path (the flusher clears it when it is back)."""
        if self.flusher is not None:
            self.flusher.graph_down = True

    async def commit(self, records: list[dict[str, Any]]) -> None:
        """Write the records to the spool and wait until they are fsynced (one group commit)."""
        await self.spool.commit([encode(r) for r in records])

    def stop(self, timeout: float = SHUTDOWN_FLUSH_SECONDS) -> None:
        """Stop taking records, flush to Neo4j for at most ``timeout`` s, let go of the spool."""
        self.spool.stop()
        if self.flusher is not None:
            self.flusher.stop(timeout)
        self.spool.release()
