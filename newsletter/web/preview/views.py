"""What the preview pages show: plain records, filled by `preview_model`, read by `preview_pages`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...content.issue import Issue
from ...content.subscribers import Subscriber
from ...mail.checks import Check
from .outbox import Outbox
from .problems import Located


@dataclass(frozen=True)
class Variant:
    """Which copy to show: everything, a reader of some topics, or one subscriber's."""

    kind: str = "all"  # all | topics | subscriber
    topics: frozenset[str] = frozenset()
    subscriber: str = ""

    @classmethod
    def from_query(cls, kind: str | None, topics: list[str], subscriber: str | None) -> Variant:
        if kind not in ("all", "topics", "subscriber"):
            kind = "subscriber" if subscriber else "topics" if topics else "all"
        return cls(kind, frozenset(t for t in topics if t), (subscriber or "").strip())

    def query(self) -> list[tuple[str, str]]:
        out = [("variant", self.kind)]
        out += [("topic", t) for t in sorted(self.topics)]
        if self.subscriber:
            out.append(("sub", self.subscriber))
        return out


@dataclass(frozen=True)
class SendState:
    enabled: bool
    reason: str  # why the button is disabled, or where the message goes
    default_to: str


@dataclass
class IssueView:
    name: str
    version: str  # PreviewState.stamp when the files were read
    variant: Variant
    issue: Issue | None = None
    problems: list[Located] = field(default_factory=list)  # blocking: nothing to show
    warnings: list[Located] = field(default_factory=list)
    subscriber_count: int = 0
    chosen: Subscriber | None = None  # the subscriber whose copy this is ("as subscriber")
    subscriber_problems: list[Located] = field(default_factory=list)
    topic_choices: list[tuple[str, str]] = field(default_factory=list)
    reader: str = ""  # whose copy this is, in words
    notice: str = ""  # why there is no message for this variant
    raw: bytes = b""
    selection: tuple[int, ...] = ()
    html: str = ""
    text: str = ""
    checks: list[Check] = field(default_factory=list)
    send: SendState = SendState(False, "", "")
    outbox: Outbox | None = None
    stale: str = ""  # when the files are broken: the time of the last good render shown instead

    @property
    def headers(self) -> str:
        return self.raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").replace("\r\n", "\n")

    @property
    def filename(self) -> str:
        who = self.variant.subscriber.split("@")[0] if self.variant.kind == "subscriber" else ""
        who = re.sub(r"[^A-Za-z0-9._-]", "_", who) or ("topics" if self.variant.kind == "topics" else "")
        return f"{self.name}{'-' + who if who else ''}.eml"


@dataclass(frozen=True)
class IndexEntry:
    name: str
    label: str
    titles: tuple[str, ...]
    errors: int
    failed_checks: int
    warnings: int
    checked: bool = True  # False while the configuration or templates are broken
    combinations: int = 0
    first_failure: str = ""
