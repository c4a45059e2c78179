"""An aiosmtplib connection that keeps every reply: the ground for command pipelining (RFC 2920).

aiosmtplib 5.1.3's `SMTPProtocol` parses one reply per `read_response` call and ignores bytes
that arrive while a parsed reply still waits to be picked up, so of several commands written at
once all replies but the first are lost. `PipeliningProtocol` parses every complete reply as it
arrives into a first-in, first-out queue, and `read_response` takes them in order, however the
server's bytes were split or merged across TCP reads. Replies nobody asked for (no command
outstanding) are still discarded, as upstream does, so an unsolicited line is never paired with
a later command, and STARTTLS still drops anything sent before the handshake; `stray` remembers
them, so a caller can refuse to trust the connection (see `OutOfStep`). Replies are parsed by
`parse_reply`, stricter than upstream's: a reply it cannot read raises `OutOfStep`. Everything else is
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
from aiosmtplib.protocol import MAX_LINE_LENGTH, MAX_RESPONSE_LENGTH, SMTPProtocol

__all__ = ["OutOfStep", "PipeliningProtocol", "PipeliningSMTP", "parse_reply"]


class OutOfStep(aiosmtplib.SMTPServerDisconnected):
    """The server's replies no longer match the commands written: a reply that cannot be read
    (malformed, overlong, a multi-line reply whose lines disagree on the code, RFC 5321 §4.2),
    a reply no command can have (354 to RCPT, 250 to DATA), or one to no command at all. No
    reply on this connection can then be trusted to be the one it seems, so it is treated as a
    lost connection: before the final dot "not delivered", after it "may have been delivered"."""


def parse_reply(buffer: bytes | bytearray) -> tuple[aiosmtplib.SMTPResponse, int] | None:
    """The first complete reply in `buffer` and the bytes it takes, or None if it is not all
    there yet. RFC 5321 §4.2: lines `NNN-text` then `NNN text` (or a bare `NNN`), the same
    three-digit code 2yz-5yz on every line, CRLF (a bare LF is tolerated); bytes that are not
    UTF-8 become U+FFFD in the text. Raises OutOfStep for
    anything else, and for a line longer than aiosmtplib's limit."""
    code, lines, offset = b"", [], 0
    while True:
        end = buffer.find(b"\n", offset)
        if end == -1:
            if len(buffer) - offset > MAX_LINE_LENGTH:
                raise OutOfStep("a reply line longer than 8192 bytes")
            return None
        line = bytes(buffer[offset:end + 1]).rstrip(b"\r\n")
        offset = end + 1
        if len(line) > MAX_LINE_LENGTH:
            raise OutOfStep("a reply line longer than 8192 bytes")
        this, sep = line[:3], line[3:4]
        if not (len(this) == 3 and this.isdigit() and this[:1] in b"2345" and sep in (b"", b" ", b"-")):
            raise OutOfStep(f"unreadable reply line {line[:80].decode('utf-8', 'replace')!r}")
        if code and this != code:
            raise OutOfStep(f"a multi-line reply whose lines disagree: {code.decode()} then {this.decode()}")
        code = this
        lines.append(line[4:].strip(b" \t"))
        if sep != b"-":
            # not surrogateescape, as upstream: the text is recorded, and stray bytes must not be
            return aiosmtplib.SMTPResponse(int(code), b"\n".join(lines).decode("utf-8", "replace")), offset


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
        self.stray = False  # bytes came that no command asked for (see OutOfStep)

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
        if self._owed <= 0:  # unsolicited: dropped, as the base class does, and remembered
            self.stray = self.stray or bool(data.strip())
            return
        self._buffer.extend(data)
        while self._owed > 0:
            try:
                parsed = parse_reply(self._buffer)
            except OutOfStep as exc:
                self._fail(exc)
                return
            if parsed is None:
                break
            reply, size = parsed
            del self._buffer[:size]
            self._owed -= 1
            self._replies.append(reply)
        if self._owed <= 0:
            self.stray = self.stray or bool(bytes(self._buffer).strip())  # more than was asked for
            del self._buffer[:]
        elif len(self._buffer) > MAX_RESPONSE_LENGTH:
            self._fail(OutOfStep("a reply longer than 32768 bytes"))
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
        it), SMTPServerDisconnected (OutOfStep among them) once the queue is empty."""
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
