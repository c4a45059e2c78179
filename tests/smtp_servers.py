"""Real SMTP peers for the tests: an aiosmtpd server with scripted replies, and a raw asyncio
server for faults aiosmtpd cannot produce (silence, resets around the final dot, no STARTTLS)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import struct
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Scripted:
    """aiosmtpd handler. `rcpt` / `data` / `mail` map an address (or '*') to a list of replies
    used one per attempt ('250' = accept); `mail_nth` answers the Nth MAIL FROM with a reply.
    `reply_delay` seconds pass before each reply to MAIL and RCPT, `delay` before the reply to
    the end of the message, `ehlo_delay` before the reply to EHLO, `hold` after the message
    was recorded and before that reply."""

    rcpt: dict[str, list[str]] = field(default_factory=dict)
    data: dict[str, list[str]] = field(default_factory=dict)
    mail_nth: dict[int, str] = field(default_factory=dict)
    pipelining: bool = False  # say PIPELINING in EHLO (aiosmtpd reads commands in order, so it can)
    delay: float = 0.0
    reply_delay: float = 0.0
    ehlo_delay: float = 0.0
    hold: float = 0.0  # seconds the reply to the end of a message is held after it was recorded
    hold_only: str = ""  # if set, only this recipient's reply is held
    received: list[tuple[str, bytes]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    mail_options: list[list[str]] = field(default_factory=list)  # the parameters of each MAIL FROM
    lock: threading.Lock = field(default_factory=threading.Lock)
    mails: int = 0

    def _next(self, table: dict[str, list[str]], addr: str) -> str:
        with self.lock:
            for key in (addr, "*"):
                if table.get(key):
                    return table[key].pop(0)
        return "250 OK"

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self.ehlo_delay:
            await asyncio.sleep(self.ehlo_delay)
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        with self.lock:
            self.mails += 1
            n = self.mails
            self.commands.append(f"MAIL {address}")
            self.mail_options.append(list(options))
        if n in self.mail_nth:
            return self.mail_nth[n]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        reply = self._next(self.rcpt, address)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        rcpt = envelope.rcpt_tos[0]
        reply = self._next(self.data, rcpt)
        if reply.startswith("250"):
            with self.lock:
                self.received.append((rcpt, envelope.original_content or envelope.content))
            if self.hold and self.hold_only in ("", rcpt):
                await asyncio.sleep(self.hold)
        return reply

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(r for r, _ in self.received)

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [email.message_from_bytes(b, policy=email.policy.default) for _, b in self.received]  # type: ignore[misc]


class _Auth:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.user and \
            auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


def start_aiosmtpd(handler: Scripted, *, tls: ssl.SSLContext | None = None,
                   auth: tuple[str, str] | None = None, smtputf8: bool = True,
                   size_limit: int | None = None) -> Controller:
    """Start a real aiosmtpd server on loopback (STARTTLS required with `tls`, AUTH with
    `auth`, SMTPUTF8 offered unless `smtputf8` is false, EHLO's SIZE keyword with `size_limit`)."""
    kwargs: dict[str, Any] = {}
    if size_limit is not None:
        kwargs.update(data_size_limit=size_limit)
    if tls is not None:
        kwargs.update(tls_context=tls, require_starttls=True)
    if auth is not None:
        kwargs.update(authenticator=_Auth(*auth), auth_required=True, auth_require_tls=True)
    c = Controller(handler, hostname="127.0.0.1", port=free_port(), decode_data=False,
                   enable_SMTPUTF8=smtputf8, server_hostname="localhost", ready_timeout=10, **kwargs)
    c.start()
    return c


class FaultServer:
    """A raw SMTP server on its own thread. `mode` picks the fault:
    - "" (none): a plain, working server (for the options below)
    - "no-starttls": EHLO advertises AUTH but not STARTTLS (records every line it receives)
    - "silent-after-mail": stops answering after MAIL FROM
    - "reset-at-data": closes the connection when DATA arrives (before its 354)
    - "reset-before-dot": reads part of the message, then closes
    - "stall-mid-message": reads 2 KB of the message, stops reading (a small receive buffer),
      then resets the connection: a message larger than the socket buffers cannot have been
      sent to its end
    - "reset-after-dot": reads the whole message, then closes without a reply
    - "silent-after-dot": reads the message and never answers
    - "garbage": answers RCPT with an out-of-range code
    `faults`: only the first N transactions meet the fault, later ones are served normally.
    `max_connections`: a further connection is greeted with `421 4.7.0 too many connections`.
    `outage`: (after N messages, for S seconds) the server goes away (listener closed, every
    connection reset) and comes back on the same port.
    """

    def __init__(self, mode: str = "", *, faults: int | None = None, max_connections: int | None = None,
                 outage: tuple[int, float] | None = None) -> None:
        self.mode = mode
        self.faults = faults
        self.max_connections = max_connections
        self.outage = outage
        self.port = free_port()
        self.lines: list[bytes] = []
        self.messages = 0
        self.transactions = 0
        self.refused = 0  # connections greeted with 421
        self.most = 0  # most connections open at once
        self.outages = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    async def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.mode == "stall-mid-message":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind(("127.0.0.1", self.port))
        self._server = await asyncio.start_server(self._client, sock=sock)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            await self._listen()
            self._ready.set()
            await asyncio.Event().wait()

        try:
            self._loop.run_until_complete(main())
        except (asyncio.CancelledError, RuntimeError):
            pass

    async def _go_away(self, seconds: float) -> None:
        self.outages += 1
        self._server.close()
        for w in list(self._open):
            w.transport.abort()
        await asyncio.sleep(seconds)
        await self._listen()

    def _faulty(self) -> bool:
        return bool(self.mode) and (self.faults is None or self.transactions <= self.faults)

    async def _client(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            if self.max_connections is not None and len(self._open) >= self.max_connections:
                self.refused += 1
                w.write(b"421 4.7.0 fault.example.org too many connections from your address\r\n")
                await w.drain()
                return
            self._open.add(w)
            self.most = max(self.most, len(self._open))
            w.write(b"220 fault.example.org ESMTP\r\n")
            await w.drain()
            while line := await r.readline():
                self.lines.append(line)
                if not await self._command(line, r, w):
                    break
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._open.discard(w)
            w.close()

    async def _command(self, line: bytes, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        cmd = line[:4].upper()
        if cmd in (b"EHLO", b"HELO"):
            ext = b"250-fault.example.org\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            w.write(ext if self.mode == "no-starttls" else b"250-fault.example.org\r\n250 8BITMIME\r\n")
        elif cmd == b"MAIL":
            self.transactions += 1
            if self.mode == "silent-after-mail" and self._faulty():
                await asyncio.sleep(3600)
            w.write(b"250 OK\r\n")
        elif cmd == b"RCPT":
            w.write(b"999 what\r\n" if self.mode == "garbage" and self._faulty() else b"250 OK\r\n")
        elif cmd == b"DATA":
            return await self._data(r, w)
        elif cmd == b"RSET" or cmd == b"NOOP":
            w.write(b"250 OK\r\n")
        elif cmd == b"QUIT":
            w.write(b"221 bye\r\n")
            await w.drain()
            return False
        else:
            w.write(b"502 not implemented\r\n")
        return True

    async def _data(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        faulty = self._faulty()
        if faulty and self.mode == "reset-at-data":
            w.transport.abort()
            return False
        w.write(b"354 go ahead\r\n")
        await w.drain()
        if faulty and self.mode == "reset-before-dot":
            await r.read(100)
            w.transport.abort()
            return False
        if faulty and self.mode == "stall-mid-message":
            await r.readexactly(2048)
            w.transport.pause_reading()
            await asyncio.sleep(0.3)
            w.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
            w.transport.abort()
            return False
        while (chunk := await r.readline()) and chunk != b".\r\n":
            pass
        self.messages += 1
        if faulty and self.mode == "reset-after-dot":
            w.transport.abort()
            return False
        if faulty and self.mode == "silent-after-dot":
            await asyncio.sleep(3600)
        w.write(b"250 queued\r\n")
        if self.outage and self.messages == self.outage[0]:
            await w.drain()
            asyncio.ensure_future(self._go_away(self.outage[1]))
        return True

    def stop(self) -> None:
        def _close() -> None:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()

        self._loop.call_soon_threadsafe(_close)
        self._thread.join(5)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def by_recipient(items: list[tuple[str, bytes]]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for rcpt, _ in items:
        out[rcpt] += 1
    return out
