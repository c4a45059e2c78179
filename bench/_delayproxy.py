"""A TCP proxy that adds a fixed delay in each direction: a relay some milliseconds away, on
loopback (this kernel has no netem). Every chunk read from one side is written to the other
`delay` seconds later, in order; nothing is buffered beyond that (bandwidth is loopback's).

    python bench/_delayproxy.py LISTEN_PORT UPSTREAM_PORT DELAY_SECONDS

Prints "ready" once listening. Runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque


class _Direction:
    """One way of one connection: chunks queued with their due time, written in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self.loop, self.delay = loop, delay
        self.queue: deque[tuple[float, bytes | None]] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.peer: asyncio.Transport | None = None

    def push(self, chunk: bytes | None) -> None:
        self.queue.append((self.loop.time() + self.delay, chunk))
        if self.timer is None:
            self.timer = self.loop.call_at(self.queue[0][0], self._due)

    def _due(self) -> None:
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            _, chunk = self.queue.popleft()
            if self.peer is None or self.peer.is_closing():
                self.queue.clear()
                return
            if chunk is None:
                self.peer.close()
                self.queue.clear()
                return
            self.peer.write(chunk)
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self._due)


class _Side(asyncio.Protocol):
    def __init__(self, out: _Direction) -> None:
        self.out = out  # what this side receives goes out the other side, delayed

    def data_received(self, data: bytes) -> None:
        self.out.push(data)

    def eof_received(self) -> bool:
        self.out.push(None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.out.push(None)


async def main(listen: int, upstream: int, delay: float) -> None:
    loop = asyncio.get_running_loop()

    class Client(_Side):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            transport.pause_reading()  # type: ignore[attr-defined]
            loop.create_task(self.connect())

        async def connect(self) -> None:
            to_server = self.out
            to_client = _Direction(loop, delay)
            to_client.peer = self.transport  # type: ignore[assignment]
            try:
                server, _ = await loop.create_connection(lambda: _Side(to_client), "127.0.0.1", upstream)
            except OSError:
                self.transport.close()
                return
            to_server.peer = server
            self.transport.resume_reading()  # type: ignore[attr-defined]

    server = await loop.create_server(lambda: Client(_Direction(loop, delay)), "127.0.0.1", listen, backlog=512)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
