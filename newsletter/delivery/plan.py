"""Pre-flight for `send`: everything is loaded, rendered and checked before any connection."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..content.issue import Issue
from ..content.subscribers import Subscriber, load_subscribers
from ..content.variants import Selection
from ..errors import CheckFailed
from ..mail.checks import failures, warnings
from ..mail.compose import Composer, now_header
from ..mail.message import CompiledVariant, Recipient
from ..store.ledger import Ledger

NO_MATCH = "no article on their topics this month"
SUPPRESSED = "suppressed"  # followed by the suppression's reason in parentheses
SUPPRESSED_DURING_RUN = "suppressed during the run"


def skip_kind(reason: str) -> str:
    """The reason without its details: 'suppressed (unsubscribed)' → 'suppressed: unsubscribed',
    'suppressed (hard bounce: 550 …)' → 'suppressed: hard bounce'; NO_MATCH as it is."""
    if reason.startswith(SUPPRESSED + " ("):
        detail = reason[len(SUPPRESSED) + 2:].rstrip(")").split(":")[0].strip()
        return f"{SUPPRESSED}: {detail}" if detail else SUPPRESSED
    return reason


def describe_skips(reasons: Counter[str], no_match: str) -> str:
    """Why readers were skipped, in words, most common first: '3 readers have no article on
    their topics this month (no_match: skip); 1 suppressed: unsubscribed'. '' for none."""
    parts = []
    for kind, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        if kind == NO_MATCH:
            who = "reader has" if n == 1 else "readers have"
            parts.append(f"{n} {who} {NO_MATCH} (no_match: {no_match})")
        else:
            parts.append(f"{n} {kind}")
    return "; ".join(parts)


class TopicBits:
    """Topic sets as bit masks over the taxonomy: a long list keeps one small int per reader
    instead of a frozenset of a few hundred bytes."""

    def __init__(self, slugs: Iterable[str]) -> None:
        self.slugs = list(slugs)
        self.bit = {s: 1 << i for i, s in enumerate(self.slugs)}

    def pack(self, topics: frozenset[str] | None) -> int | frozenset[str] | None:
        if topics is None:
            return None
        mask = 0
        for t in topics:
            b = self.bit.get(t)
            if b is None:  # a slug the taxonomy no longer has (an old preference): keep the set
                return topics
            mask |= b
        return mask

    def unpack(self, packed: int | frozenset[str] | None) -> frozenset[str] | None:
        if packed is None or isinstance(packed, frozenset):
            return packed
        out = []
        while packed:
            low = packed & -packed
            out.append(self.slugs[low.bit_length() - 1])
            packed ^= low
        return frozenset(out)


@dataclass(frozen=True, slots=True)  # one per subscriber of a list that may be long: kept small
class Entry:
    """One subscriber of this send: who, their id, the articles they get ('' = skipped).

    Words on the send path: a `Plan` has one `Entry` per subscriber; the ledger keeps one
    `Delivery` row per entry and issue (its state); `Recipient` is what an entry gives the
    message builder."""

    key: str
    email: str
    name: str
    sid: str
    topics: int | frozenset[str] | None  # packed by `codec`
    selection: Selection
    skip_reason: str = ""
    smtputf8: bool = False
    codec: TopicBits | None = field(default=None, compare=False, repr=False)

    @property
    def recipient(self) -> Recipient:
        topics = self.codec.unpack(self.topics) if self.codec is not None else self.topics
        assert not isinstance(topics, int)
        return Recipient(self.email, self.name, topics, self.sid, self.smtputf8)

    @property
    def variant(self) -> str:
        return ",".join(map(str, self.selection))


@dataclass
class Plan:
    issue: Issue
    entries: list[Entry]
    content_hash: str
    warnings: list[str]

    def compiled(self, composer: Composer, date: str) -> dict[Selection, CompiledVariant]:
        sels = {e.selection for e in self.entries if not e.skip_reason}
        return {s: composer.compile(self.issue, s, campaign=self.issue.month, date=date) for s in sels}


def prepare(composer: Composer, issue_path: Path, subscribers_path: Path, ledger: Ledger | None,
            *, create_ids: bool = True) -> Plan:
    """Load and validate the issue and list, render and check every variant, apply the
    unsubscribes and preference changes stored in the ledger. Raises before anything is sent."""
    settings = composer.settings
    issue = composer.issue(issue_path)
    subs, reader = load_subscribers(subscribers_path, settings)
    checked = composer.check_all_variants(issue)
    bad = [f"variant {list(sel)}: {c}" for sel, checks in checked.items() for c in failures(checks)]
    close = [f"variant {list(sel)}: {c}" for sel, checks in checked.items() for c in warnings(checks)]
    if bad:
        raise CheckFailed("pre-flight checks failed; nothing was sent:\n" + "\n".join(bad))
    if settings.dkim is not None:
        from ..mail.dkim import load_signer

        load_signer(settings.dkim)  # a missing or unreadable key fails now, not mid-run
    sids: dict[str, str] = {}
    prefs: dict[str, frozenset[str] | None] = {}
    suppressed: dict[str, str] = {}
    if ledger is not None:
        subs.extend(web_only(subs, ledger))
        sids = ledger.sids_for(((_key(s), s.email) for s in subs), create=create_ids)
        prefs = ledger.preferences()
        suppressed = ledger.suppressions()
    else:
        from ..store.ledger import new_sid

        sids = {s.key: new_sid() for s in subs}
    selections: dict[Selection, Selection] = {}  # one tuple per variant, not one per subscriber
    codec = TopicBits(settings.taxonomy.labels)
    entries = []
    for i, s in enumerate(subs):
        subs[i] = None  # type: ignore[call-overload]  # each Subscriber makes room for its Entry
        entries.append(_entry(composer, issue, s, sids[s.key], prefs, suppressed, selections, codec))
    return Plan(issue, entries, composer.content_hash(issue), [str(p) for p in reader.warnings] + close)


def web_only(subs: list[Subscriber], ledger: Ledger) -> list[Subscriber]:
    """Readers who confirmed a signup on the web and are not in the subscriber file, as
    subscribers (their topics are their stored choice, applied like any preference). For
    those in both, the file's entry stands and the web choice of topics overrides its topics."""
    in_file = {s.key for s in subs}
    return [Subscriber(w.email, w.name, None, 0, w.smtputf8) for w in ledger.web_subscribers()
            if w.email_key not in in_file]


def _key(sub: Subscriber) -> str:
    key = sub.key
    return sub.email if key == sub.email else key  # the usual lower-case address: one string


def _entry(composer: Composer, issue: Issue, sub: Subscriber, sid: str,
           prefs: dict[str, frozenset[str] | None], suppressed: dict[str, str],
           selections: dict[Selection, Selection], codec: TopicBits) -> Entry:
    topics = prefs.get(sid, sub.topics)
    key = _key(sub)
    packed = codec.pack(topics)
    sel: Selection = ()
    if key in suppressed:
        why = f"{SUPPRESSED} ({suppressed[key]})"
    else:
        sel = composer.selection_for(issue, topics)
        why = "" if sel else NO_MATCH
    return Entry(key, sub.email, sub.name, sid, packed, selections.setdefault(sel, sel), why, sub.smtputf8,
                 codec)


__all__ = ["NO_MATCH", "SUPPRESSED", "SUPPRESSED_DURING_RUN", "Entry", "Plan", "describe_skips", "now_header",
           "prepare", "skip_kind", "web_only"]
