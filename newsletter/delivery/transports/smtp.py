"""SMTP over one reused aiosmtplib connection, pipelined (RFC 2920) when the relay offers it.

aiosmtplib connects, upgrades to TLS, says EHLO and authenticates; the transactions run on
`pipelined.Pipeline` over `pipelining.PipeliningSMTP`: MAIL, RCPT and DATA as one group, and the
next message's group right behind this one's final dot (`upcoming`), so a message costs about
one round trip; without PIPELINING (or with `smtp.pipelining: off`) the same steps go one
command at a time. Every exception of a transaction is translated into `SendError` in exactly
this one place, by reply code and by how far the transaction got (`Stage`), never by exception
class alone. The final dot is written only after the message itself has left the process, so a
lost connection is known to be "before the final dot" (not delivered) or "after" (ambiguous).
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from collections.abc import Callable
from typing import cast

import aiosmtplib

from ...content.config import SMTPSettings
from ...mail.message import WireMessage
from .base import BeforeDot, ErrorKind, Reply, SendError, Stage, Upcoming
from .pipelined import Envelope, Pipeline, wire_form
from .pipelining import OutOfStep, PipeliningSMTP

QUIT_TIMEOUT = 5.0  # seconds for the reply to QUIT
_REACHED = (Stage.MAIL, Stage.RCPT, Stage.DATA, Stage.DATA)  # by the replies of the group read


class SMTPTransport:
    """One reused aiosmtplib connection. TLS is mandatory (STARTTLS or implicit) and verified."""

    def __init__(self, cfg: SMTPSettings, password: str | None) -> None:
        self.cfg = cfg
        self._password = password
        self.description = f"SMTP {cfg.host}:{cfg.port} ({cfg.security})"
        self._smtp: PipeliningSMTP | None = None
        self._pipe: Pipeline | None = None
        self._connecting: PipeliningSMTP | None = None
        self.max_size: int | None = None
        self.stage = Stage.CONNECT

    def _context(self) -> ssl.SSLContext:
        return tls_context(os.environ.get("NEWSLETTER_SMTP_CA_FILE") or None)

    @property
    def is_open(self) -> bool:
        return self._smtp is not None and self._smtp.is_connected

    async def open(self) -> None:
        if self.is_open:
            return
        cfg = self.cfg
        self.stage = Stage.CONNECT
        smtp = PipeliningSMTP(
            hostname=cfg.host, port=cfg.port, use_tls=cfg.security == "tls",
            # "none" exists only for the test suite's local servers; the configuration schema
            # accepts nothing but "starttls" and "tls"
            start_tls=cfg.security == "starttls",
            username=cfg.username, password=self._password if cfg.username else None,
            timeout=cfg.timeout, tls_context=self._context(), validate_certs=True,
        )
        self._connecting = smtp
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                # STARTTLS discards what the server said before TLS (RFC 3207 §4.2) and only
                # AUTH makes aiosmtplib ask again: without it SMTPUTF8 would look unsupported
                # and SIZE unknown before the first transaction
                await smtp.ehlo()
            if not smtp.is_connected:  # aborted while connecting
                raise aiosmtplib.SMTPServerDisconnected("connection closed while connecting")
        except aiosmtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise SendError(ErrorKind.FATAL, exc.code, f"authentication failed: {exc.message}") from None
        except ssl.SSLError as exc:
            smtp.close()
            raise SendError(ErrorKind.FATAL, None, f"TLS failure with {cfg.host}: {exc.reason or exc}") from None
        except aiosmtplib.SMTPResponseException as exc:  # the greeting or EHLO refused (421: busy)
            smtp.close()
            kind = ErrorKind.CONNECTION if 400 <= exc.code < 500 else ErrorKind.FATAL
            raise SendError(kind, exc.code, exc.message) from None
        except aiosmtplib.SMTPConnectError as exc:
            smtp.close()
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "SSL" in str(exc):
                raise SendError(ErrorKind.FATAL, None, f"TLS failure with {cfg.host}: {exc}") from None
            raise SendError(ErrorKind.CONNECTION, None, f"cannot connect to {cfg.host}:{cfg.port}: {exc}") from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            smtp.close()
            raise SendError(ErrorKind.CONNECTION, None, f"connection to {cfg.host}:{cfg.port} failed: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            # e.g. "SMTP STARTTLS extension not supported by server": never continue in plaintext
            smtp.close()
            raise SendError(ErrorKind.FATAL, None, f"{cfg.host}: {exc}") from None
        finally:
            self._connecting = None
        self._smtp = smtp
        self._pipe = Pipeline(smtp, pipelining=cfg.pipelining and smtp.supports_extension("pipelining"),
                              timeout=cfg.timeout, data_timeout=cfg.data_timeout)
        self.max_size = _size_limit(smtp)

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False,
                   upcoming: Callable[[], Upcoming | None] | None = None,
                   before_dot: BeforeDot | None = None) -> Reply:
        """Deliver `data` (CRLF lines; a `WireMessage` is sent as built) to `recipient`.
        `upcoming` names the next message this connection will carry; it is asked once this one
        is accepted (354), and with pipelining its envelope goes out right behind this
        message's final dot: the next `send` must then be that message. `before_dot`: see
        `Transport.send`. Raises SendError."""
        await self.open()
        if self._pipe is not None and self._pipe.in_flight is not None and \
                self._pipe.in_flight.recipient != recipient:
            self._drop()  # not the transaction begun ahead: start afresh (nothing of it was sent)
            await self.open()
        smtp, pipe = self._smtp, self._pipe
        assert smtp is not None and pipe is not None
        self.stage = Stage.MAIL
        try:
            if pipe.in_flight is None:
                pipe.begin(_envelope(smtp, sender, recipient, len(data), smtputf8))
            try:
                await pipe.opened()
            except aiosmtplib.SMTPSenderRefused:
                self.stage = Stage.MAIL
                raise
            except aiosmtplib.SMTPRecipientRefused:
                self.stage = Stage.RCPT
                raise
            except aiosmtplib.SMTPResponseException:
                self.stage = Stage.DATA
                raise
            except BaseException:
                self.stage = _REACHED[pipe.answered]  # lost while waiting for this reply
                raise
            following = self._following(smtp, pipe, upcoming)
            self.stage = Stage.DATA
            try:
                resp = await pipe.finish(data if isinstance(data, WireMessage) else wire_form(data), following,
                                         before_dot)
            finally:
                if pipe.dot_sent:
                    self.stage = Stage.DOT
            return Reply(resp.code, resp.message)
        except SendError as exc:  # nothing of this transaction was written
            exc.stage = self.stage
            raise
        except aiosmtplib.SMTPSenderRefused as exc:
            if exc.code == 421 or 400 <= exc.code < 500:
                raise SendError(ErrorKind.CONNECTION, exc.code, exc.message, self.stage) from None
            if exc.code == 552 or exc.message.startswith("5.3.4"):  # RFC 1870: this message is too large
                raise SendError(ErrorKind.RECIPIENT, exc.code, exc.message, self.stage) from None
            raise SendError(ErrorKind.FATAL, exc.code, f"sender <{sender}> refused: {exc.message}",
                            self.stage) from None
        except aiosmtplib.SMTPResponseException as exc:  # RCPT, DATA or the end of data refused
            kind = ErrorKind.CONNECTION if exc.code == 421 else ErrorKind.RECIPIENT
            raise SendError(kind, exc.code, exc.message, self.stage) from None
        except OutOfStep as exc:
            self._drop()
            if self.stage != Stage.DOT:  # none of this group's replies can be trusted: not theirs
                self.stage = Stage.MAIL
            raise self._lost(str(exc), distrusted=True) from None
        except (TimeoutError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            self._drop()
            raise self._lost(str(exc) or type(exc).__name__) from None
        except (aiosmtplib.SMTPNotSupported, UnicodeError, ValueError) as exc:  # before anything was written
            raise SendError(ErrorKind.RECIPIENT, 553, f"5.6.7 {exc}", self.stage) from None
        except Exception as exc:
            self._drop()
            if self.stage == Stage.DOT:
                raise self._lost(f"{type(exc).__name__}: {exc}") from None
            raise SendError(ErrorKind.INTERNAL, None, f"unexpected error: {type(exc).__name__}: {exc}",
                            self.stage) from exc

    @staticmethod
    def _following(smtp: PipeliningSMTP, pipe: Pipeline,
                   upcoming: Callable[[], Upcoming | None] | None) -> Envelope | None:
        """The next message's envelope, to ride behind this one's dot (pipelining only); an
        envelope this relay cannot take is left for that message's own `send` to report."""
        if upcoming is None or not pipe.pipelining:
            return None
        nxt = upcoming()
        if nxt is None:
            return None
        try:
            return _envelope(smtp, nxt.sender, nxt.recipient, nxt.size, nxt.smtputf8)
        except SendError:
            return None

    def _lost(self, why: str, *, distrusted: bool = False) -> SendError:
        what = "the relay's replies could not be trusted" if distrusted else "connection lost"
        if self.stage == Stage.DOT:
            return SendError(ErrorKind.AMBIGUOUS, None, f"{what} after the end of the message was "
                             f"sent ({why}); it may have been delivered", self.stage)
        where = "before the end of the message" if self.stage == Stage.DATA else f"at {self.stage.name}"
        dropped = "; the connection was dropped" if distrusted else ""
        return SendError(ErrorKind.CONNECTION, None, f"{what} {where} ({why}){dropped}; not delivered",
                         self.stage)

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = self._pipe = None

    def abort(self) -> None:
        """Drop the connection now (graceful stop after the grace period): an in-flight `send`
        raises SendError at once, classified by the stage it reached."""
        for smtp in (self._smtp, self._connecting):
            if smtp is not None and smtp.transport is not None:
                cast(asyncio.Transport, smtp.transport).abort()

    async def close(self) -> None:
        """QUIT politely, but briefly: a slow server must not hold up the end of a run. With a
        transaction begun ahead, the connection is dropped instead: QUIT would be content."""
        smtp, pipe = self._smtp, self._pipe
        if smtp is not None and pipe is not None and not pipe.idle:
            smtp.close()
        elif smtp is not None and smtp.is_connected:
            try:
                await smtp.quit(timeout=min(self.cfg.timeout, QUIT_TIMEOUT))
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
        self._smtp = self._pipe = None


def _envelope(smtp: aiosmtplib.SMTP, sender: str, recipient: str, size: int, smtputf8: bool) -> Envelope:
    """The transaction's envelope with the MAIL FROM parameters this relay needs: SMTPUTF8 and
    BODY=8BITMIME when an address needs them (`_envelope_options`; raises SendError), SIZE when
    the relay declares it (RFC 1870 §6: a message too large is refused before its upload)."""
    utf8, opts = _envelope_options(smtp, sender, recipient, smtputf8)
    if smtp.supports_extension("size"):
        opts.append(f"SIZE={size}")
    return Envelope(sender, recipient, tuple(opts), utf8=utf8)


@functools.lru_cache(maxsize=4)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The verifying client context (system CAs, plus `ca_file` if given), built once per run
    and shared by every connection: building one costs ~17 ms of blocking CPU (loading the
    system's CA store), which each new connection used to pay."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(ca_file)
    return ctx


def _size_limit(smtp: aiosmtplib.SMTP) -> int | None:
    """The largest message the relay accepts (the EHLO keyword SIZE, RFC 1870); None when it
    names no limit (absent, or SIZE 0)."""
    value = smtp.esmtp_extensions.get("size", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _envelope_options(smtp: aiosmtplib.SMTP, sender: str, recipient: str, smtputf8: bool) -> tuple[bool, list[str]]:
    """(UTF-8 commands?, MAIL FROM parameters). A non-ASCII local part needs SMTPUTF8 at the relay
    (RFC 6531 §3.4); domains are already A-labels. Without it only this recipient fails, unless
    the envelope sender itself needs it: then no message can go and the run stops."""
    if not (smtputf8 or not sender.isascii() or not recipient.isascii()):
        return False, []
    if not smtp.supports_extension("smtputf8"):
        if not sender.isascii():
            raise SendError(ErrorKind.FATAL, None, f"the envelope sender <{sender}> needs SMTPUTF8, which "
                                                   f"{smtp.hostname} does not offer; use an ASCII address")
        raise SendError(ErrorKind.RECIPIENT, 553, f"5.6.7 {smtp.hostname} does not offer SMTPUTF8 (RFC 6531), "
                                                  "which this address needs: it has non-ASCII characters "
                                                  "before the @")
    opts = ["SMTPUTF8"]
    if smtp.supports_extension("8bitmime"):
        opts.append("BODY=8BITMIME")  # the To: of such a message is raw UTF-8 (RFC 6532)
    return True, opts
