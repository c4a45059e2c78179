"""HTML of the preview pages (jinja2 templates in `web/templates/preview/`, autoescaped). Works
without JavaScript; preview.js adds live reload, tabs without a round trip and an instant
variant picker on top.

Regions marked `data-swap` are replaced whole on a live update; iframes marked `data-frame`
only get a new `srcdoc` when the message changed, so they keep their place and do not blink.
"""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any
from urllib.parse import quote, urlencode

from ..pages import environment
from .letter import Letter
from .outbox import Outbox
from .problems import Located
from .views import IndexEntry, IssueView

_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)

_ENV = environment("preview", trim_blocks=True, lstrip_blocks=True)
_ENV.filters["urlencode"] = lambda s: quote(str(s), safe="")
_ENV.filters["urlencode_query"] = lambda d: urlencode({k: v for k, v in d.items() if v})


def frame_document(html: str) -> str:
    """The message HTML for a sandboxed frame: links open a new tab instead of the frame."""
    base = '<base target="_blank">'
    m = _HEAD.search(html)
    return html[:m.end()] + base + html[m.end():] if m else base + html


def _render(name: str, **context: Any) -> str:
    return _ENV.get_template(name).render(**context)


def index_page(entries: list[IndexEntry], problems: list[Located], version: str) -> str:
    return _render("index.html", title="Issues", page="index", version=version, entries=entries,
                   problems=problems)


def issue_page(v: IssueView, *, tab: str, view: str, sent: str = "") -> str:
    query = urlencode(v.variant.query())

    def self_url(**change: str) -> str:
        params = {"tab": tab, "view": view} | change
        return f"/issue/{v.name}?{urlencode(v.variant.query() + list(params.items()))}"

    lines = v.raw.decode("utf-8", "replace").split("\r\n") if v.raw else []
    if lines and lines[-1] == "":
        lines.pop()
    title = v.issue.month_label if v.issue else v.name
    return _render("issue.html", title=title, page="issue", version=v.version, v=v, tab=tab, view=view,
                   query=query, self_url=self_url, lines=lines, sent=sent,
                   subject=_subject(v.raw), sender=_header(v.raw, "From"), nsel=len(v.selection),
                   frame_html=frame_document(v.html) if v.html else "")


def outbox_page(box: Outbox, version: str, page_size: int, done: str = "") -> str:
    """The outbox: search, "[TEST] only", one page of messages, paging, the clear link."""
    def url(**change: object) -> str:
        params = {"q": box.query, "test": "1" if box.test_only else "", "from": box.offset} | change
        return "/outbox/?" + urlencode({k: v for k, v in params.items() if v not in ("", 0, None)})

    filt = urlencode({k: v for k, v in {"q": box.query, "test": "1" if box.test_only else ""}.items() if v})
    return _render("outbox.html", title="Outbox", page="outbox", version=version, box=box, url=url,
                   page_size=page_size, done=done, filter_query=filt)


def clear_page(box: Outbox, version: str) -> str:
    """The confirmation step before messages are deleted from the outbox."""
    return _render("clear.html", title="Clear the outbox?", page="clear", version=version, box=box)


def letter_page(key: str, letter: Letter, size: int, version: str) -> str:
    """One outbox message: decoded headers, the HTML part, the text part and its links."""
    return _render("letter.html", title=letter.subject, page="letter", version=version, key=key, m=letter,
                   size=size, frame_html=frame_document(letter.html) if letter.html else "")


def missing_page(message: str, version: str) -> str:
    return _render("missing.html", title="Not found", page="missing", version=version, message=message)


def _header(raw: bytes, name: str) -> str:
    """One header, decoded, as a mail client shows it."""
    if not raw:
        return ""
    head = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n",
                                    policy=email.policy.default)
    return str(head.get(name, ""))


def _subject(raw: bytes) -> str:
    return _header(raw, "Subject")
