"""A TCP proxy for tests that can cut every connection it carries, as a network fault would."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttingProxy:
    """Forward connections made to ``port`` (on 127.0.0.1) to ``target``; ``cut`` resets them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    def cut(self) -> int:
        """Reset every connection open now (both ends see a reset); give how many there were."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            try:
                # a reset, not a goodbye; shutdown wakes the pump blocked reading it
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.cuts += 1
        return len(sockets) // 2

    def close(self) -> None:
        """Stop accepting and reset what is open."""
        self._listener.close()
        self.cut()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    for sock in (source, sink):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@contextmanager
def cutting_proxy(target: tuple[str, int]) -> Iterator[CuttingProxy]:
    """Run a ``CuttingProxy`` to ``target`` until the block ends."""
    proxy = CuttingProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
