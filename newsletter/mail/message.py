"""Rendered variant + recipient → RFC 5322 bytes.

A variant's parts are quoted-printable encoded once, with each per-recipient marker kept on a
line of its own between soft line breaks; building a recipient's message is then a join of
pre-encoded chunks and a few short encoded values. `build_with_email_package` is the
straightforward `EmailMessage` path, kept as the reference that tests compare against.
"""

from __future__ import annotations

import binascii
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr

from ..content.addresses import Mailbox
from ..content.config import Settings
from . import headerfields, wording
from .plaintext import wrap
from .render import GREETING, PREFERENCES_URL, TOPICS, UNSUBSCRIBE_URL, WIDTH, Rendered
from .tokens import TokenKeys

_CRLF = b"\r\n"
_SOFT = b"=\r\n"
_SLOT = re.compile(r"(__NL_[A-Z_]+__)")
_TOPICS_CACHE = 256  # distinct footer lines kept per variant (each under 1 KB)


@dataclass(frozen=True, slots=True)  # one per subscriber in a send: kept small
class Recipient:
    email: str
    name: str
    topics: frozenset[str] | None
    sid: str
    smtputf8: bool = False


@dataclass(frozen=True)
class Personal:
    """The per-recipient values that fill the markers."""

    greeting: str
    topics: str
    unsubscribe_url: str
    preferences_url: str
    list_unsubscribe: str


def personal_values(settings: Settings, keys: TokenKeys, r: Recipient) -> Personal:
    unsub = f"{settings.base_url}/u/{keys.sign(r.sid, 'u')}"
    prefs = f"{settings.base_url}/p/{keys.sign(r.sid, 'p')}"
    if r.topics is None:
        topics = "You receive every article."
    else:
        labels = settings.taxonomy.labels
        topics = "You receive articles on: " + ", ".join(labels[t] for t in settings.taxonomy.order(r.topics)) + "."
    lu = f"<{unsub}>"
    if settings.unsubscribe_mailto:
        token = unsub.rsplit("/", 1)[1]
        lu += f",\r\n <mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20{token}>"
    return Personal(wording.greeting(r.name), topics, unsub, prefs, lu)


def text_greeting(greeting: str) -> str:
    """The greeting as the text part holds it: a paragraph of its own (the blank line before
    it included), or nothing at all."""
    return f"\n{greeting}\n" if greeting else ""


def _text_values(p: Personal) -> dict[str, str]:
    return {GREETING: text_greeting(p.greeting), TOPICS: "\n".join(wrap(p.topics, WIDTH)),
            UNSUBSCRIBE_URL: p.unsubscribe_url, PREFERENCES_URL: p.preferences_url}


def _html_values(p: Personal) -> dict[str, str]:
    return {GREETING: html.escape(p.greeting), TOPICS: html.escape(p.topics),
            UNSUBSCRIBE_URL: html.escape(p.unsubscribe_url), PREFERENCES_URL: html.escape(p.preferences_url)}


def fill(text: str, values: dict[str, str]) -> str:
    return _SLOT.sub(lambda m: values[m.group(1)], text)


# -- quoted-printable with slots -------------------------------------------------------------------
def _qp(data: str) -> bytes:
    enc = binascii.b2a_qp(data.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return _escape_from(_close_last_line(enc.replace(b"\n", _CRLF)))


def quoted_printable(data: str) -> bytes:
    """`data` as UTF-8 quoted-printable (RFC 2045 §6.7): CRLF lines of at most 76 characters,
    a line starting `From ` written `=46rom ` (so mbox storage cannot alter it)."""
    return _qp(data)


def _escape_from(enc: bytes) -> bytes:
    """Encode the F of an encoded line starting `From ` as =46: mbox storage would otherwise
    turn the line into `>From ` (RFC 4155), changing the text and breaking DKIM."""
    if b"From " not in enc:
        return enc
    lines = enc.split(_CRLF)
    out = []
    for line in lines:
        while line.startswith(b"From "):
            line = b"=46" + line[1:]
            if len(line) <= 76:
                break
            cut = 75
            while b"=" in line[cut - 2:cut]:  # never split an =XX escape
                cut -= 1
            out.append(line[:cut] + b"=")
            line = line[cut:]
        out.append(line)
    return _CRLF.join(out)


def _close_last_line(enc: bytes) -> bytes:
    """Make room for a trailing '=' soft break: the last line must stay under 76 characters."""
    start = enc.rfind(b"\n") + 1
    last = enc[start:]
    if len(last) <= 75:
        return enc
    cut = 75
    while b"=" in last[cut - 2:cut]:  # never split an =XX escape
        cut -= 1
    return enc[: start + cut] + _SOFT + enc[start + cut:]


def _encode_with_slots(body: str) -> list[bytes | str]:
    """QP-encode `body`; markers stay as str items, each to be replaced by an encoded value."""
    out: list[bytes | str] = []
    for i, piece in enumerate(_SLOT.split(body)):
        if i % 2:
            out.append(piece)
        elif piece:
            out.append(_qp(piece) + _SOFT)
    if out and isinstance(out[-1], bytes):
        out[-1] = out[-1][: -len(_SOFT)]
    return out


def _encode_values(values: dict[str, str]) -> dict[str, bytes]:
    return {k: _qp(v) + _SOFT for k, v in values.items()}


# -- the compiled variant --------------------------------------------------------------------------
@dataclass
class CompiledVariant:
    rendered: Rendered
    head: bytes  # From, Reply-To, Subject
    date: str  # the Date header's value unless `build` is given another
    tail: bytes  # MIME-Version, List-Id, List-Unsubscribe-Post, Precedence
    mime_head: bytes  # Content-Type of the multipart and the blank line
    text_chunks: list[bytes | str]
    html_chunks: list[bytes | str]
    boundary: bytes
    domain: str
    campaign: str
    settings: Settings
    keys: TokenKeys
    _topics: dict[str, tuple[bytes, bytes]] = field(default_factory=dict, repr=False)

    def _topics_line(self, topics: str) -> tuple[bytes, bytes]:
        """The encoded footer line (text, HTML); readers share few topic sets, so it is cached."""
        enc = self._topics.get(topics)
        if enc is None:
            enc = (_qp("\n".join(wrap(topics, WIDTH))) + _SOFT, _qp(html.escape(topics)) + _SOFT)
            if len(self._topics) < _TOPICS_CACHE:
                self._topics[topics] = enc
        return enc

    def message_id(self, sid: str) -> str:
        return f"<{self.campaign}.{sid}@{self.domain}>"

    def build(self, r: Recipient, message_id: str | None = None, date: str | None = None) -> bytes:
        """The message for `r`. `date` (RFC 5322 date-time) is stamped when the message is
        handed over; a resend of an `unknown` message passes the stored one (same bytes)."""
        p = personal_values(self.settings, self.keys, r)
        text_topics, html_topics = self._topics_line(p.topics)
        greeting, unsub, prefs = p.greeting, p.unsubscribe_url, p.preferences_url
        text_vals = {GREETING: _qp(text_greeting(greeting)) + _SOFT, TOPICS: text_topics,
                     UNSUBSCRIBE_URL: _qp(unsub) + _SOFT, PREFERENCES_URL: _qp(prefs) + _SOFT}
        html_vals = {GREETING: _qp(html.escape(greeting)) + _SOFT, TOPICS: html_topics,
                     UNSUBSCRIBE_URL: _qp(html.escape(unsub)) + _SOFT,
                     PREFERENCES_URL: _qp(html.escape(prefs)) + _SOFT}
        to = _to_header(r)
        mid = message_id or self.message_id(r.sid)
        b = self.boundary
        parts = [
            self.head, b"Date: ", (date or self.date).encode(), _CRLF, self.tail, to, b"Message-ID: ", mid.encode(), _CRLF,
            b"List-Unsubscribe: ", p.list_unsubscribe.encode(), _CRLF,
            self.mime_head,
            b"--", b, _CRLF, b'Content-Type: text/plain; charset="utf-8"', _CRLF,
            b"Content-Transfer-Encoding: quoted-printable", _CRLF, _CRLF,
            *[c if isinstance(c, bytes) else text_vals[c] for c in self.text_chunks], _CRLF,
            b"--", b, _CRLF, b'Content-Type: text/html; charset="utf-8"', _CRLF,
            b"Content-Transfer-Encoding: quoted-printable", _CRLF, _CRLF,
            *[c if isinstance(c, bytes) else html_vals[c] for c in self.html_chunks], _CRLF,
            b"--", b, b"--", _CRLF,
        ]
        return b"".join(parts)


def _to_header(r: Recipient) -> bytes:
    return headerfields.mailbox("To", r.name, r.email)


def _utf8_mailbox(name: str, addr: str) -> str:
    if re.search(r'[()<>@,;:\\".\[\]]', name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def header_lines(settings: Settings, subject: str, date: str) -> bytes:
    head, tail = _header_parts(settings, subject)
    return head + f"Date: {date}\r\n".encode() + tail


def _header_parts(settings: Settings, subject: str) -> tuple[bytes, bytes]:
    """The fixed headers before and after Date (which is stamped per message): From, Reply-To,
    Subject | MIME-Version, List-Id and the list headers. Raises content.headers.HeaderValueError
    for text no header may carry."""
    sender = settings.sender
    lines = [headerfields.mailbox("From", sender.name, sender.addr)]
    if settings.reply_to:
        lines.append(headerfields.mailbox("Reply-To", settings.reply_to.name, settings.reply_to.addr))
    lines.append(headerfields.unstructured("Subject", subject))
    tail = [
        b"MIME-Version: 1.0\r\n",
        headerfields.list_id(settings.name, settings.list_id),
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        b"Precedence: list\r\n",
    ]
    return b"".join(lines), b"".join(tail)


def _fmt(box: Mailbox) -> str:
    return formataddr((box.name, box.addr)) if box.name else box.addr


def compile_variant(settings: Settings, keys: TokenKeys, rendered: Rendered, *, campaign: str,
                    date: str, subject: str | None = None) -> CompiledVariant:
    head, tail = _header_parts(settings, subject or rendered.subject)
    digest = hashlib.sha256(rendered.html.encode() + rendered.text.encode()).hexdigest()[:24]
    boundary = f"=_nl_{digest}".encode()
    mime_head = b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n'
    return CompiledVariant(rendered, head, date, tail, mime_head, _encode_with_slots(rendered.text),
                           _encode_with_slots(rendered.html), boundary, settings.domain, campaign,
                           settings, keys)


# -- the reference path ----------------------------------------------------------------------------
def build_with_email_package(settings: Settings, keys: TokenKeys, rendered: Rendered, r: Recipient,
                             *, campaign: str, date: str) -> bytes:
    """Straightforward EmailMessage construction of the same message (slow; for tests/bench)."""
    p = personal_values(settings, keys, r)
    policy = email.policy.SMTPUTF8 if r.smtputf8 else email.policy.SMTP
    m = EmailMessage(policy=policy)
    m["From"] = _fmt(settings.sender)
    if settings.reply_to:
        m["Reply-To"] = _fmt(settings.reply_to)
    if r.smtputf8:
        m["To"] = _utf8_mailbox(r.name, r.email) if r.name else r.email
    else:
        m["To"] = Address(r.name, addr_spec=r.email)
    m["Subject"] = rendered.subject
    m["Date"] = date
    m["Message-ID"] = f"<{campaign}.{r.sid}@{settings.domain}>"
    m["List-Id"] = f"{settings.name} <{settings.list_id}>"
    m["List-Unsubscribe"] = p.list_unsubscribe.replace("\r\n", "")
    m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m["Precedence"] = "list"
    m.set_content(fill(rendered.text, _text_values(p)), cte="quoted-printable")
    m.add_alternative(fill(rendered.html, _html_values(p)), subtype="html", cte="quoted-printable")
    return m.as_bytes()
