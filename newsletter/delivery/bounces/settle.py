"""What a classified, matched report does to the ledger: one `Settled` per message (or per
recipient of a webhook event), recorded once by its message key."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ...content.config import Settings
from ...store.ledger import FeedbackEvent, Ledger
from .classify import Finding, Kind
from .match import Match, Target

# Outcomes after which a mailbox message has done its job (it may be marked, moved or deleted);
# anything else (auto-replies, other mail, reports about no reader of ours) is left alone.
FINISHED = frozenset({"hard", "soft", "complaint", "delayed", "delivered"})


class Outcome(StrEnum):
    SUPPRESSED = "suppressed"  # hard bounce
    UNSUBSCRIBED = "unsubscribed"  # complaint
    COUNTED = "soft bounce counted"
    SOFT_SUPPRESSED = "suppressed after repeated soft bounces"
    ALREADY = "already suppressed"
    IGNORED = "ignored"  # delayed, delivered, auto-reply, a feedback report that is no complaint
    NOT_BOUNCE = "not a bounce"
    UNMATCHED = "not about a reader of ours"
    FORGED = "forged (bad VERP signature): nothing changed"
    AMBIGUOUS = "ambiguous: nothing changed"
    SKIPPED = "skipped"
    SEEN = "already processed"


_BY_RESULT = {"suppressed": Outcome.SUPPRESSED, "unsubscribed": Outcome.UNSUBSCRIBED,
              "counted": Outcome.COUNTED, "soft-suppressed": Outcome.SOFT_SUPPRESSED,
              "already": Outcome.ALREADY}
_BY_VERDICT = {"unmatched": Outcome.UNMATCHED, "forged": Outcome.FORGED, "ambiguous": Outcome.AMBIGUOUS}


@dataclass(frozen=True)
class Settled:
    """One message's result: the outcome, what it reported, about whom, and a note (the soft
    bounce count, why nothing matched...). `stored` is what the ledger keeps for the key."""

    key: str
    outcome: Outcome
    kind: Kind | None = None
    target: Target | None = None
    finding: Finding | None = None
    note: str = ""
    stored: str = ""

    @property
    def finished(self) -> bool:
        """Whether a mailbox may mark, move or delete the message now."""
        return self.stored in FINISHED


def settle(ledger: Ledger, settings: Settings, key: str, source: str, kind: Kind, finding: Finding | None,
           match: Match | None, *, dry_run: bool = False) -> Settled:
    """Record one report under `key` (idempotent) and apply it: a hard bounce suppresses, a
    complaint unsubscribes, a soft bounce is counted (see store/feedback.py for the rule)."""
    rule = settings.feedback.bounces
    if kind in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT) and finding is not None and match is not None:
        if match.verdict != "matched" or match.target is None:
            outcome = _BY_VERDICT.get(match.verdict, Outcome.UNMATCHED)
            return _record(ledger, key, source, Settled(key, outcome, kind, None, finding, match.note,
                                                         match.verdict), dry_run)
        t = match.target
        event = FeedbackEvent(t.email_key, t.issue, kind.value, finding.status, finding.detail)
        if dry_run:
            if ledger.inbound_outcome(key) is not None:
                return Settled(key, Outcome.SEEN, kind, t, finding, stored=kind.value)
            recs = ledger.preview_feedback([event], soft_limit=rule.soft_limit, soft_days=rule.soft_days)
        else:
            got = ledger.record_feedback(key, source, kind.value, [event], soft_limit=rule.soft_limit,
                                         soft_days=rule.soft_days)
            if got is None:
                return Settled(key, Outcome.SEEN, kind, t, finding, stored=ledger.inbound_outcome(key) or "")
            recs = got
        rec = recs[0]
        note = f"{rec.count} of {rule.soft_limit} within {rule.soft_days:g} days" if kind == Kind.SOFT else ""
        return Settled(key, _BY_RESULT[rec.result], kind, t, finding, note, kind.value)
    outcome = Outcome.NOT_BOUNCE if kind == Kind.OTHER and finding is None else Outcome.IGNORED
    return _record(ledger, key, source, Settled(key, outcome, kind, None, finding, "", kind.value), dry_run)


def _record(ledger: Ledger, key: str, source: str, s: Settled, dry_run: bool) -> Settled:
    previous = ledger.inbound_outcome(key)
    if previous is not None:
        return Settled(key, Outcome.SEEN, s.kind, s.target, s.finding, s.note, previous)
    if not dry_run:
        ledger.record_feedback(key, source, s.stored, [], soft_limit=1, soft_days=1)
    return s
