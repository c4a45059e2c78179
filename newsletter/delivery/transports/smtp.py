"""SMTP over one reused aiosmtplib connection.

SMTP exceptions are translated into `SendError` in exactly this one place, by reply code, never
by exception class alone.
"""

from __future__ import annotations

import os
import ssl

import aiosmtplib

from ...content.config import SMTPSettings
from .base import ErrorKind, Reply, SendError


class SMTPTransport:
    """One reused aiosmtplib connection. TLS is mandatory (STARTTLS or implicit) and verified."""

    def __init__(self, cfg: SMTPSettings, password: str | None) -> None:
        self.cfg = cfg
        self._password = password
        self.description = f"SMTP {cfg.host}:{cfg.port} ({cfg.security})"
        self._smtp: aiosmtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        ca = os.environ.get("NEWSLETTER_SMTP_CA_FILE")
        if ca:
            ctx.load_verify_locations(ca)
        return ctx

    async def open(self) -> None:
        cfg = self.cfg
        smtp = aiosmtplib.SMTP(
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

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> Reply:
        if self._smtp is None or not self._smtp.is_connected:
            await self.open()
        smtp = self._smtp
        assert smtp is not None
        phase = "mail"
        try:
            utf8, opts = _envelope_options(smtp, sender, recipient, smtputf8)
            encoding = "utf-8" if utf8 else "ascii"
            await smtp.mail(sender, options=opts, encoding=encoding)
            phase = "rcpt"
            await smtp.rcpt(recipient, encoding=encoding)
            phase = "data"
            resp = await smtp.data(data, timeout=self.cfg.data_timeout)
            return Reply(resp.code, resp.message)
        except SendError:
            await self._reset()
            raise
        except aiosmtplib.SMTPRecipientRefused as exc:
            await self._reset()
            raise _by_code(exc.code, exc.message, ErrorKind.RECIPIENT) from None
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._after_error(exc.code)
            if exc.code == 421 or 400 <= exc.code < 500:
                raise SendError(ErrorKind.CONNECTION, exc.code, exc.message) from None
            raise SendError(ErrorKind.FATAL, exc.code, f"sender <{sender}> refused: {exc.message}") from None
        except aiosmtplib.SMTPDataError as exc:
            await self._after_error(exc.code)
            raise _by_code(exc.code, exc.message, ErrorKind.RECIPIENT) from None
        except aiosmtplib.SMTPResponseException as exc:
            await self._after_error(exc.code)
            raise _by_code(exc.code, exc.message, ErrorKind.RECIPIENT) from None
        except (TimeoutError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, OSError) as exc:
            self._drop()
            if phase == "data":
                raise SendError(ErrorKind.AMBIGUOUS, None, f"connection lost during DATA: {exc}") from None
            raise SendError(ErrorKind.CONNECTION, None, f"connection lost: {exc}") from None
        except (aiosmtplib.SMTPNotSupported, UnicodeError) as exc:
            await self._reset()
            raise SendError(ErrorKind.RECIPIENT, 553, f"5.6.7 {exc}") from None

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

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()


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
