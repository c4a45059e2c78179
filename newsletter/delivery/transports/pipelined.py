"""SMTP transactions, pipelined as RFC 2920 allows (about one round trip per message) when the
server advertises PIPELINING, else one command at a time.

MAIL FROM, RCPT TO and DATA go out as one group. Once DATA is answered 354, the message, its
final dot and the next envelope's group go out back to back (§3.1: "the actual transfer of message
content is explicitly allowed to be the first 'command' in a group"), so the reply to the dot and
the next envelope's three replies come back in one round trip. Every reply of a group is read
and matched to its command in order, whatever the first one said (§3.1 (1)); when DATA was
accepted although the recipient was refused, a lone "." ends the empty transaction (§3.1);
when it was refused, RSET does. Refusals are raised as the aiosmtplib exceptions its own
one-command-at-a-time methods raise (SMTPSenderRefused, SMTPRecipientRefused, SMTPDataError),
so a caller translates both paths alike. A reply is read by its first digit (RFC 5321 §4.2.1:
2yz done, 3yz go on, 4yz/5yz refused); one of a class its command cannot have, a reply that
cannot be parsed or one to no command raises `OutOfStep` (a lost connection) and closes it.

The message must already be in its wire form (`wire_form`: CRLF line ends, leading dots
doubled, CRLF at the end): no pass over it happens here.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass
from typing import cast

import aiosmtplib

from .base import BeforeDot
from .pipelining import OutOfStep, PipeliningSMTP

VOUCH_421 = 5.0  # seconds to wait for the next group's replies after a 421 to the end of a message
DRAIN_POLL = 0.002  # seconds between looks at the write buffer while a large message drains
_BAD_ADDRESS = re.compile(r"[\x00-\x20<>\x7f]")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


_COMMANDS = ("MAIL FROM", "RCPT TO", "DATA")
_POSITIVE = (2, 2, 3)  # the class of a positive reply to each (RFC 5321 §4.2.1, §4.3.2)


def _in_step(reply: aiosmtplib.SMTPResponse, positive: int, command: str) -> bool:
    """Whether `reply` is positive; a refusal (4yz, 5yz) is False. Raises OutOfStep for a class
    the command cannot be answered with (354 to RCPT, 250 to DATA): the replies have slipped
    against the commands, and trusting them would pin one reader's reply on another."""
    kind = reply.code // 100
    if kind == positive:
        return True
    if kind in (4, 5):
        return False
    raise OutOfStep(f"the reply '{reply.code} {reply.message[:80]}' cannot answer {command}: the relay's "
                    "replies are out of step with the commands")


def wire_form(message: bytes) -> bytes:
    """`message` as DATA carries it (RFC 5321 §4.5.2): CRLF line ends, a leading "." doubled,
    ending in CRLF, without the final ".". Two cheap scans find that a message built by
    mail.message (CRLF throughout, no line starting with ".") needs no change; anything else
    gets the two regex passes aiosmtplib would make."""
    if message.count(b"\n") == message.count(b"\r\n") == message.count(b"\r") and \
            b"\n." not in message and not message.startswith(b"."):
        return message if message.endswith(b"\r\n") else message + b"\r\n"
    body = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", message))
    return body if body.endswith(b"\r\n") else body + b"\r\n"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One transaction's envelope: the reverse path, one forward path, MAIL FROM parameters
    (e.g. SMTPUTF8, BODY=8BITMIME, SIZE=n) and whether the addresses go out as UTF-8."""

    sender: str
    recipient: str
    options: tuple[str, ...] = ()
    utf8: bool = False

    def commands(self) -> list[bytes]:
        """MAIL FROM, RCPT TO and DATA, each a CRLF-ended line. Raises ValueError for an
        address that could smuggle a command (controls, spaces, angle brackets) and
        UnicodeEncodeError for a non-ASCII one without `utf8`."""
        enc = "utf-8" if self.utf8 else "ascii"
        for addr in (self.sender, self.recipient):
            if _BAD_ADDRESS.search(addr):
                raise ValueError(f"address {addr!r} contains a character no SMTP command may carry")
        params = "".join(" " + o for o in self.options)
        return [f"MAIL FROM:<{self.sender}>{params}\r\n".encode(enc), f"RCPT TO:<{self.recipient}>\r\n".encode(enc),
                b"DATA\r\n"]

    def group(self) -> bytes:
        """The three commands as one write (see `commands`)."""
        return b"".join(self.commands())


class Pipeline:
    """Transactions over one connected `PipeliningSMTP`. With `pipelining` (the server
    advertises PIPELINING) each group goes out in one write and the next group rides behind a
    message's dot; without it, the same steps go one command at a time, each reply awaited
    (today's sequence), so both share every rule below.

    The cycle: `begin(envelope)`, then per message `await opened()` (the group's replies; raises
    if refused) and `await finish(wire_bytes, next_envelope)` (the reply to its final dot).
    `answered` counts the replies of the current group read so far; `dot_sent` tells, after an
    exception, whether the final dot had left this process (RFC 5321 §4.1.1.4: the server takes
    responsibility only then). `idle` is False while a group or a message is in flight: the
    connection must then be dropped, never QUIT (QUIT in the middle of DATA would be content).
    Timeouts in seconds; `data_timeout` for the reply to the final dot (RFC 5321 §4.5.3.2.6).
    Any exception other than a refusal leaves the connection closed."""

    def __init__(self, smtp: PipeliningSMTP, *, pipelining: bool, timeout: float | None,
                 data_timeout: float | None) -> None:
        if smtp.protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Server not connected")
        self.smtp, self.proto = smtp, smtp.protocol  # the protocol keeps its replies after a close
        self.proto.stray = False  # what came before (say, before STARTTLS) is not a transaction's
        self.pipelining, self.timeout, self.data_timeout = pipelining, timeout, data_timeout
        self.in_flight: Envelope | None = None  # begun, replies not read yet
        self.open = False  # DATA was accepted: the server is reading a message
        self.answered = 0
        self.dot_sent = False
        self._kept: deque[aiosmtplib.SMTPResponse] = deque()  # the next group's replies, read ahead
        self._kept_failure: BaseException | None = None

    @property
    def idle(self) -> bool:
        return self.in_flight is None and not self.open

    def begin(self, envelope: Envelope) -> None:
        """Start `envelope`'s transaction (pipelining: write its group). Raises ValueError /
        UnicodeEncodeError (see Envelope.commands) before anything is written, and
        SMTPServerDisconnected if the connection is gone."""
        if not self.idle:
            raise RuntimeError("a transaction is still in flight")
        group = envelope.group()
        if self.proto.stray:  # something came that no command asked for: no reply can be trusted
            self.smtp.close()
            raise OutOfStep("the relay sent a reply to no command")
        if self.pipelining:
            self.proto.pipeline(group, 3)
        self.in_flight = envelope

    async def opened(self) -> Envelope:
        """Read the replies to the transaction begun (without pipelining: send its commands one
        by one, stopping at the first refusal). Returns its envelope once DATA is answered 354
        (the server now reads the message); raises SMTPSenderRefused, SMTPRecipientRefused or
        SMTPDataError for the first command refused, after ending the transaction (lone "." or
        RSET; closed after a 421), or SMTPServerDisconnected / SMTPTimeoutError (closed)."""
        env, self.in_flight = self.in_flight, None
        if env is None:
            raise RuntimeError("no transaction in flight")
        self.answered, self.dot_sent = 0, False
        replies: list[aiosmtplib.SMTPResponse] = []
        positive: list[bool] = []
        try:
            for i, command in enumerate(env.commands()):
                if not self.pipelining:
                    self.proto.pipeline(command, 1)
                reply = await self._reply(self.timeout)
                positive.append(_in_step(reply, _POSITIVE[i], _COMMANDS[i]))
                replies.append(reply)
                self.answered = i + 1
                if reply.code == 421 or (not self.pipelining and not positive[-1]):
                    break
            if self.proto.stray:  # a reply more than the commands asked for came with them
                raise OutOfStep("the relay sent more replies than commands")
        except BaseException:
            self.smtp.close()
            raise
        mail, rcpt, data = (replies + [replies[-1]] * 2)[:3]
        ok_mail, ok_rcpt = positive[0], len(positive) > 1 and positive[1]
        if len(replies) == 3 and all(positive):
            self.open = True
            return env
        try:
            if any(r.code == 421 for r in replies):
                self.smtp.close()  # the server is closing the channel (RFC 5321 §4.2.2)
            elif len(replies) == 3 and positive[2]:  # RFC 2920 §3.1: no valid recipient: a lone "."
                self.proto.pipeline(b".\r\n", 1)
                await self._reply(self.data_timeout)
            elif ok_mail:  # the server holds the reverse path until RSET
                self.proto.pipeline(b"RSET\r\n", 1)
                if (await self._reply(self.timeout)).code // 100 != 2 or self.proto.stray:
                    raise OutOfStep("RSET was not answered 2yz: the relay's replies are out of step")
        except OutOfStep:
            self.smtp.close()
            raise  # then the refusal above may have been another command's reply: nobody's fault
        except (aiosmtplib.SMTPException, OSError):
            self.smtp.close()
        if not ok_mail:
            raise aiosmtplib.SMTPSenderRefused(mail.code, mail.message, env.sender)
        if not ok_rcpt:
            raise aiosmtplib.SMTPRecipientRefused(rcpt.code, rcpt.message, env.recipient)
        raise aiosmtplib.SMTPDataError(data.code, data.message)

    async def finish(self, message: bytes, following: Envelope | None = None,
                     before_dot: BeforeDot | None = None) -> aiosmtplib.SMTPResponse:
        """Send the message accepted by `opened` (wire form), its final dot and, right behind
        it, `following`'s group (pipelining; else `following` is only begun); return the 2yz
        reply to the dot. Raises SMTPDataError if the
        message is refused (`following`'s group then stays in flight: `opened` reads it), or
        SMTPServerDisconnected / SMTPTimeoutError (connection closed; see `dot_sent`).
        `before_dot` is awaited once the message has left this process and before its dot; if
        it returns False the dot is withheld: the connection is closed (the server then drops
        the message) and SMTPServerDisconnected raised."""
        if not self.open:
            raise RuntimeError("no message is being accepted")
        self.dot_sent = False
        try:
            group = following.group() if following is not None else b""
        except (ValueError, UnicodeError):
            group, following = b"", None  # the caller meets the error again at its own begin()
        if not self.pipelining:
            group = b""  # its commands go one by one at `opened`
        try:
            self.proto.pipeline(message, 1)  # the reply to the end of data is owed from here on
            await self._drained()
            if before_dot is not None and not await before_dot():
                raise aiosmtplib.SMTPServerDisconnected("the final dot was withheld: what came before it could "
                                                        "not be recorded")
            self.proto.pipeline(b".\r\n" + group, 3 if group else 0)
            self.dot_sent, self.open, self.in_flight = True, False, following
            reply = await self._reply(self.data_timeout)
        except BaseException:
            self.open, self.in_flight = False, None
            self.smtp.close()
            raise
        try:
            if group:  # the next group went out behind the dot
                await self._vouch(VOUCH_421 if reply.code == 421 else self.timeout)
            if reply.code == 421:
                self.in_flight = None
                self.smtp.close()
            delivered = _in_step(reply, 2, "the end of the message")  # any 2yz, as §4.2 reads codes
            if self.proto.stray and self.in_flight is None:
                raise OutOfStep("the relay sent more replies than commands after the end of the message")
        except OutOfStep:
            self.in_flight = None
            self.smtp.close()
            raise
        if not delivered:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)
        return reply

    async def _drained(self) -> None:
        """Wait until the message has left this process, so that the final dot alone decides
        between "not delivered" and "maybe delivered". A reply before that (the server gave up
        reading the message) ends the connection: nothing after it would be read in step. It is
        raised as a lost connection, not as a refusal: the message was not delivered, and a
        reply that came while the server was still reading may be a stray one (so it never
        fails or suppresses the reader; a retry settles it)."""
        proto = self.proto
        while True:
            transport = cast(asyncio.WriteTransport | None, proto.transport)
            if transport is None or proto.queued:
                break
            if not transport.get_write_buffer_size():
                return
            await asyncio.sleep(DRAIN_POLL)
        try:
            early = await proto.read_response(timeout=0)
        except aiosmtplib.SMTPException as exc:
            raise aiosmtplib.SMTPServerDisconnected(f"{exc} (before the end of the message)") from None
        raise aiosmtplib.SMTPServerDisconnected(f"the relay replied '{early.code} {early.message[:80]}' before the "
                                                "end of the message")

    async def _vouch(self, timeout: float | None) -> None:
        """Read the replies to the group written behind the final dot before trusting the reply
        taken as the dot's: a stray reply that came while the message was on its way would be
        taken for it, and then the group's replies do not fit their commands (OutOfStep: the
        message is `unknown`, not refused, not sent again). They are kept for `opened`; a
        connection lost meanwhile is kept for `opened` to raise, and the dot's reply stands.
        After a 421 the server should close; `timeout` is then short (a server that neither
        closes nor answers must not hold the run)."""
        for i in range(3):
            try:
                got = await self.proto.read_response(timeout=timeout)
            except OutOfStep:
                raise
            except (aiosmtplib.SMTPException, OSError) as exc:
                self._kept_failure = exc
                return
            self._kept.append(got)
            if not _in_step(got, _POSITIVE[i], _COMMANDS[i]) and got.code == 421:
                return

    async def _reply(self, timeout: float | None) -> aiosmtplib.SMTPResponse:
        if self._kept:
            return self._kept.popleft()
        if self._kept_failure is not None:
            exc, self._kept_failure = self._kept_failure, None
            raise exc
        return await self.proto.read_response(timeout=timeout)
