"""SMTP over one reused aiosmtplib connection.

Every exception of a transaction is translated into `SendError` in exactly this one place, by
reply code and by how far the transaction got (`Stage`), never by exception class alone. The
end of DATA is written by this module, after the message itself has left the process, so a
lost connection is known to be "before the final dot" (not delivered) or "after" (ambiguous).
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
from typing import cast

import aiosmtplib

from ...content.config import SMTPSettings
from .base import ErrorKind, Reply, SendError, Stage

_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")
FLUSH_POLL = 0.002  # seconds between looks at the write buffer while a large message drains
QUIT_TIMEOUT = 5.0  # seconds for the reply to QUIT


def _wire_body(data: bytes) -> bytes:
    """The message as DATA carries it (RFC 5321 §4.5.2): CRLF line ends, a leading "." doubled,
    ending in CRLF; without the final ".\\r\\n"."""
    body = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", data))
    return body if body.endswith(b"\r\n") else body + b"\r\n"


class SMTPTransport:
    """One reused aiosmtplib connection. TLS is mandatory (STARTTLS or implicit) and verified."""

    def __init__(self, cfg: SMTPSettings, password: str | None) -> None:
        self.cfg = cfg
        self._password = password
        self.description = f"SMTP {cfg.host}:{cfg.port} ({cfg.security})"
        self._smtp: aiosmtplib.SMTP | None = None
        self._connecting: aiosmtplib.SMTP | None = None
        self.max_size: int | None = None
        self.stage = Stage.CONNECT

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        ca = os.environ.get("NEWSLETTER_SMTP_CA_FILE")
        if ca:
            ctx.load_verify_locations(ca)
        return ctx

    @property
    def is_open(self) -> bool:
        return self._smtp is not None and self._smtp.is_connected

    async def open(self) -> None:
        if self.is_open:
            return
        cfg = self.cfg
        self.stage = Stage.CONNECT
        smtp = aiosmtplib.SMTP(
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
        self.max_size = _size_limit(smtp)

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> Reply:
        await self.open()
        smtp = self._smtp
        assert smtp is not None
        self.stage = Stage.MAIL
        try:
            utf8, opts = _envelope_options(smtp, sender, recipient, smtputf8)
            encoding = "utf-8" if utf8 else "ascii"
            if smtp.supports_extension("size"):
                opts.append(f"SIZE={len(data)}")  # RFC 1870 §6: a too-large message is refused at once
            await smtp.mail(sender, options=opts, encoding=encoding)
            self.stage = Stage.RCPT
            await smtp.rcpt(recipient, encoding=encoding)
            self.stage = Stage.DATA
            return await self._data(smtp, data)
        except SendError as exc:
            exc.stage = self.stage
            await self._reset()
            raise
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._after_error(exc.code)
            if exc.code == 421 or 400 <= exc.code < 500:
                raise SendError(ErrorKind.CONNECTION, exc.code, exc.message, self.stage) from None
            if exc.code == 552 or exc.message.startswith("5.3.4"):  # RFC 1870: this message is too large
                raise SendError(ErrorKind.RECIPIENT, exc.code, exc.message, self.stage) from None
            raise SendError(ErrorKind.FATAL, exc.code, f"sender <{sender}> refused: {exc.message}",
                            self.stage) from None
        except aiosmtplib.SMTPResponseException as exc:  # RCPT, DATA or the end of data refused
            await self._after_error(exc.code)
            kind = ErrorKind.CONNECTION if exc.code == 421 else ErrorKind.RECIPIENT
            raise SendError(kind, exc.code, exc.message, self.stage) from None
        except (TimeoutError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            self._drop()
            raise self._lost(str(exc) or type(exc).__name__) from None
        except (aiosmtplib.SMTPNotSupported, UnicodeError) as exc:
            await self._reset()
            raise SendError(ErrorKind.RECIPIENT, 553, f"5.6.7 {exc}", self.stage) from None
        except Exception as exc:
            self._drop()
            if self.stage == Stage.DOT:
                raise self._lost(f"{type(exc).__name__}: {exc}") from None
            raise SendError(ErrorKind.INTERNAL, None, f"unexpected error: {type(exc).__name__}: {exc}",
                            self.stage) from exc

    def _lost(self, why: str) -> SendError:
        if self.stage == Stage.DOT:
            return SendError(ErrorKind.AMBIGUOUS, None, f"connection lost after the end of the message was "
                             f"sent ({why}); it may have been delivered", self.stage)
        where = "before the end of the message" if self.stage == Stage.DATA else f"at {self.stage.name}"
        return SendError(ErrorKind.CONNECTION, None, f"connection lost {where} ({why}); not delivered",
                         self.stage)

    async def _data(self, smtp: aiosmtplib.SMTP, data: bytes) -> Reply:
        """DATA, the message, and only once it has left this process the final dot; then the
        reply, waited for up to `data_timeout` (RFC 5321 §4.5.3.2.6: 10 minutes)."""
        start = await smtp.execute_command(b"DATA", timeout=self.cfg.timeout)
        if start.code != 354:
            raise aiosmtplib.SMTPDataError(start.code, start.message)
        proto = smtp.protocol
        if proto is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost")
        reply = asyncio.ensure_future(proto.read_response(timeout=None))
        try:
            proto.write(_wire_body(data))
            while not reply.done():  # a large message drains while the server reads it
                t = cast(asyncio.WriteTransport | None, proto.transport)
                if t is None or t.get_write_buffer_size() == 0:
                    break
                await asyncio.sleep(FLUSH_POLL)
            if reply.done() or proto.transport is None:  # an early reply, or the connection lost
                early = await reply
                self._drop()  # the server stopped reading mid-message: start afresh
                raise aiosmtplib.SMTPDataError(early.code if early.code >= 400 else 554,
                                               f"{early.message} (replied before the end of the message)")
            proto.write(b".\r\n")
            self.stage = Stage.DOT
            resp = await asyncio.wait_for(reply, self.cfg.data_timeout)
        finally:
            if not reply.done():
                reply.cancel()
            elif not reply.cancelled():
                reply.exception()  # retrieved: an error here was already raised or is superseded
        if resp.code != 250:
            raise aiosmtplib.SMTPDataError(resp.code, resp.message)
        return Reply(resp.code, resp.message)

    async def _after_error(self, code: int) -> None:
        if code == 421:
            self._drop()
        else:
            await self._reset()

    async def _reset(self) -> None:
        smtp = self._smtp
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.rset()
        except aiosmtplib.SMTPException:
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    def abort(self) -> None:
        """Drop the connection now (graceful stop after the grace period): an in-flight `send`
        raises SendError at once, classified by the stage it reached."""
        for smtp in (self._smtp, self._connecting):
            if smtp is not None and smtp.transport is not None:
                cast(asyncio.Transport, smtp.transport).abort()

    async def close(self) -> None:
        """QUIT politely, but briefly: a slow server must not hold up the end of a run."""
        smtp = self._smtp
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit(timeout=min(self.cfg.timeout, QUIT_TIMEOUT))
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
        self._smtp = None


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
