"""A transport that keeps what it is given, in memory (for tests and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .base import BeforeDot, ErrorKind, Reply, SendError, Stage, Upcoming


@dataclass
class MemoryTransport:
    """For tests: keeps (sender, recipient, bytes); `fail` maps an address to a SendError."""

    sent: list[tuple[str, str, bytes]] = field(default_factory=list)
    fail: dict[str, SendError] = field(default_factory=dict)
    description: str = "memory"
    max_size: int | None = None

    @property
    def is_open(self) -> bool:
        return True

    async def open(self) -> None:
        return None

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False,
                   upcoming: Callable[[], Upcoming | None] | None = None,
                   before_dot: BeforeDot | None = None) -> Reply:
        if recipient in self.fail:
            raise self.fail[recipient]
        if before_dot is not None and not await before_dot():
            raise SendError(ErrorKind.CONNECTION, None, "withheld before it was handed over; not delivered", Stage.DATA)
        self.sent.append((sender, recipient, data))
        return Reply(250, "ok")

    def abort(self) -> None:
        return None

    async def close(self) -> None:
        return None
