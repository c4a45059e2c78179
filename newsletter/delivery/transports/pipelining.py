"""An aiosmtplib connection that keeps every reply: the ground for command pipelining (RFC 2920).

aiosmtplib 5.1.3's `SMTPProtocol` parses one reply per `read_response` call and ignores bytes
that arrive while a parsed reply still waits to be picked up, so of several commands written at
once all replies but the first are lost. `PipeliningProtocol` parses every complete reply as it
arrives into a first-in, first-out queue, and `read_response` takes them in order, however the
server's bytes were split or merged across TCP reads. Replies nobody asked for (no command
outstanding) are still discarded, as upstream does, so an unsolicited line is never paired with
a later command, and STARTTLS still drops anything sent before the handshake. Everything else is
the base class's, so aiosmtplib's own commands (EHLO, STARTTLS, AUTH, RSET, QUIT, DATA) work on
it unchanged, one at a time.

`PipeliningSMTP` is `aiosmtplib.SMTP` on that protocol. This module depends on aiosmtplib
alone (pinned by requirements.lock; it reads a few of the base class's attributes), so it could
be offered upstream as it is.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import aiosmtplib
from aiosmtplib.protocol import MAX_RESPONSE_LENGTH, SMTPProtocol

__all__ = ["PipeliningProtocol", "PipeliningSMTP"]


class PipeliningProtocol(SMTPProtocol):
    """`SMTPProtocol` with a queue of replies: write several commands with `pipeline(data,
    replies)`, then await `read_response()` once per reply, in order. A reply that arrives
    before anyone awaits it is kept, never dropped; a lost connection or malformed reply is
    raised to the reader after the replies already queued."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None,
                 connection_lost_callback: Callable[[SMTPProtocol], None] | None = None) -> None:
        super().__init__(loop, connection_lost_callback)
        self._replies: deque[aiosmtplib.SMTPResponse] = deque()
        self._owed = 0  # replies written for and not parsed yet
        self._failure: BaseException | None = None  # raised once the queue is empty
        self._reader: asyncio.Future[None] | None = None

    @property
    def outstanding(self) -> int:
        """Replies written for and not yet read (queued or still on their way)."""
        return self._owed + len(self._replies)

    @property
    def queued(self) -> int:
        """Replies that have arrived and not been read."""
        return len(self._replies)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._replies.clear()
        self._owed, self._failure = 1, None  # the greeting

    def pipeline(self, data: bytes, replies: int) -> None:
        """Write `data` (complete CRLF-ended commands, or message content) as one write and
        expect `replies` replies to it. Raises SMTPServerDisconnected if the connection is gone."""
        if self._failure is not None and not self._replies:
            raise self._failure
        self.write(data)
        self._owed += replies

    def data_received(self, data: bytes) -> None:
        if self._owed <= 0:  # unsolicited: dropped, as the base class does
            return
        self._buffer.extend(data)
        while self._owed > 0:
            try:
                reply = self._read_response_from_buffer()
            except Exception as exc:  # noqa: BLE001 - a malformed reply desynchronises the stream
                self._fail(exc)
                return
            if reply is None:
                break
            self._owed -= 1
            self._replies.append(reply)
        if self._owed <= 0:
            del self._buffer[:]  # whatever follows the last reply owed is unsolicited
        elif len(self._buffer) > MAX_RESPONSE_LENGTH:
            self._fail(aiosmtplib.SMTPResponseException(-1, "Response too long"))
        if self._replies:
            self._wake()

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._quit_sent and self._owed > 0:
            self._replies.append(aiosmtplib.SMTPResponse(221, ""))
            self._owed -= 1
        lost = aiosmtplib.SMTPServerDisconnected("Connection lost")
        if exc is not None:
            lost.__cause__ = exc
        self._fail(lost)
        super().connection_lost(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        self._owed = 0
        del self._buffer[:]
        self._wake()

    def _wake(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    async def read_response(self, timeout: float | None = None) -> aiosmtplib.SMTPResponse:
        """The oldest reply not read yet. Called right after a command written the base class's
        way (execute_command and friends), it counts that command's reply as owed. Raises
        SMTPReadTimeoutError after `timeout` seconds (the stream is then out of step: close
        it), SMTPServerDisconnected or SMTPResponseException once the queue is empty."""
        if not self._replies and self._failure is None and self._owed == 0:
            self._owed = 1
        self._response_pending = False  # the base class's flag; this class counts instead
        if not self._replies and self._failure is None:
            self._reader = self._loop.create_future()
            try:
                await asyncio.wait_for(self._reader, timeout)
            except TimeoutError as exc:
                raise aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response") from exc
            finally:
                self._reader = None
        if self._replies:
            return self._replies.popleft()
        assert self._failure is not None
        raise self._failure


class PipeliningSMTP(aiosmtplib.SMTP):
    """`aiosmtplib.SMTP` whose connection runs on `PipeliningProtocol` from the greeting on
    (aiosmtplib builds its own protocol object; the connection is handed over right after the
    greeting, when nothing is outstanding). Connecting, TLS, EHLO and AUTH are aiosmtplib's."""

    protocol: PipeliningProtocol | None

    async def _create_connection(self, timeout: float | None) -> aiosmtplib.SMTPResponse:
        response = await super()._create_connection(timeout)
        transport = self.transport
        assert transport is not None
        new = PipeliningProtocol(loop=self.loop, connection_lost_callback=self._on_connection_lost)
        new.connection_made(transport)
        new._owed = 0  # the greeting was read by the protocol it came to
        transport.set_protocol(new)
        self.protocol = new
        return response
