"""Transports, swappable like Django's mail backends: `open`, `send`, `close`.

Each `send` either returns the server's reply or raises a `SendError` whose `kind` says what
the dispatcher must do; SMTP exceptions are translated in exactly one place (`SMTPTransport`),
by reply code, never by exception class alone.
"""

from __future__ import annotations

import mailbox
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiosmtplib

from ...content.config import SMTPSettings


@dataclass(frozen=True)
class Reply:
    code: int
    text: str


class SendError(Exception):
    """kind: recipient (this address, by code) | connection (nothing delivered, reconnect) |
    ambiguous (lost after the message was handed over) | fatal (configuration: stop the run)."""

    def __init__(self, kind: str, code: int | None, text: str) -> None:
        super().__init__(f"{code} {text}" if code else text)
        self.kind, self.code, self.text = kind, code, text


class Transport(Protocol):
    description: str

    async def open(self) -> None: ...

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> Reply: ...

    async def close(self) -> None: ...


class MaildirTransport:
    """The embedded default: every message lands in a local Maildir any mail client can open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"Maildir outbox {path}"
        self._box: mailbox.Maildir | None = None

    async def open(self) -> None:
        try:
            self._box = mailbox.Maildir(self.path, create=True)
        except OSError as exc:
            raise SendError("fatal", None, f"cannot open the outbox {self.path}: {exc.strerror}") from None

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> Reply:
        if self._box is None:
            await self.open()
        assert self._box is not None
        msg = mailbox.MaildirMessage(b"Return-Path: <" + sender.encode() + b">\r\n" + data)
        try:
            key = self._box.add(msg)
        except OSError as exc:
            raise SendError("fatal", None, f"cannot write to the outbox {self.path}: {exc.strerror}") from None
        return Reply(250, f"stored as {key}")

    async def close(self) -> None:
        self._box = None


@dataclass
class MemoryTransport:
    """For tests: keeps (sender, recipient, bytes); `fail` maps an address to a SendError."""

    sent: list[tuple[str, str, bytes]] = field(default_factory=list)
    fail: dict[str, SendError] = field(default_factory=dict)
    description: str = "memory"

    async def open(self) -> None:
        return None

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> Reply:
        if recipient in self.fail:
            raise self.fail[recipient]
        self.sent.append((sender, recipient, data))
        return Reply(250, "ok")

    async def close(self) -> None:
        return None


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
        except aiosmtplib.SMTPAuthenticationError as exc:
            smtp.close()
            raise SendError("fatal", exc.code, f"authentication failed: {exc.message}") from None
        except ssl.SSLError as exc:
            smtp.close()
            raise SendError("fatal", None, f"TLS failure with {cfg.host}: {exc.reason or exc}") from None
        except aiosmtplib.SMTPConnectError as exc:
            smtp.close()
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "SSL" in str(exc):
                raise SendError("fatal", None, f"TLS failure with {cfg.host}: {exc}") from None
            raise SendError("connection", None, f"cannot connect to {cfg.host}:{cfg.port}: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            kind = "connection" if 400 <= exc.code < 500 else "fatal"
            raise SendError(kind, exc.code, exc.message) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            smtp.close()
            raise SendError("connection", None, f"connection to {cfg.host}:{cfg.port} failed: {exc}") from None
        except aiosmtplib.SMTPException as exc:
            # e.g. "SMTP STARTTLS extension not supported by server": never continue in plaintext
            smtp.close()
            raise SendError("fatal", None, f"{cfg.host}: {exc}") from None
        self._smtp = smtp

    async def send(self, sender: str, recipient: str, data: bytes, *, smtputf8: bool = False) -> Reply:
        if self._smtp is None or not self._smtp.is_connected:
            await self.open()
        smtp = self._smtp
        assert smtp is not None
        phase = "mail"
        try:
            opts = ["SMTPUTF8"] if smtputf8 else []
            if smtputf8 and not smtp.supports_extension("smtputf8"):
                raise SendError("recipient", 553, "5.6.7 the server does not support SMTPUTF8, "
                                                  "which this address needs")
            await smtp.mail(sender, options=opts)
            phase = "rcpt"
            await smtp.rcpt(recipient)
            phase = "data"
            resp = await smtp.data(data, timeout=self.cfg.data_timeout)
            return Reply(resp.code, resp.message)
        except SendError:
            await self._reset()
            raise
        except aiosmtplib.SMTPRecipientRefused as exc:
            await self._reset()
            raise _by_code(exc.code, exc.message, "recipient") from None
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._after_error(exc.code)
            if exc.code == 421 or 400 <= exc.code < 500:
                raise SendError("connection", exc.code, exc.message) from None
            raise SendError("fatal", exc.code, f"sender <{sender}> refused: {exc.message}") from None
        except aiosmtplib.SMTPDataError as exc:
            await self._after_error(exc.code)
            raise _by_code(exc.code, exc.message, "recipient") from None
        except aiosmtplib.SMTPResponseException as exc:
            await self._after_error(exc.code)
            raise _by_code(exc.code, exc.message, "recipient") from None
        except (TimeoutError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, OSError) as exc:
            self._drop()
            if phase == "data":
                raise SendError("ambiguous", None, f"connection lost during DATA: {exc}") from None
            raise SendError("connection", None, f"connection lost: {exc}") from None
        except aiosmtplib.SMTPNotSupported as exc:
            await self._reset()
            raise SendError("recipient", 553, f"5.6.7 {exc}") from None

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


def _by_code(code: int, text: str, kind: str) -> SendError:
    if code == 421:
        return SendError("connection", code, text)
    return SendError(kind, code, text)


def classify(err: SendError) -> str:
    """What a refusal means for the recipient, by reply code and enhanced status code:
    deferred (retry later) | bounce (failed, address suppressed) | failed (this message only) |
    policy (5.7.x: not the address's fault; counts towards the circuit breaker) |
    too_large (every message would fail: stop the run)."""
    code, text = err.code or 0, err.text.strip()
    first = text.split(" ", 1)[0]
    enhanced = first if len(first) >= 5 and first[0] in "245" and first[1] == "." else ""
    if enhanced.startswith("5.7."):
        return "policy"
    if enhanced == "5.3.4":
        return "too_large"
    if 400 <= code < 500 or enhanced.startswith("4.") or enhanced == "5.2.2":
        return "deferred"
    if enhanced.startswith("5.1.") or (code in (550, 551, 553) and not enhanced):
        return "bounce"
    if 500 <= code < 600:
        return "failed"
    return "deferred"
