"""Transports, swappable like Django's mail backends: `open`, `send`, `close`.

This module is the interface (`Transport`), the server's `Reply` and the one error a `send`
raises, `SendError`, whose `kind` says what the dispatcher must do. The implementations live
beside it, one module each: `smtp`, `maildir`, `memory`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ErrorKind(StrEnum):
    """recipient (this address, by code) | connection (nothing delivered, reconnect) |
    ambiguous (lost after the message was handed over) | fatal (configuration: stop the run)."""

    RECIPIENT = "recipient"
    CONNECTION = "connection"
    AMBIGUOUS = "ambiguous"
    FATAL = "fatal"


@dataclass(frozen=True)
class Reply:
    code: int
    text: str


class SendError(Exception):
    """kind: recipient (this address, by code) | connection (nothing delivered, reconnect) |
    ambiguous (lost after the message was handed over) | fatal (configuration: stop the run)."""

    def __init__(self, kind: ErrorKind | str, code: int | None, text: str) -> None:
        super().__init__(f"{code} {text}" if code else text)
        self.kind, self.code, self.text = ErrorKind(kind), code, text


@dataclass(frozen=True, slots=True)
class Upcoming:
    """The next message a connection will carry, named while the current one is sent so that
    its envelope can go out right behind it (RFC 2920): envelope sender, recipient, size in
    bytes, and whether the addresses need SMTPUTF8."""

    sender: str
    recipient: str
    size: int
    smtputf8: bool = False


class Transport(Protocol):
    """One connection to wherever messages go. `send` may call `upcoming` once the message is
    accepted, to learn the next message this connection will carry (pipelining): the next
    `send` must then be that message."""

    description: str

    async def open(self) -> None: ...

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False,
                   upcoming: Callable[[], Upcoming | None] | None = None) -> Reply: ...

    async def close(self) -> None: ...


__all__ = ["ErrorKind", "Reply", "SendError", "Transport", "Upcoming"]
