"""What came back after sending: each bounce-mailbox message or relay webhook event, recorded once
(`inbound`, by message key), and the bounces and complaints found in them (`bounces`), with the
suppressions they lead to.

The rule (RFC 3463 classes decided by the caller): a hard bounce suppresses at once; a spam
complaint unsubscribes at once (and outranks any other suppression reason, so that only a
confirmed re-subscription lifts it); soft bounces are counted and suppress after `soft_limit`
of them within `soft_days` days.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from .audience import Reason
from .db import Database

KINDS = ("hard", "soft", "complaint")


@dataclass(frozen=True)
class FeedbackEvent:
    """One bounce or complaint about one person: `kind` 'hard' | 'soft' | 'complaint', `issue`
    YYYY-MM (None when the report does not say), `status` an RFC 3463 code ('5.1.1') or a
    feedback type ('abuse'), `detail` the server's words (kept to 300 characters)."""

    email_key: str
    issue: str | None
    kind: str
    status: str
    detail: str


@dataclass(frozen=True)
class Recorded:
    """What one event did: 'suppressed' (hard bounce), 'unsubscribed' (complaint), 'counted'
    (a soft bounce, `count` within the window, below the limit), 'soft-suppressed' (the soft
    bounce that reached the limit) or 'already' (the address was suppressed before)."""

    event: FeedbackEvent
    result: str
    count: int = 0


class Feedback(Database):
    def inbound_outcome(self, message_key: str) -> str | None:
        """The outcome recorded for this message key, None if it was never processed."""
        row = self.db.execute("SELECT outcome FROM inbound WHERE message_key=?", (message_key,)).fetchone()
        return row[0] if row else None

    def record_feedback(self, message_key: str, source: str, outcome: str, events: Iterable[FeedbackEvent],
                        *, soft_limit: int, soft_days: float, now: float | None = None) -> list[Recorded] | None:
        """Record one message (or webhook event) and apply its events, all in one transaction.
        None if this message key was recorded before (nothing changes: idempotent)."""
        now = time.time() if now is None else now
        with self.tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO inbound (message_key, source, outcome, at) VALUES (?,?,?,?)",
                             (message_key, source, outcome, now))
            if cur.rowcount == 0:
                return None
            out = []
            for ev in events:
                assert ev.kind in KINDS, ev.kind
                db.execute("INSERT OR IGNORE INTO bounces (at, message_key, email_key, issue, kind, status, detail) "
                           "VALUES (?,?,?,?,?,?,?)",
                           (now, message_key, ev.email_key, ev.issue, ev.kind, ev.status, ev.detail[:300]))
                rec = _decide(db, ev, now, soft_limit, soft_days, pending=0)
                _suppress(db, rec, source, now, soft_days)
                out.append(rec)
            return out

    def preview_feedback(self, events: Iterable[FeedbackEvent], *, soft_limit: int, soft_days: float) -> list[Recorded]:
        """What `record_feedback` would do with these events, writing nothing (for --dry-run)."""
        now = time.time()
        return [_decide(self.db, ev, now, soft_limit, soft_days, pending=1) for ev in events]

    def feedback_counts(self, issue: str) -> dict[str, int]:
        """Distinct addresses with a hard bounce, a soft bounce and a complaint for this issue."""
        out = dict.fromkeys(KINDS, 0)
        for kind, n in self.db.execute("SELECT kind, COUNT(DISTINCT email_key) FROM bounces WHERE issue=? "
                                       "GROUP BY kind", (issue,)):
            out[kind] = n
        return out

    def person_by_key(self, email_key: str) -> tuple[str, str] | None:
        """(sid, address) of the person with this e-mail key, None if unknown."""
        row = self.db.execute("SELECT sid, email FROM people WHERE email_key=?", (email_key,)).fetchone()
        return (row[0], row[1]) if row else None

    def was_sent(self, issue: str, email_key: str) -> bool:
        """Whether this issue was (or is being) sent to this address: a delivery was attempted."""
        row = self.db.execute("SELECT 1 FROM deliveries WHERE issue=? AND email_key=? AND attempts>0",
                              (issue, email_key)).fetchone()
        return row is not None

    def latest_issue(self, email_key: str) -> str | None:
        """The newest issue sent to this address (for reports that do not name one)."""
        row = self.db.execute("SELECT MAX(issue) FROM deliveries WHERE email_key=? AND attempts>0",
                              (email_key,)).fetchone()
        return row[0] if row and row[0] else None


def _decide(db: sqlite3.Connection, ev: FeedbackEvent, now: float, limit: int, days: float,
            *, pending: int) -> Recorded:
    row = db.execute("SELECT reason FROM suppressions WHERE email_key=?", (ev.email_key,)).fetchone()
    if ev.kind == "complaint":
        return Recorded(ev, "already" if row and row[0] == Reason.COMPLAINT else "unsubscribed")
    if ev.kind == "hard":
        return Recorded(ev, "already" if row else "suppressed")
    n = db.execute("SELECT COUNT(*) FROM bounces WHERE email_key=? AND kind='soft' AND at>=?",
                   (ev.email_key, now - days * 86400)).fetchone()[0] + pending
    if row:
        return Recorded(ev, "already", n)
    return Recorded(ev, "soft-suppressed" if n >= limit else "counted", n)


def _suppress(db: sqlite3.Connection, rec: Recorded, source: str, now: float, days: float) -> None:
    ev = rec.event
    what = f"{ev.status} {ev.detail}".strip()
    if rec.result == "unsubscribed":
        db.execute("INSERT INTO suppressions (email_key, reason, source, created, detail) VALUES (?,?,?,?,?) "
                   "ON CONFLICT(email_key) DO UPDATE SET reason=excluded.reason, source=excluded.source, "
                   "created=excluded.created, detail=excluded.detail",
                   (ev.email_key, Reason.COMPLAINT, source, now, what[:300]))
    elif rec.result == "suppressed":
        db.execute("INSERT OR IGNORE INTO suppressions (email_key, reason, source, created, detail) "
                   "VALUES (?,?,?,?,?)", (ev.email_key, Reason.HARD_BOUNCE, source, now, what[:300]))
    elif rec.result == "soft-suppressed":
        db.execute("INSERT OR IGNORE INTO suppressions (email_key, reason, source, created, detail) "
                   "VALUES (?,?,?,?,?)", (ev.email_key, Reason.SOFT_BOUNCES, source, now,
                                          f"{rec.count} soft bounces in {days:g} days; last: {what}"[:300]))
