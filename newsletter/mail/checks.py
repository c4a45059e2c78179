"""Checks on a finished message: what must hold before anything is sent."""

from __future__ import annotations

import email
import email.message
import email.policy
from dataclasses import dataclass
from html.parser import HTMLParser

from .render import PLACEHOLDER_RE

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail hides the rest of a message behind "[Message clipped]"
CLIP_REFUSE_BYTES = 100 * 1024  # the HTML part as sent: refused from here...
CLIP_WARN_BYTES = 90 * 1024  # ...and warned about from here
MAX_LINE = 998


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    where: str = ""  # e.g. "html 1:2345" or "eml line 12"
    warning: bool = False  # passes, but close to failing (e.g. the HTML near Gmail's clip)

    def __str__(self) -> str:
        loc = f" ({self.where})" if self.where else ""
        mark = "FAIL" if not self.ok else "WARN" if self.warning else "ok  "
        return f"{mark} {self.name}: {self.message}{loc}"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, int, int]] = []
        self.images: list[tuple[str | None, int, int]] = []
        self.ids: set[str] = set()
        self.sources: list[tuple[str, int, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        line, col = self.getpos()
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "a" and "href" in a:
            self.links.append((a["href"] or "", line, col + 1))
        if tag == "img":
            self.images.append((a.get("alt"), line, col + 1))
            self.sources.append((a.get("src") or "", line, col + 1))

    handle_startendtag = handle_starttag


def html_size_as_sent(msg: email.message.Message) -> int:
    """Octets of the text/html part's body as it travels (quoted-printable, CRLF line ends),
    which is what Gmail's clip counts: every non-ASCII character costs 6 to 12 octets there."""
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=False)
            return len(payload.encode("ascii", "surrogateescape")) if isinstance(payload, str) else 0
    return 0


def _size_check(msg: email.message.Message, html: str) -> Check:
    size, decoded = html_size_as_sent(msg), len(html.encode())
    text = (f"{size / 1024:.1f} KB of HTML as sent ({decoded / 1024:.1f} KB decoded); Gmail clips at "
            f"about {GMAIL_CLIP_BYTES // 1024} KB, hiding the footer and its unsubscribe link")
    if size >= CLIP_REFUSE_BYTES:
        return Check("html size", False, f"{text}: shorten the issue below {CLIP_REFUSE_BYTES // 1024} KB")
    return Check("html size", True, text, warning=size >= CLIP_WARN_BYTES)


def check_message(raw: bytes, html: str, text: str) -> list[Check]:
    """Every rule for a finished message `raw` whose decoded parts are `html` and `text`."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = [_size_check(msg, html)]
    p = _Links()
    p.feed(html)
    bad = [(h, ln, c) for h, ln, c in p.links if not h.lower().startswith(("https://", "http://", "mailto:"))
           and not (h.startswith("#") and h[1:] in p.ids)]
    out.append(Check("links", not bad,
                     f"{len(p.links)} links, all absolute http(s) or to a place in the message" if not bad else
                     f"link {bad[0][0]!r} is neither an absolute http(s) URL nor the id of an element "
                     "of the message",
                     f"html {bad[0][1]}:{bad[0][2]}" if bad else ""))
    no_alt = [(ln, c) for alt, ln, c in p.images if alt is None]
    out.append(Check("image alt text", not no_alt,
                     f"{len(p.images)} images, all with alt text" if not no_alt else
                     f"{len(no_alt)} image(s) without alt text",
                     f"html {no_alt[0][0]}:{no_alt[0][1]}" if no_alt else ""))
    insecure = [(s, ln, c) for s, ln, c in p.sources if not s.startswith("https://")]
    out.append(Check("image addresses", not insecure,
                     f"{len(p.sources)} images, all over https" if not insecure else
                     f"image {insecure[0][0]!r} is not an https URL (mail clients block it)",
                     f"html {insecure[0][1]}:{insecure[0][2]}" if insecure else ""))
    lines = raw.split(b"\r\n")
    longest = max(range(len(lines)), key=lambda i: len(lines[i]))
    out.append(Check("line length", len(lines[longest]) <= MAX_LINE,
                     f"longest line of the message is {len(lines[longest])} octets (limit {MAX_LINE})",
                     f"eml line {longest + 1}"))
    left = [(m.group(), part) for part, body in (("html", html), ("text", text))
            for m in PLACEHOLDER_RE.finditer(body)]
    left += [(m.group(), "eml") for m in PLACEHOLDER_RE.finditer(raw.decode("utf-8", "replace"))]
    out.append(Check("placeholders", not left, "every placeholder filled" if not left else
                     f"placeholder {left[0][0]} left unfilled in the {left[0][1]} part"))
    lu = msg.get("List-Unsubscribe", "")
    lu_ok = str(lu).strip().startswith("<https://") and "=?" not in raw.split(b"\r\n\r\n", 1)[0].decode(
        "utf-8", "replace").split("List-Unsubscribe:", 1)[-1].split("\r\n", 1)[0]
    out.append(Check("list-unsubscribe", bool(lu_ok) and msg.get("List-Unsubscribe-Post") ==
                     "List-Unsubscribe=One-Click",
                     "one-click List-Unsubscribe with an https URL" if lu_ok else
                     "List-Unsubscribe must start with <https:// and carry List-Unsubscribe-Post"))
    footer_ok = ("/u/" in text) and ("/u/" in html)
    out.append(Check("unsubscribe link", footer_ok, "visible unsubscribe link in both parts"
                     if footer_ok else "the unsubscribe link is missing from a part"))
    return out


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


def warnings(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.ok and c.warning]
