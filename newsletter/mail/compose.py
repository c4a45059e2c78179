"""Glue for the commands: load everything once, render variants once, build messages."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from ..content.config import Settings, load_settings
from ..content.issue import Issue, load_issue
from ..content.subscribers import Subscriber
from ..content.variants import Selection, all_selections, select
from .checks import Check, check_message
from .message import CompiledVariant, Recipient, compile_variant
from .render import Rendered, Renderer
from .tokens import TokenKeys, load_keys

SAMPLE_SID = "sample000000"


def now_header() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


@dataclass
class Composer:
    settings: Settings
    renderer: Renderer
    keys: TokenKeys
    _rendered: dict[tuple[str, Selection], tuple[Issue, Rendered]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path | None = None, settings: Settings | None = None) -> Composer:
        settings = settings or load_settings(root)
        keys = load_keys(settings.list_id, settings.state_db.parent / "token-keys")
        return cls(settings, Renderer(settings), keys)

    def issue(self, path: Path | str) -> Issue:
        return load_issue(path, self.settings)

    def render(self, issue: Issue, selection: Selection | None = None) -> Rendered:
        sel = tuple(range(len(issue.articles))) if selection is None else selection
        key = (f"{issue.path}:{issue.month}:{id(issue)}", sel)
        cached = self._rendered.get(key)
        if cached is None or cached[0] is not issue:  # an id is reused once its object is gone
            cached = self._rendered[key] = (issue, self.renderer.render(issue, sel))
        return cached[1]

    def compile(self, issue: Issue, selection: Selection | None, *, campaign: str, date: str,
                subject: str | None = None) -> CompiledVariant:
        return compile_variant(self.settings, self.keys, self.render(issue, selection),
                               campaign=campaign, date=date, subject=subject)

    def selection_for(self, issue: Issue, topics: frozenset[str] | None) -> Selection:
        return select(issue, topics, self.settings.no_match)

    def sample(self, issue: Issue, topics: frozenset[str] | None = None, *, name: str = "Sample Reader",
               email: str = "reader@example.org") -> tuple[bytes, Rendered]:
        """A complete message for a made-up reader, as `render` and the preview show it."""
        sel = self.selection_for(issue, topics) or tuple(range(len(issue.articles)))
        cv = self.compile(issue, sel, campaign=issue.month, date=now_header())
        return cv.build(Recipient(email, name, topics, SAMPLE_SID)), cv.rendered

    def check_all_variants(self, issue: Issue) -> dict[Selection, list[Check]]:
        """Render every article subset (2^n - 1) and check a finished message of each."""
        out: dict[Selection, list[Check]] = {}
        date = now_header()
        for sel in all_selections(issue):
            cv = self.compile(issue, sel, campaign=issue.month, date=date)
            raw = cv.build(Recipient("reader@example.org", "Sample Reader", None, SAMPLE_SID))
            html, text = parts(raw)
            out[sel] = check_message(raw, html, text)
        return out

    def content_hash(self, issue: Issue) -> str:
        """What a campaign is bound to: every variant's finished parts and the fixed headers."""
        h = hashlib.sha256()
        for sel in all_selections(issue):
            r = self.render(issue, sel)
            h.update(repr(sel).encode() + r.subject.encode() + r.html.encode() + r.text.encode())
        s = self.settings
        h.update(f"{s.sender}|{s.reply_to}|{s.list_id}|{s.name}|{s.base_url}".encode())
        return h.hexdigest()


def recipient_of(sub: Subscriber, sid: str, topics: frozenset[str] | None) -> Recipient:
    return Recipient(sub.email, sub.name, topics, sid, sub.smtputf8)


def test_message_id(domain: str) -> str:
    return f"<test.{secrets.token_hex(8)}@{domain}>"


def parts(raw: bytes) -> tuple[str, str]:
    """The decoded (html, text) bodies of a finished message."""
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    html = text = ""
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
        elif part.get_content_type() == "text/plain":
            text = part.get_content()
    return html, text

