"""A worker's event loop that takes in every connection waiting at its listening socket in one
turn, not one connection a turn.

uvloop runs on libuv, which since 1.45 accepts one connection each time a listening socket is
ready. A worker's turn under overload takes about 10 ms, so a burst of new connections (a load
balancer opening its pool, clients coming back after a restart, a probe's fresh connection) was
taken in at about a hundred a second: at the start of the bench's 2x level, 80–190 connections
waited on each worker's socket and a probe's new connection waited 0.35–1.55 s before its
request was even read. ``TakingLoop`` is uvloop's loop whose servers, for a listening socket
given to them (``casewise serve`` gives each worker its own, ``service.http.listeners``), take
in the others waiting each time uvloop accepts one: up to ``MOST_A_TURN`` more with
``accept()``, each handed to the loop as an accepted socket, with the same protocol. Requests on
them then meet admission as any other, so a burst of connections is answered or shed at once
instead of waiting unread in the kernel. A server on TLS or without a socket given keeps
uvloop's way.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

import uvloop

log = logging.getLogger("casewise.http")

MOST_A_TURN = 128
"""Connections taken in by one turn beyond the one uvloop accepted (the listening backlog is
uvicorn's 2048): enough for a burst, few enough that the turn's other work goes on."""


class TakingLoop(uvloop.Loop):
    """uvloop's event loop; a server on a given plain listening socket takes in every
    connection waiting there each turn."""

    async def create_server(  # type: ignore[override]
        self, protocol_factory: Callable[[], asyncio.BaseProtocol], *args: Any, **kwargs: Any
    ) -> asyncio.AbstractServer:
        sock = kwargs.get("sock")
        if sock is None or kwargs.get("ssl") is not None or args:
            return await super().create_server(protocol_factory, *args, **kwargs)
        taker = Taker(self, sock, protocol_factory)
        server = await super().create_server(taker.accepted, **kwargs)
        taker.server = server
        return server


class Taker:
    """Takes in the connections waiting at one listening socket, once a turn, when uvloop has
    just accepted one there."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.protocol_factory = protocol_factory
        self.server: asyncio.AbstractServer | None = None
        self.due = False  # a take is scheduled for this turn
        self.opening: set[asyncio.Task[Any]] = set()  # connections being handed to the loop

    def accepted(self) -> asyncio.BaseProtocol:
        """The protocol of a connection uvloop accepted; take the others waiting this turn."""
        if not self.due:
            self.due = True
            self.loop.call_soon(self.take)
        return self.protocol_factory()

    def take(self) -> None:
        """Accept up to MOST_A_TURN waiting connections and hand each to the loop."""
        self.due = False
        if self.server is None or not self.server.is_serving():
            return  # closing: uvicorn closes the socket, and what waits there with it
        for _ in range(MOST_A_TURN):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # nothing waits any more
            except OSError as exc:  # out of file descriptors, or the socket closed meanwhile
                log.warning("could not take in a waiting connection: %s", exc)
                return
            conn.setblocking(False)  # uvloop's transport sets TCP_NODELAY, as for its own
            opening = self.loop.create_task(
                self.loop.connect_accepted_socket(self.protocol_factory, conn)
            )
            self.opening.add(opening)
            opening.add_done_callback(self._opened)

    def _opened(self, opening: asyncio.Task[Any]) -> None:
        self.opening.discard(opening)
        if not opening.cancelled() and opening.exception() is not None:
            log.debug("a connection taken in closed at once: %s", opening.exception())
