"""A worker takes in a burst of new connections in a few turns of its event loop, not one a
turn (uvloop's libuv accepts one each time the listening socket is ready), and the connections
it takes in are served like the others."""

from __future__ import annotations

import asyncio
import socket

from service.http.accepting import TakingLoop

BURST = 150


class Echo(asyncio.Protocol):
    """Answers what it reads; counts the connections made."""

    made: list[Echo] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        Echo.made.append(self)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


async def burst_taken_in() -> tuple[int, list[bytes]]:
    """Connect BURST clients while the loop is held, then count the loop's turns until every
    connection is made; give the turns and what each client read back."""
    loop = asyncio.get_running_loop()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    server = await loop.create_server(Echo, sock=listener, backlog=2048)  # as uvicorn
    clients = []
    for _ in range(BURST):  # the kernel completes them all while the loop is held here
        client = socket.create_connection(listener.getsockname())
        clients.append(client)
    turns = 0
    while len(Echo.made) < BURST and turns < 10 * BURST:
        await asyncio.sleep(0)  # one turn of the loop each
        turns += 1
    try:
        for number, client in enumerate(clients):
            client.sendall(b"%d" % number)
        answers = []
        for client in clients:
            client.settimeout(10)
            answers.append(await loop.run_in_executor(None, client.recv, 16))
        return turns, answers
    finally:
        for client in clients:
            client.close()
        server.close()


def test_a_burst_of_new_connections_is_taken_in_within_a_few_turns_and_served() -> None:
    Echo.made = []
    with asyncio.Runner(loop_factory=TakingLoop) as runner:
        turns, answers = runner.run(burst_taken_in())
    assert len(Echo.made) == BURST
    assert turns <= 10, f"{BURST} connections took {turns} turns of the loop to be taken in"
    assert answers == [b"%d" % number for number in range(BURST)]
