"""A raw SMTP server that advertises PIPELINING (RFC 2920) and answers like a real one: every
command in a TCP read is processed before the replies are written, and the replies can be
merged into one write or split byte by byte across many (to test a client's reply parsing), or
scripted into faults aiosmtpd cannot produce."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from .smtp_servers import free_port

GREETING = b"220 pipe.example.org ESMTP\r\n"


@dataclass
class Script:
    """Replies by command and recipient: `rcpt` / `dot` map an address (or '*') to replies used
    one per attempt; `mail_nth` answers the Nth MAIL FROM. A reply of "close" drops the
    connection without answering; a 421 reply is written and then the connection is closed.
    `data_without_rcpt`: the reply to DATA when no recipient was accepted ("354" is what a
    lenient server says; the client must then send a lone dot). A scripted reply is written as
    it is, so "250 OK\r\n550 5.1.1 stray" adds a reply nobody asked for, and "junk\r\n250 OK"
    a line that is no reply; a message counts as taken when any line of its reply is 2yz."""

    rcpt: dict[str, list[str]] = field(default_factory=dict)
    dot: dict[str, list[str]] = field(default_factory=dict)
    mail_nth: dict[int, str] = field(default_factory=dict)
    data_without_rcpt: str = "554 5.5.1 Error: no valid recipients"
    early_reply_after: int = 0  # bytes of content after which "552 ..." is sent and the line closed
    inject_in_data: dict[str, str] = field(default_factory=dict)  # a reply written mid-upload, by recipient
    drop_early_input: bool = False  # says PIPELINING, yet throws away commands after the first of a read


class PipeliningServer:
    """`split`: "merge" (all replies of a read in one write), "bytes" (one byte per write) or
    "lines" (one line per write), with a short pause between writes. Records `commands` (every
    command line), `messages` (recipient, content with dots unstuffed), `lone_dots` (DATA ended
    with no content) and `flushes` (reply writes: one per client round trip)."""

    def __init__(self, script: Script | None = None, *, split: str = "merge", pipelining: bool = True) -> None:
        self.script, self.split, self.pipelining = script or Script(), split, pipelining
        self.port = free_port()
        self.commands: list[str] = []
        self.messages: list[tuple[str, bytes]] = []
        self.lone_dots = 0
        self.flushes = 0
        self.batched = 0  # reads that held more than one command (a client pipelining)
        self.mails = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._server = await self._loop.create_server(lambda: _Session(self), "127.0.0.1", self.port)
            self._ready.set()
            async with self._server:
                await self._server.serve_forever()

        try:
            self._loop.run_until_complete(main())
        except (asyncio.CancelledError, RuntimeError):
            pass

    def next_reply(self, table: dict[str, list[str]], addr: str, default: str) -> str:
        for key in (addr, "*"):
            if table.get(key):
                return table[key].pop(0)
        return default

    def stop(self) -> None:
        def _close() -> None:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()

        self._loop.call_soon_threadsafe(_close)
        self._thread.join(5)


class _Session(asyncio.Protocol):
    def __init__(self, server: PipeliningServer) -> None:
        self.s = server
        self.buf = b""
        self.data: list[bytes] | None = None  # message lines while in DATA
        self.size = 0
        self.sender: str | None = None
        self.rcpts: list[str] = []
        self.out: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t: asyncio.Transport = transport  # type: ignore[assignment]
        self.writer = asyncio.get_running_loop().create_task(self._write_loop())
        self.out.put_nowait(GREETING)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.writer:
            self.writer.cancel()

    async def _write_loop(self) -> None:
        while (chunk := await self.out.get()) is not None:
            if self.s.split == "merge":
                pieces = [chunk]
            elif self.s.split == "bytes":
                pieces = [chunk[i:i + 1] for i in range(len(chunk))]
            else:
                pieces = chunk.splitlines(keepends=True)
            for piece in pieces:
                if self.t.is_closing():
                    return
                self.t.write(piece)
                if len(pieces) > 1:
                    await asyncio.sleep(0.0005)
        self.t.close()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        *lines, self.buf = (self.buf + data).split(b"\n")
        if self.s.script.drop_early_input and self.data is None:
            lines, self.buf = lines[:1], b""
        replies: list[bytes] = []
        for line in lines:
            if self.closing:
                break
            reply = self._line(line + b"\n")
            if reply == "close":
                self.closing = True
            elif reply:
                replies.append(reply.encode("utf-8", "surrogateescape") + b"\r\n")  # "\udcff": byte 0xff
                if reply.startswith("421"):
                    self.closing = True
        if len(replies) > 1:
            self.s.batched += 1
        if replies:
            self.s.flushes += 1
            self.out.put_nowait(b"".join(replies))
        if self.closing:
            self.out.put_nowait(None)

    def _line(self, line: bytes) -> str:
        if self.data is not None:
            return self._content(line)
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        self.s.commands.append(text)
        verb = text[:4].upper()
        if verb == "EHLO":
            ext = ["pipe.example.org", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]
            if self.s.pipelining:
                ext.insert(1, "PIPELINING")
            return "\r\n".join(f"250{'-' if i < len(ext) - 1 else ' '}{e}" for i, e in enumerate(ext))
        if verb == "HELO" or verb == "NOOP":
            return "250 2.0.0 OK"
        if verb == "MAIL":
            self.s.mails += 1
            if self.sender is not None:
                return "503 5.5.1 Error: nested MAIL command"
            reply = self.s.script.mail_nth.get(self.s.mails, "250 2.1.0 OK")
            if reply.startswith("250"):
                self.sender = text[10:].split(">")[0].lstrip("<")
            return reply
        if verb == "RCPT":
            if self.sender is None:
                return "503 5.5.1 Error: need MAIL command"
            addr = text[8:].split(">")[0].lstrip("<")
            reply = self.s.next_reply(self.s.script.rcpt, addr, "250 2.1.5 OK")
            if reply.startswith("25"):
                self.rcpts.append(addr)
            return reply
        if verb == "DATA":
            if self.sender is None:
                return "503 5.5.1 Error: need RCPT command"
            if not self.rcpts:
                reply = self.s.script.data_without_rcpt
                if not reply.startswith("354"):
                    return reply
            self.data, self.size = [], 0
            return "354 End data with <CR><LF>.<CR><LF>"
        if verb == "RSET":
            self.sender, self.rcpts = None, []
            return "250 2.0.0 OK"
        if verb == "QUIT":
            self.closing = True
            self.out.put_nowait(b"221 2.0.0 Bye\r\n")
            return ""
        return "502 5.5.2 Error: command not recognized"

    def _content(self, line: bytes) -> str:
        assert self.data is not None
        if line == b".\r\n":
            lines, self.data = self.data, None
            rcpts, self.sender, self.rcpts = self.rcpts, None, []
            if not rcpts:
                self.s.lone_dots += 1
                return "554 5.5.1 Error: no valid recipients"
            reply = self.s.next_reply(self.s.script.dot, rcpts[0], "250 2.0.0 Ok: queued")
            if any(line.startswith("2") for line in reply.split("\r\n")):  # it took the message
                self.s.messages.append((rcpts[0], b"".join(lines)))
            return reply
        if self.size == 0 and self.rcpts and self.rcpts[0] in self.s.script.inject_in_data:
            self.out.put_nowait(self.s.script.inject_in_data[self.rcpts[0]].encode() + b"\r\n")
        self.size += len(line)
        if self.s.script.early_reply_after and self.size > self.s.script.early_reply_after:
            self.data, self.closing = None, True
            return "552 5.3.4 Error: message file too big"
        self.data.append(line[1:] if line.startswith(b".") else line)
        return ""
