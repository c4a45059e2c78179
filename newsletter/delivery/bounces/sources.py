"""The bounce mailbox: IMAP over TLS (imapclient), POP3 over TLS (poplib), or a local Maildir or
mbox. Never plaintext; certificates are verified (NEWSLETTER_BOUNCES_CA_FILE adds a private CA);
the user name and password come only from NEWSLETTER_BOUNCES_USER / NEWSLETTER_BOUNCES_PASSWORD.

Each source lists its messages with size and Message-ID (headers only), fetches one message,
and at the end marks (\\Seen plus the keyword NewsletterDone), moves or deletes the ones that
were processed; the rest get only the keyword where the server allows keywords, so they are
not looked at again but stay unread for a person.
"""

from __future__ import annotations

import email.parser
import mailbox
import os
import poplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import imapclient
import imapclient.exceptions

from ...errors import NewsletterError, TransientError

USER_ENV, PASSWORD_ENV, CA_ENV = "NEWSLETTER_BOUNCES_USER", "NEWSLETTER_BOUNCES_PASSWORD", "NEWSLETTER_BOUNCES_CA_FILE"
KEYWORD = b"NewsletterDone"
TIMEOUT = 60.0
_CHUNK = 500


class MailboxError(NewsletterError):
    """The mailbox cannot be used as configured: address, TLS, login, folder (exit 4)."""

    exit_code = 4


@dataclass(frozen=True)
class Item:
    """One message: its reference in the mailbox, size in bytes, Message-ID ('' if none)."""

    ref: str
    size: int
    message_id: str


class Source(Protocol):
    description: str

    def open(self, *, readonly: bool) -> None: ...

    def items(self) -> list[Item]: ...

    def fetch(self, ref: str) -> bytes: ...

    def finish(self, done: list[str], looked: list[str], *, action: str, folder: str | None) -> None: ...

    def close(self) -> None: ...


def open_source(spec: str, root: Path, env: Mapping[str, str] = os.environ) -> Source:
    """The source named by `spec`: imaps://host[:port][/FOLDER], pop3s://host[:port], or a path
    (relative to the site) of a Maildir or an mbox file."""
    url = urlsplit(spec)
    secure = {"imap": "imaps", "pop3": "pop3s", "pop": "pop3s"}.get(url.scheme)
    if secure:
        raise MailboxError(f"{spec}: plaintext is never used; write {secure}://… (implicit TLS: "
                           "IMAP port 993, POP3 port 995)")
    if url.scheme in ("imaps", "pop3s"):
        if url.password is not None or url.username is not None:
            raise MailboxError(f"bounces.mailbox: no credentials in the address; set {USER_ENV} and {PASSWORD_ENV}")
        user, password = env.get(USER_ENV, ""), env.get(PASSWORD_ENV, "")
        if not user or not password:
            raise MailboxError(f"reading {url.scheme}://{url.hostname} needs {USER_ENV} and {PASSWORD_ENV} "
                               "in the environment")
        if not url.hostname:
            raise MailboxError(f"{spec}: no host name")
        ctx = ssl.create_default_context()
        ca = env.get(CA_ENV)
        if ca:
            try:
                ctx.load_verify_locations(ca)
            except (OSError, ssl.SSLError) as exc:
                raise MailboxError(f"{CA_ENV}={ca}: cannot load: {exc}") from None
        try:
            port = url.port
        except ValueError:
            raise MailboxError(f"{spec}: bad port") from None
        if url.scheme == "imaps":
            folder = unquote(url.path.lstrip("/")) or "INBOX"
            return IMAPSource(url.hostname, port or 993, folder, user, password, ctx)
        return POP3Source(url.hostname, port or 995, user, password, ctx)
    if url.scheme and len(url.scheme) > 1:
        raise MailboxError(f"{spec}: expected imaps://, pop3s:// or a Maildir/mbox path")
    path = (root / spec).resolve()
    if path.is_dir():
        if not all((path / d).is_dir() for d in ("cur", "new", "tmp")):
            raise MailboxError(f"{path}: a folder but not a Maildir (no cur/, new/, tmp/)")
        return LocalSource(mailbox.Maildir(path, create=False), f"Maildir {path}")
    if path.is_file():
        return LocalSource(mailbox.mbox(path, create=False), f"mbox {path}")
    raise MailboxError(f"{path}: no such Maildir or mbox file")


def _message_id(header_bytes: bytes) -> str:
    msg = email.parser.BytesHeaderParser().parsebytes(header_bytes)
    return " ".join(str(msg.get("Message-ID") or "").split())[:300]


class IMAPSource:
    def __init__(self, host: str, port: int, folder: str, user: str, password: str, ctx: ssl.SSLContext) -> None:
        self.host, self.port, self.folder, self.user, self._password, self.ctx = host, port, folder, user, password, ctx
        self.description = f"imaps://{host}:{port}/{folder}"
        self.c: imapclient.IMAPClient | None = None
        self.keywords = False

    def open(self, *, readonly: bool) -> None:
        try:
            c = imapclient.IMAPClient(self.host, port=self.port, ssl=True, ssl_context=self.ctx, timeout=TIMEOUT)
        except ssl.SSLError as exc:
            raise MailboxError(f"{self.description}: TLS failure: {exc.reason or exc}") from None
        except (TimeoutError, OSError) as exc:
            raise TransientError(f"{self.description}: cannot connect: {exc}") from None
        self.c = c
        try:
            c.login(self.user, self._password)
            info = c.select_folder(self.folder, readonly=readonly)
        except imapclient.exceptions.LoginError:
            raise MailboxError(f"{self.description}: login failed for {self.user}") from None
        except imapclient.exceptions.IMAPClientError as exc:
            raise MailboxError(f"{self.description}: {exc}") from None
        self.keywords = b"\\*" in info.get(b"PERMANENTFLAGS", ())

    def items(self) -> list[Item]:
        assert self.c is not None
        crit = ["NOT", "DELETED"] + (["NOT", "KEYWORD", KEYWORD.decode()] if self.keywords else [])
        uids = self.c.search(crit)
        out = []
        for i in range(0, len(uids), _CHUNK):
            got = self.c.fetch(uids[i:i + _CHUNK], ["RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for uid, data in sorted(got.items()):
                head = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
                out.append(Item(str(uid), int(data.get(b"RFC822.SIZE", 0)), _message_id(head or b"")))
        return out

    def fetch(self, ref: str) -> bytes:
        assert self.c is not None
        data = self.c.fetch([int(ref)], ["BODY.PEEK[]"]).get(int(ref), {})
        body = data.get(b"BODY[]")
        if not isinstance(body, bytes):
            raise MailboxError(f"{self.description}: message {ref} vanished while reading")
        return body

    def finish(self, done: list[str], looked: list[str], *, action: str, folder: str | None) -> None:
        assert self.c is not None
        done_ids, looked_ids = [int(r) for r in done], [int(r) for r in looked]
        if self.keywords and looked_ids:
            self.c.add_flags(looked_ids, [KEYWORD])
        if not done_ids:
            return
        if action == "delete":
            self.c.delete_messages(done_ids)
            self.c.uid_expunge(done_ids) if self.c.has_capability("UIDPLUS") else self.c.expunge()
        elif action == "move" and folder:
            if not self.c.folder_exists(folder):
                self.c.create_folder(folder)
            self.c.add_flags(done_ids, [imapclient.SEEN])
            self.c.move(done_ids, folder)
        else:
            self.c.add_flags(done_ids, [imapclient.SEEN])

    def close(self) -> None:
        if self.c is not None:
            try:
                self.c.logout()
            except (imapclient.exceptions.IMAPClientError, OSError):
                pass
            self.c = None


class POP3Source:
    def __init__(self, host: str, port: int, user: str, password: str, ctx: ssl.SSLContext) -> None:
        self.host, self.port, self.user, self._password, self.ctx = host, port, user, password, ctx
        self.description = f"pop3s://{host}:{port}"
        self.p: poplib.POP3_SSL | None = None

    def open(self, *, readonly: bool) -> None:
        try:
            self.p = poplib.POP3_SSL(self.host, self.port, timeout=TIMEOUT, context=self.ctx)
        except ssl.SSLError as exc:
            raise MailboxError(f"{self.description}: TLS failure: {exc.reason or exc}") from None
        except OSError as exc:
            raise TransientError(f"{self.description}: cannot connect: {exc}") from None
        try:
            self.p.user(self.user)
            self.p.pass_(self._password)
        except poplib.error_proto:
            raise MailboxError(f"{self.description}: login failed for {self.user}") from None

    def items(self) -> list[Item]:
        assert self.p is not None
        out = []
        for line in self.p.list()[1]:
            num, size = line.decode().split()[:2]
            head = b"\r\n".join(self.p.top(int(num), 0)[1])
            out.append(Item(num, int(size), _message_id(head)))
        return out

    def fetch(self, ref: str) -> bytes:
        assert self.p is not None
        return b"\r\n".join(self.p.retr(int(ref))[1]) + b"\r\n"

    def finish(self, done: list[str], looked: list[str], *, action: str, folder: str | None) -> None:
        assert self.p is not None
        if action == "delete":  # POP3 cannot flag or move: without --delete the ledger remembers
            for ref in done:
                self.p.dele(int(ref))

    def close(self) -> None:
        if self.p is not None:
            try:
                self.p.quit()  # commits the deletions (RFC 1939 UPDATE state)
            except (poplib.error_proto, OSError):
                pass
            self.p = None


class LocalSource:
    def __init__(self, box: mailbox.Maildir | mailbox.mbox, description: str) -> None:
        self.box, self.description = box, description

    def open(self, *, readonly: bool) -> None:
        if isinstance(self.box, mailbox.mbox) and not readonly:
            self.box.lock()

    def items(self) -> list[Item]:
        out = []
        for key in sorted(self.box.keys(), key=str):  # Maildir names start with the arrival time
            with self.box.get_file(key) as f:
                head = b"".join(_head_lines(f))
                size = len(head) + len(f.read())
            out.append(Item(key, size, _message_id(head)))
        return out

    def fetch(self, ref: str) -> bytes:
        return self.box.get_bytes(ref)

    def finish(self, done: list[str], looked: list[str], *, action: str, folder: str | None) -> None:
        for key in done:
            if action == "delete":
                self.box.remove(key)
                continue
            msg = self.box.get_message(key)
            if isinstance(msg, mailbox.MaildirMessage):
                msg.set_subdir("cur")
                msg.add_flag("S")
            elif isinstance(msg, mailbox.mboxMessage):
                msg.add_flag("RO")
            self.box[key] = msg
        self.box.flush()

    def close(self) -> None:
        if isinstance(self.box, mailbox.mbox):
            self.box.unlock()
        self.box.close()


def _head_lines(f: Iterable[bytes]) -> list[bytes]:
    lines = []
    for line in f:
        lines.append(line)
        if line in (b"\n", b"\r\n") or len(lines) > 2000:
            break
    return lines
