"""The embedded default transport: a local Maildir any mail client can open."""

from __future__ import annotations

import mailbox
from collections.abc import Callable
from pathlib import Path

from .base import BeforeDot, ErrorKind, Reply, SendError, Stage, Upcoming


class MaildirTransport:
    """The embedded default: every message lands in a local Maildir any mail client can open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"Maildir outbox {path}"
        self._box: mailbox.Maildir | None = None
        self.max_size: int | None = None

    @property
    def is_open(self) -> bool:
        return self._box is not None

    async def open(self) -> None:
        if self._box is not None:
            return
        try:
            self._box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            raise SendError(ErrorKind.FATAL, None, f"cannot open the outbox {self.path}: {exc.strerror}") from None

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False,
                   upcoming: Callable[[], Upcoming | None] | None = None,
                   before_dot: BeforeDot | None = None) -> Reply:
        if self._box is None:
            await self.open()
        assert self._box is not None
        msg = mailbox.MaildirMessage(b"Return-Path: <" + sender.encode() + b">\r\n" + data)
        if before_dot is not None and not await before_dot():
            raise SendError(ErrorKind.CONNECTION, None, "withheld before it was stored; not delivered", Stage.DATA)
        try:
            key = self._box.add(msg)
        except OSError as exc:
            raise SendError(ErrorKind.FATAL, None, f"cannot write to the outbox {self.path}: {exc.strerror}") from None
        return Reply(250, f"stored as {key}")

    def abort(self) -> None:
        """Nothing is ever in flight: a message is written in one step."""

    async def close(self) -> None:
        self._box = None
