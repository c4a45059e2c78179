"""One message of the outbox taken apart for reading: its headers decoded (RFC 2047 words,
display names), the text part, the HTML part and every link in it."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from html.parser import HTMLParser

from ...mail.compose import parts


@dataclass(frozen=True)
class Link:
    """One <a href> of the HTML part: its text (whitespace collapsed) and its target."""

    text: str
    href: str


@dataclass
class Letter:
    """An outbox message for reading: headers decoded (in order) and as sent, both parts, links."""

    subject: str
    headers: list[tuple[str, str]]  # decoded, in order
    raw_headers: str
    html: str
    text: str
    links: list[Link] = field(default_factory=list)


class _Links(HTMLParser):
    """Every <a href> with its text, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open.append((dict(attrs).get("href") or "", []))

    def handle_data(self, data: str) -> None:
        for _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            href, text = self._open.pop()
            if href:
                self.links.append(Link(" ".join("".join(text).split()), href))


def read_letter(raw: bytes) -> Letter:
    """The message as the preview's outbox page shows it."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers = [(name, " ".join(str(value).split())) for name, value in msg.items()]
    raw_headers = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").replace("\r\n", "\n")
    html, text = parts(raw)
    finder = _Links()
    finder.feed(html)
    finder.close()
    return Letter(str(msg.get("Subject", "(no subject)")), headers, raw_headers, html, text, finder.links)
