"""The listening sockets of ``casewise serve --workers N``: one per worker, so that the kernel
spreads the connections across the workers.

With one socket shared by every worker, whichever worker wakes first accepts every connection
waiting, and a client that opens its pool at once (a load balancer, wrk) can land all of it on
one worker while the others idle: measured with 64 connections on 2 workers, 64/0, 62/2, 55/9.
Here each worker listens on a socket of its own, all bound to the same address with
``SO_REUSEPORT``, and Linux hashes each new connection to one of them. The supervisor holds the
sockets, so a worker that dies and is replaced takes over its own socket and its queue: no
connection waits on a socket nobody accepts from.

``Supervisor`` is uvicorn's ``Multiprocess`` handing each worker its own socket: the worker
filling slot ``i`` (at start, or replacing a dead one) gets socket ``i``; a worker beyond the
sockets (one more asked for with SIGTTIN) or a replacement for a live one (a SIGHUP restart)
gets them all. Where ``SO_REUSEPORT`` is missing, every worker shares one socket, as before.
"""

from __future__ import annotations

import logging
import socket

from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("uvicorn.error")


def spread_sockets(config: Config) -> list[socket.socket]:
    """Bind one listening socket per worker of ``config`` (one only without SO_REUSEPORT)."""
    if config.workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        return [config.bind_socket()]
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    made = []
    try:
        for _ in range(config.workers):
            sock = socket.socket(family, socket.SOCK_STREAM)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((config.host, config.port))
            sock.listen(config.backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in made:
            sock.close()
        raise
    log.info(
        "Uvicorn running on http://%s:%d, one socket per worker (SO_REUSEPORT)",
        config.host,
        config.port,
    )
    return made


class Supervisor(Multiprocess):
    """uvicorn's supervisor, giving each worker slot a listening socket of its own."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        self._slots = sockets
        super().__init__(config, sockets)

    @property
    def sockets(self) -> list[socket.socket]:
        """The sockets of the worker uvicorn is about to start: read once per new worker."""
        count = len(self.processes)
        if count < self.processes_num and count < len(self._slots):
            return [self._slots[count]]  # starting up: the next slot
        for slot, process in enumerate(self.processes):
            if process.exitcode is not None and slot < len(self._slots):
                return [self._slots[slot]]  # replacing the dead worker of that slot
        return self._slots

    @sockets.setter
    def sockets(self, given: list[socket.socket]) -> None:
        self._slots = given

    def handle_ttou(self) -> None:
        """One worker fewer (SIGTTOU): its socket is closed too, so no connection is hashed to
        a socket nobody accepts from."""
        super().handle_ttou()
        if len(self._slots) > 1:
            for sock in self._slots[len(self.processes) :]:
                sock.close()
            self._slots = self._slots[: max(1, len(self.processes))]
