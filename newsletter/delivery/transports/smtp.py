"""SMTP over one reused aiosmtplib connection, pipelined (RFC 2920) when the relay offers it.

aiosmtplib connects, upgrades to TLS, says EHLO and authenticates; the transactions run on
`pipelined.Pipeline` over `pipelining.PipeliningSMTP`: MAIL, RCPT and DATA as one group, and the
next message's group right behind this one's final dot (`upcoming`), so a message costs about
one round trip; without PIPELINING (or with `smtp.pipelining: off`) the same steps go one
command at a time. SMTP exceptions are translated into `SendError` in exactly this one place, by
reply code, never by exception class alone; a lost connection is `ambiguous` only once the
final dot has left this process (RFC 5321 §4.1.1.4), before that the message was not delivered.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable

import aiosmtplib

from ...content.config import SMTPSettings
from ...mail.message import WireMessage
from .base import ErrorKind, Reply, SendError, Upcoming
from .pipelined import Envelope, Pipeline, wire_form
from .pipelining import PipeliningSMTP


class SMTPTransport:
    """One reused aiosmtplib connection. TLS is mandatory (STARTTLS or implicit) and verified."""

    def __init__(self, cfg: SMTPSettings, password: str | None) -> None:
        self.cfg = cfg
        self._password = password
        self.description = f"SMTP {cfg.host}:{cfg.port} ({cfg.security})"
        self._smtp: PipeliningSMTP | None = None
        self._pipe: Pipeline | None = None

    def _context(self) -> ssl.SSLContext:
        return tls_context(os.environ.get("NEWSLETTER_SMTP_CA_FILE") or None)

    async def open(self) -> None:
        cfg = self.cfg
        smtp = PipeliningSMTP(
            hostname=cfg.host, port=cfg.port, use_tls=cfg.security == "tls",
            # "none" exists only for the test suite's local servers; the configuration schema
            # accepts nothing but "starttls" and "tls"
            start_tls=cfg.security == "starttls",
            username=cfg.username, password=self._password if cfg.username else None,
            timeout=cfg.timeout, tls_context=self._context(), validate_certs=True,
        )
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                # STARTTLS discards what the server said before TLS (RFC 3207 §4.2) and only
                # AUTH makes aiosmtplib ask again: without it SMTPUTF8 would look unsupported
                await smtp.ehlo()
        except aiosmtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise SendError(ErrorKind.FATAL, exc.code, f"authentication failed: {exc.message}") from None
        except ssl.SSLError as exc:
            smtp.close()
            raise SendError(ErrorKind.FATAL, None, f"TLS failure with {cfg.host}: {exc.reason or exc}") from None
        except aiosmtplib.SMTPConnectError as exc:
            smtp.close()
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "SSL" in str(exc):
                raise SendError(ErrorKind.FATAL, None, f"TLS failure with {cfg.host}: {exc}") from None
            raise SendError(ErrorKind.CONNECTION, None, f"cannot connect to {cfg.host}:{cfg.port}: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            kind = ErrorKind.CONNECTION if 400 <= exc.code < 500 else ErrorKind.FATAL
            raise SendError(kind, exc.code, exc.message) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            smtp.close()
            raise SendError(ErrorKind.CONNECTION, None, f"connection to {cfg.host}:{cfg.port} failed: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            # e.g. "SMTP STARTTLS extension not supported by server": never continue in plaintext
            smtp.close()
            raise SendError(ErrorKind.FATAL, None, f"{cfg.host}: {exc}") from None
        self._smtp = smtp
        self._pipe = Pipeline(smtp, pipelining=cfg.pipelining and smtp.supports_extension("pipelining"),
                              timeout=cfg.timeout, data_timeout=cfg.data_timeout)

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False,
                   upcoming: Callable[[], Upcoming | None] | None = None) -> Reply:
        """Deliver `data` (CRLF lines; a `WireMessage` is sent as built) to `recipient`.
        `upcoming` names the next message this connection will carry; it is asked once this one
        is accepted (354), and with pipelining its envelope goes out right behind this
        message's final dot: the next `send` must then be that message. Raises SendError."""
        if self._smtp is None or not self._smtp.is_connected:
            await self.open()
        if self._pipe is not None and self._pipe.in_flight is not None and \
                self._pipe.in_flight.recipient != recipient:
            self._drop()  # not the transaction begun ahead: start afresh (nothing of it was sent)
            await self.open()
        smtp, pipe = self._smtp, self._pipe
        assert smtp is not None and pipe is not None
        try:
            if pipe.in_flight is None:
                pipe.begin(_envelope(smtp, sender, recipient, smtputf8))
            await pipe.opened()
            following = self._following(smtp, pipe, upcoming)
            resp = await pipe.finish(data if isinstance(data, WireMessage) else wire_form(data), following)
            return Reply(resp.code, resp.message)
        except SendError:  # before anything of this transaction was written
            raise
        except aiosmtplib.SMTPRecipientRefused as exc:
            raise _by_code(exc.code, exc.message, ErrorKind.RECIPIENT) from None
        except aiosmtplib.SMTPSenderRefused as exc:
            if exc.code == 421 or 400 <= exc.code < 500:
                raise SendError(ErrorKind.CONNECTION, exc.code, exc.message) from None
            raise SendError(ErrorKind.FATAL, exc.code, f"sender <{sender}> refused: {exc.message}") from None
        except aiosmtplib.SMTPResponseException as exc:  # DATA or the end of the message refused
            raise _by_code(exc.code, exc.message, ErrorKind.RECIPIENT) from None
        except (TimeoutError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, OSError) as exc:
            self._drop()
            if pipe.dot_sent:
                raise SendError(ErrorKind.AMBIGUOUS, None, f"connection lost after the end of the message was "
                                                           f"sent ({exc}); it may have been delivered") from None
            raise SendError(ErrorKind.CONNECTION, None, f"connection lost before the end of the message "
                                                        f"({exc}); not delivered") from None
        except (aiosmtplib.SMTPNotSupported, UnicodeError, ValueError) as exc:  # before anything was written
            raise SendError(ErrorKind.RECIPIENT, 553, f"5.6.7 {exc}") from None

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
            return _envelope(smtp, nxt.sender, nxt.recipient, nxt.smtputf8)
        except SendError:
            return None

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = self._pipe = None

    async def close(self) -> None:
        """QUIT, or with a transaction begun ahead drop the connection: QUIT would be content."""
        smtp, pipe = self._smtp, self._pipe
        self._smtp = self._pipe = None
        if smtp is not None and pipe is not None and not pipe.idle:
            smtp.close()
        elif smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()


@functools.lru_cache(maxsize=4)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The verifying client context (system CAs, plus `ca_file` if given), built once per run
    and shared by every connection: building one costs ~17 ms of blocking CPU (loading the
    system's CA store), which each new connection used to pay."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(ca_file)
    return ctx


def _envelope(smtp: aiosmtplib.SMTP, sender: str, recipient: str, smtputf8: bool) -> Envelope:
    """The transaction's envelope with the MAIL FROM parameters this relay needs (see
    `_envelope_options`; raises SendError)."""
    utf8, opts = _envelope_options(smtp, sender, recipient, smtputf8)
    return Envelope(sender, recipient, tuple(opts), utf8=utf8)


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


def _by_code(code: int, text: str, kind: ErrorKind) -> SendError:
    if code == 421:
        return SendError(ErrorKind.CONNECTION, code, text)
    return SendError(kind, code, text)
