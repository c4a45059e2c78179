"""Transports, swappable like Django's mail backends: `open`, `send`, `abort`, `close`.

This module is the interface (`Transport`), the server's `Reply` and the one error a `send`
raises, `SendError`, whose `kind` says what happened and whose `stage` says how far the
transaction got. What that means for the recipient is decided in one place,
`delivery.policy.settle`. The implementations live beside it, one module each: `smtp`,
`maildir`, `memory`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Protocol


class ErrorKind(StrEnum):
    """recipient (a reply about this address or message, by code) | connection (nothing
    delivered: reconnect) | ambiguous (lost after the end of the message was sent) | fatal
    (configuration: stop the run) | internal (an unforeseen exception inside this recipient's
    transaction: settled for this recipient alone)."""

    RECIPIENT = "recipient"
    CONNECTION = "connection"
    AMBIGUOUS = "ambiguous"
    FATAL = "fatal"
    INTERNAL = "internal"


class Stage(IntEnum):
    """How far a transaction got (RFC 5321 §3.3). Whether the final dot of DATA left this
    process decides between "not delivered" and "may have been delivered" (§4.1.1.4: the
    server takes responsibility only at the end of the data)."""

    CONNECT = 0  # greeting, EHLO, STARTTLS, AUTH: nothing about a recipient yet
    MAIL = 1  # MAIL FROM sent
    RCPT = 2  # RCPT TO sent: replies from here on concern this recipient or message
    DATA = 3  # DATA accepted, the message is being written: the final dot has not been sent
    DOT = 4  # the final "." has been handed to the network: a loss from here on is ambiguous


@dataclass(frozen=True)
class Reply:
    code: int
    text: str


class SendError(Exception):
    """A transaction that did not end in a 2xx: `kind` (see ErrorKind), the reply `code` and
    `text` (code None when there was no reply), and the `stage` it reached."""

    def __init__(self, kind: ErrorKind | str, code: int | None, text: str, stage: Stage = Stage.CONNECT) -> None:
        super().__init__(f"{code} {text}" if code else text)
        self.kind, self.code, self.text, self.stage = ErrorKind(kind), code, text, stage


@dataclass(frozen=True, slots=True)
class Upcoming:
    """The next message a connection will carry, named while the current one is sent so that
    its envelope can go out right behind it (RFC 2920): envelope sender, recipient, size in
    bytes, and whether the addresses need SMTPUTF8."""

    sender: str
    recipient: str
    size: int
    smtputf8: bool = False


BeforeDot = Callable[[], Awaitable[bool]]  # see Transport.send


class Transport(Protocol):
    """One connection to wherever messages go. `open` is idempotent and raises SendError
    (stage CONNECT); `send` opens if needed; `abort` drops the connection at once, so an
    in-flight `send` raises SendError (graceful stop: nothing is cancelled); `max_size` is the
    relay's SIZE limit in bytes (RFC 1870) once open, None if it sets none. `send` may call
    `upcoming` once the message is accepted, to learn the next message this connection will
    carry (pipelining): the next `send` must then be that message. `before_dot`, if given, is
    awaited after the message's content and before its final dot (the moment a server takes
    responsibility, RFC 5321 §4.1.1.4); if it returns False the dot is not sent, the connection
    is dropped and `send` raises SendError (not delivered)."""

    description: str
    max_size: int | None

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None: ...

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False,
                   upcoming: Callable[[], Upcoming | None] | None = None,
                   before_dot: BeforeDot | None = None) -> Reply: ...

    def abort(self) -> None: ...

    async def close(self) -> None: ...


__all__ = ["BeforeDot", "ErrorKind", "Reply", "SendError", "Stage", "Transport", "Upcoming"]
