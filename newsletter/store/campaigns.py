"""A campaign (one issue being sent) and its deliveries: one row per recipient and its state.

States: pending → sending → sent | deferred | failed | unknown (and skipped). `sending` is
committed before DATA and `sent` after the 250, so a crash leaves at most the in-flight
messages in `sending`, which the next run turns into `unknown` (never re-sent automatically).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from ..errors import ContentChanged
from .db import Database


class State(StrEnum):
    """A delivery's state (compares equal to its text, which is what the database stores)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


STATES = tuple(s.value for s in State)


@dataclass(frozen=True, slots=True)  # one per recipient still due: kept small
class Delivery:
    email_key: str
    sid: str
    email: str
    variant: str
    state: str
    attempts: int
    code: int | None
    reply: str | None
    next_attempt: float
    date: str | None = None  # the Date header of the last message handed over (for a resend)


_COLUMNS = "email_key, sid, email, variant, state, attempts, code, reply, next_attempt, date_header"
# (email_key, state, code, reply, next_attempt, attempts added, date_header, seq, follows): see mark_many
Mark = tuple[str, str, int | None, str | None, float, int, str | None, int | None, int | None]
NOT_SENT = "interrupted before its message was sent (at most its envelope went out); not delivered"


class Campaigns(Database):
    def campaign(self, issue: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT content_hash, date_header FROM campaigns WHERE issue=?",
                              (issue,)).fetchone()
        return (row[0], row[1]) if row else None

    def campaign_starts(self) -> dict[str, float]:
        """issue (YYYY-MM) → when its dispatch started (Unix seconds): the issues that are public."""
        return dict(self.db.execute("SELECT issue, created FROM campaigns ORDER BY issue"))

    def start_campaign(self, issue: str, content_hash: str, date_header: str, *, force: bool,
                       subject: str | None = None, list_file: str | None = None,
                       paths: tuple[str, str] | None = None) -> str:
        """Create or resume; returns the Date header fixed at creation. `subject` and
        `list_file` (what `status` shows) are those of the latest run; `paths` (issue file and
        subscriber list, relative to the project folder) are recorded so that a bare
        `newsletter send` can resume this campaign. Raises ContentChanged if the content differs
        from what the campaign began with and `force` is false."""
        existing = self.campaign(issue)
        if existing is None:
            with self.tx() as db:
                db.execute("INSERT INTO campaigns (issue, content_hash, date_header, created, subject, "
                           "list_file) VALUES (?,?,?,?,?,?)",
                           (issue, content_hash, date_header, time.time(), subject, list_file))
            old_date = date_header
        else:
            old_hash, old_date = existing
            if old_hash != content_hash and not force:
                raise ContentChanged(
                    f"issue {issue} was already (partly) sent with different content; the issue, "
                    "templates or configuration changed since. Re-run with --force to send the new "
                    "content to the remaining recipients")
            with self.tx() as db:
                db.execute("UPDATE campaigns SET content_hash=?, subject=COALESCE(?, subject), "
                           "list_file=COALESCE(?, list_file) WHERE issue=?",
                           (content_hash, subject, list_file, issue))
        if paths is not None:
            with self.tx() as db:
                db.execute("UPDATE campaigns SET issue_path=?, list_path=? WHERE issue=?", (*paths, issue))
        return old_date

    def unfinished(self) -> list[tuple[str, str | None, str | None]]:
        """(issue, issue file, subscriber list) of every campaign not finished yet (someone still
        pending or deferred), oldest first; the paths are None for campaigns recorded before
        they were kept."""
        return [(r[0], r[1], r[2]) for r in self.db.execute(
            "SELECT issue, issue_path, list_path FROM campaigns WHERE finished IS NULL ORDER BY created")]

    def finish(self, issue: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE campaigns SET finished=? WHERE issue=?", (time.time(), issue))

    def add_deliveries(self, issue: str, rows: Iterable[tuple[str, str, str, str, str, str]]) -> None:
        """(email_key, sid, email, variant, state, reason) with state 'pending' or 'skipped'.

        New rows are inserted; rows not yet attempted follow the current list, preferences and
        suppressions; anything sent, failed, unknown or deferred keeps its state.
        """
        now = time.time()
        with self.tx() as db:
            db.executemany(
                "INSERT INTO deliveries (issue, email_key, sid, email, variant, state, reply, updated) "
                "VALUES (?,?,?,?,?,?,NULLIF(?, ''),?) ON CONFLICT(issue, email_key) DO UPDATE SET "
                "variant=excluded.variant, state=excluded.state, reply=excluded.reply "
                "WHERE deliveries.state IN ('pending','skipped') OR "
                "(deliveries.state='deferred' AND excluded.state='skipped')",
                ((issue, k, s, e, v, st, why, now) for k, s, e, v, st, why in rows))

    def recover_interrupted(self, issue: str) -> tuple[int, int]:
        """Rows left in `sending` by a crash. Each `sending` mark of a run has its own `seq`; a
        row taken ahead records the `seq` of the mark it `follows` on its connection. If that
        very mark is still `sending`, the row's final dot was never sent: the dispatcher sends a
        message's dot only once the outcome of the attempt before it on that connection is on
        disk. So at most its envelope went out (RFC 5321 §4.1.1.4: nothing is delivered before
        the dot) → pending, not an attempt. (Matching the mark, not the address: the row it
        followed may have been tried again since, behind it.) Every other `sending` row may be at
        the server → unknown (an attempt: attempts are counted when a transaction is settled,
        which this one never was). Returns (unknown, pending again)."""
        with self.tx() as db:
            sending = db.execute("SELECT email_key, seq, follows FROM deliveries WHERE issue=? AND "
                                 "state='sending'", (issue,)).fetchall()
            live = {str(seq) for _, seq, _ in sending if seq is not None}
            now = time.time()
            behind = [(NOT_SENT, now, issue, key) for key, _, before in sending
                      if before is not None and str(before) in live]
            db.executemany("UPDATE deliveries SET state='pending', seq=NULL, follows=NULL, reply=?, updated=? "
                           "WHERE issue=? AND email_key=? AND state='sending'", behind)
            cur = db.execute("UPDATE deliveries SET state='unknown', attempts=attempts+1, code=NULL, reply="
                             "'interrupted while sending; may have been delivered', seq=NULL, follows=NULL, updated=? "
                             "WHERE issue=? AND state='sending'", (now, issue))
            return cur.rowcount, len(behind)

    def due(self, issue: str, *, resend_unknown: bool, now: float | None = None) -> list[Delivery]:
        return list(self.iter_due(issue, resend_unknown=resend_unknown, now=now))

    def iter_due(self, issue: str, *, resend_unknown: bool, now: float | None = None) -> Iterator[Delivery]:
        """`due` one row at a time, so a caller can keep only what it needs of a long list."""
        now = time.time() if now is None else now
        states = ("pending", "deferred", "unknown") if resend_unknown else ("pending", "deferred")
        q = (f"SELECT {_COLUMNS} FROM deliveries WHERE issue=? AND state IN ({','.join('?' * len(states))}) "
             f"ORDER BY rowid")
        for row in self.db.execute(q, (issue, *states)):
            if row[8] <= now or row[4] == "pending":
                yield Delivery(*row)

    def next_retry(self, issue: str) -> float | None:
        row = self.db.execute("SELECT MIN(next_attempt) FROM deliveries WHERE issue=? AND "
                              "state='deferred'", (issue,)).fetchone()
        return row[0] if row and row[0] is not None else None

    def mark_many(self, issue: str, updates: list[Mark]) -> None:
        """(email_key, state, code, reply, next_attempt, attempts added, date_header, seq,
        follows) in one transaction; a date_header (of the message being handed over) replaces
        the stored one; `seq` (a `sending` mark's number in its run) and `follows` (a `sending`
        row taken ahead: the `seq` of the mark whose message goes before it on the same
        connection; see `recover_interrupted`) are stored as given."""
        now = time.time()
        with self.tx() as db:
            db.executemany(
                "UPDATE deliveries SET state=?, code=COALESCE(?, code), reply=COALESCE(?, reply), "
                "next_attempt=?, attempts=attempts+?, updated=?, date_header=COALESCE(?, date_header), "
                "seq=?, follows=? WHERE issue=? AND email_key=?",
                [(st, code, reply, nxt, int(count), now, date, seq, follows, issue, key)
                 for key, st, code, reply, nxt, count, date, seq, follows in updates])

    def mark_skipped(self, issue: str, keys: list[str], reason: str) -> None:
        self.mark_many(issue, [(k, "skipped", None, reason, 0, 0, None, None, None) for k in keys])

    def skip_removed(self, issue: str, present: set[str], reason: str) -> int:
        """Settle as `skipped` (with `reason`) everyone still pending or deferred in this
        campaign whose address is not in `present` (the list as it is now): they left the
        list between runs. Re-added later, they are due again (see `add_deliveries`).
        Returns how many were skipped."""
        gone = [k for (k,) in self.db.execute("SELECT email_key FROM deliveries WHERE issue=? AND "
                                              "state IN ('pending','deferred')", (issue,)) if k not in present]
        with self.tx() as db:
            db.executemany("UPDATE deliveries SET state='skipped', reply=?, updated=? WHERE issue=? AND "
                           "email_key=?", ((reason, time.time(), issue, k) for k in gone))
        return len(gone)

    def counts(self, issue: str) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM deliveries WHERE issue=? "
                                        "GROUP BY state", (issue,)):
            out[state] = n
        return out

    def rows(self, issue: str, states: Iterable[str]) -> list[Delivery]:
        st = list(states)
        q = (f"SELECT {_COLUMNS} FROM deliveries WHERE issue=? AND state IN ({','.join('?' * len(st))}) "
             f"ORDER BY rowid")
        return [Delivery(*row) for row in self.db.execute(q, (issue, *st))]
