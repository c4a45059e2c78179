"""The audience's tables: people (address ↔ random sid), suppressions, topic preferences and
the audit log of what readers did on the public pages."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from enum import StrEnum

from .db import Database, new_sid


class Reason(StrEnum):
    """Why an address is suppressed (the `reason` column): the reader's own unsubscribe, a
    hard bounce, repeated soft bounces, or a spam complaint (RFC 5965 feedback report)."""

    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard-bounce"
    SOFT_BOUNCES = "soft-bounces"
    COMPLAINT = "complaint"


@dataclass(frozen=True)
class Lift:
    """What `lift_suppression` did: `lifted` the suppression whose kind was `reason`, or kept it
    (a complaint without `complaint_confirmed`); reason None: the address was not suppressed."""

    lifted: bool
    reason: str | None


@dataclass(frozen=True)
class Preference:
    topics: frozenset[str] | None  # None = every topic


@dataclass(frozen=True)
class SuppressionRow:
    reason: str  # a Reason (older databases may hold other words)
    source: str
    created: float
    detail: str = ""


def lift_in(db: sqlite3.Connection, email_key: str, *, source: str, complaint_confirmed: bool) -> Lift:
    """`Audience.lift_suppression` inside a transaction the caller holds (a signup's
    confirmation uses it in its own): the one place of the re-subscribe rule."""
    row = db.execute("SELECT reason FROM suppressions WHERE email_key=?", (email_key,)).fetchone()
    if row is None:
        return Lift(False, None)
    if row[0] == Reason.COMPLAINT and not complaint_confirmed:
        return Lift(False, row[0])
    db.execute("DELETE FROM suppressions WHERE email_key=?", (email_key,))
    person = db.execute("SELECT sid FROM people WHERE email_key=?", (email_key,)).fetchone()
    db.execute("INSERT INTO events (at, sid, kind, detail) VALUES (?,?,?,?)",
               (time.time(), person[0] if person else None, "resubscribed",
                json.dumps({"lifted": row[0], "source": source}, sort_keys=True)))
    return Lift(True, row[0])


class Audience(Database):
    # -- people ------------------------------------------------------------------------------------
    def sids_for(self, keys_emails: Iterable[tuple[str, str]], *, create: bool = True) -> dict[str, str]:
        """email_key → sid, creating ids for new people (unless create=False: then provisional)."""
        known: dict[str, str] = dict(self.db.execute("SELECT email_key, sid FROM people"))
        out: dict[str, str] = {}
        new: list[tuple[str, str, str, float]] = []
        now = time.time()
        with self.tx() if create else nullcontext(self.db) as db:
            for k, e in keys_emails:
                sid = known.get(k) or out.get(k)
                if sid is None:
                    sid = new_sid()
                    if create:
                        new.append((sid, k, e, now))
                    if len(new) >= 1000:  # in slices: a long list needs no second long list here
                        db.executemany("INSERT OR IGNORE INTO people VALUES (?,?,?,?)", new)
                        new.clear()
                out[k] = sid
            if new:
                db.executemany("INSERT OR IGNORE INTO people VALUES (?,?,?,?)", new)
        return out

    def person(self, sid: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT email_key, email FROM people WHERE sid=?", (sid,)).fetchone()
        return (row[0], row[1]) if row else None

    # -- suppressions ------------------------------------------------------------------------------
    def suppress(self, email_key: str, reason: str, source: str, detail: str = "") -> None:
        """Suppress the address (kept as it is if already suppressed). `reason` is a `Reason`;
        `detail` the human text (e.g. the server's reply), at most 300 characters kept."""
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO suppressions (email_key, reason, source, created, detail) "
                       "VALUES (?,?,?,?,?)", (email_key, str(reason), source, time.time(), detail[:300]))

    def lift_suppression(self, email_key: str, *, source: str, complaint_confirmed: bool = False) -> Lift:
        """The re-subscribe rule, for a reader who re-subscribes through a confirmed double
        opt-in: an unsubscribe, a hard bounce or repeated soft bounces are lifted; a spam
        complaint only when the reader also confirmed they want the mail again
        (`complaint_confirmed`). The change is logged as an event (kind 'resubscribed')."""
        with self.tx() as db:
            return lift_in(db, email_key, source=source, complaint_confirmed=complaint_confirmed)

    def unsuppress(self, email_key: str, *, reason: str | None = None) -> None:
        """Lift the suppression (only if its reason is `reason`, when given)."""
        with self.tx() as db:
            if reason is None:
                db.execute("DELETE FROM suppressions WHERE email_key=?", (email_key,))
            else:
                db.execute("DELETE FROM suppressions WHERE email_key=? AND reason=?", (email_key, reason))

    def is_suppressed(self, email_key: str) -> bool:
        return self.db.execute("SELECT 1 FROM suppressions WHERE email_key=?",
                               (email_key,)).fetchone() is not None

    def suppressions(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT email_key, reason FROM suppressions"))

    def _detail_column(self) -> str:
        # a database made by an older version and only opened read-only has no `detail` yet
        cols = {row[1] for row in self.db.execute("PRAGMA table_info(suppressions)")}
        return "detail" if "detail" in cols else "''"

    def suppression_rows(self) -> dict[str, SuppressionRow]:
        """email_key → why, by whom, when and the details, for every suppressed address."""
        q = f"SELECT email_key, reason, source, created, {self._detail_column()} FROM suppressions"
        return {k: SuppressionRow(r, s, t, d) for k, r, s, t, d in self.db.execute(q)}

    def suppression(self, email_key: str) -> SuppressionRow | None:
        row = self.db.execute(f"SELECT reason, source, created, {self._detail_column()} FROM suppressions "
                              "WHERE email_key=?", (email_key,)).fetchone()
        return SuppressionRow(*row) if row else None

    def unsubscribe_many(self, items: list[tuple[str, str, dict[str, object]]],
                         reason: str) -> list[str | None]:
        """One transaction for a batch of (sid, source, audit detail): each known person is
        suppressed with `reason` unless already, and an event is logged either way. All or
        nothing, so a retry after a failure is exact. The address of each, None if unknown."""
        now = time.time()
        out: list[str | None] = []
        with self.tx() as db:
            for sid, source, detail in items:
                row = db.execute("SELECT email_key, email FROM people WHERE sid=?", (sid,)).fetchone()
                if row is None:
                    out.append(None)
                    continue
                cur = db.execute("INSERT OR IGNORE INTO suppressions (email_key, reason, source, created) "
                                 "VALUES (?,?,?,?)", (row[0], reason, source, now))
                event = {**detail, "source": source, "new": cur.rowcount == 1}
                db.execute("INSERT INTO events (at, sid, kind, detail) VALUES (?,?,?,?)",
                           (now, sid, "unsubscribe", json.dumps(event, sort_keys=True)))
                out.append(row[1])
        return out

    # -- preferences and events --------------------------------------------------------------------
    def set_preferences(self, sid: str, topics: frozenset[str] | None) -> None:
        value = None if topics is None else json.dumps(sorted(topics))
        with self.tx() as db:
            db.execute("INSERT INTO preferences VALUES (?,?,?) ON CONFLICT(sid) DO UPDATE SET "
                       "topics=excluded.topics, updated=excluded.updated", (sid, value, time.time()))

    def preferences(self) -> dict[str, frozenset[str] | None]:
        """sid → topics chosen on the preference page (None = every topic)."""
        out: dict[str, frozenset[str] | None] = {}
        for sid, topics in self.db.execute("SELECT sid, topics FROM preferences"):
            out[sid] = None if topics is None else frozenset(json.loads(topics))
        return out

    def preference(self, sid: str) -> Preference | None:
        """One person's choice (a single-row read), None if they never chose."""
        row = self.db.execute("SELECT topics FROM preferences WHERE sid=?", (sid,)).fetchone()
        if row is None:
            return None
        return Preference(None if row[0] is None else frozenset(json.loads(row[0])))

    def log_event(self, sid: str | None, kind: str, detail: str = "") -> None:
        with self.tx() as db:
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (time.time(), sid, kind, detail))
