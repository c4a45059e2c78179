"""Signups through the public form (double opt-in): pending requests, their confirmation, and
the consent record that stays when the reader later leaves.

A request is a row of `signups` with a random id (`rid`, which the confirmation link signs);
an address has at most one pending (unconfirmed) request at a time, and every new request for
it updates that row (the link confirms what the reader asked for last). `mailed` is when a
confirmation message was last claimed for it: at most one per `interval` seconds, decided
inside the transaction, so concurrent requests for one address mail it once. Confirmed rows are
kept: they are the consent record (time of request and confirmation, source, topics, the
consent text shown).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .audience import lift_in
from .db import Database, new_sid

UNCONFIRMED_DAYS = 30  # pending requests older than this are deleted (data minimisation)


@dataclass(frozen=True)
class SignupForm:
    """What the form asked for: a normalised address, its key, a name, topics (None = all)."""

    email_key: str
    email: str
    name: str
    topics: frozenset[str] | None
    smtputf8: bool
    source: str  # "form"
    consent: str  # the consent text the reader saw


@dataclass(frozen=True)
class SignupClaim:
    """A pending request; `mail` says whether this call may send its confirmation now (and
    `previous` is what `unclaim_signup` restores if sending fails)."""

    rid: str
    email: str
    name: str
    smtputf8: bool
    topics: frozenset[str] | None
    mail: bool
    previous: float | None


@dataclass(frozen=True)
class Confirmation:
    """The outcome of `confirm_signup`: who (sid, address), whether it was confirmed before
    (nothing changed then), and the suppression reason it lifted, if any."""

    sid: str
    email: str
    already: bool
    lifted: str | None
    kept: str | None = None  # a suppression the confirmation did not lift (a complaint)


@dataclass(frozen=True)
class ConsentRecord:
    email_key: str
    email: str
    name: str
    topics: frozenset[str] | None
    source: str
    consent: str
    requested: float
    confirmed: float


@dataclass(frozen=True)
class WebSubscriber:
    """A reader whose latest confirmed signup came through the web (topics: see preferences)."""

    email_key: str
    email: str
    name: str
    smtputf8: bool
    sid: str
    confirmed: float


def _topics(value: str | None) -> frozenset[str] | None:
    return None if value is None else frozenset(json.loads(value))


class Signups(Database):
    def request_signups(self, forms: list[SignupForm], *, now: float | None = None,
                        interval: float = 600.0) -> list[SignupClaim]:
        """Record a batch of form submissions in one transaction; one claim per form, in order.
        Of several requests for one address within `interval` seconds, only the first has
        `mail=True`."""
        now = time.time() if now is None else now
        out: list[SignupClaim] = []
        with self.tx() as db:
            for f in forms:
                topics = None if f.topics is None else json.dumps(sorted(f.topics))
                row = db.execute("SELECT rid, mailed FROM signups WHERE email_key=? AND confirmed IS NULL "
                                 "ORDER BY requested DESC LIMIT 1", (f.email_key,)).fetchone()
                if row is None:
                    rid, mailed = new_sid(), None
                    db.execute("INSERT INTO signups (rid, email_key, email, name, topics, smtputf8, source, "
                               "consent, requested) VALUES (?,?,?,?,?,?,?,?,?)",
                               (rid, f.email_key, f.email, f.name, topics, int(f.smtputf8), f.source,
                                f.consent, now))
                else:
                    rid, mailed = row
                    db.execute("UPDATE signups SET email=?, name=?, topics=?, smtputf8=?, source=?, consent=?, "
                               "requested=? WHERE rid=?", (f.email, f.name, topics, int(f.smtputf8), f.source,
                                                           f.consent, now, rid))
                mail = mailed is None or mailed <= now - interval
                if mail:
                    db.execute("UPDATE signups SET mailed=? WHERE rid=?", (now, rid))
                out.append(SignupClaim(rid, f.email, f.name, f.smtputf8, f.topics, mail, mailed))
        return out

    def claim_resend(self, rid: str, *, now: float | None = None, interval: float = 600.0) -> SignupClaim | None:
        """A new confirmation for a pending request (after its link expired): the claim, with
        `mail=False` inside the address's interval; None if unknown or already confirmed."""
        now = time.time() if now is None else now
        with self.tx() as db:
            row = db.execute("SELECT email, name, smtputf8, topics, mailed FROM signups WHERE rid=? AND "
                             "confirmed IS NULL", (rid,)).fetchone()
            if row is None:
                return None
            email, name, utf8, topics, mailed = row
            mail = mailed is None or mailed <= now - interval
            if mail:
                db.execute("UPDATE signups SET mailed=? WHERE rid=?", (now, rid))
        return SignupClaim(rid, email, name, bool(utf8), _topics(topics), mail, mailed)

    def unclaim_signup(self, rid: str, previous: float | None) -> None:
        """Sending the confirmation failed: give the address its turn back."""
        with self.tx() as db:
            db.execute("UPDATE signups SET mailed=? WHERE rid=?", (previous, rid))

    def signup_state(self, rid: str) -> tuple[str, bool, str | None] | None:
        """(address, confirmed?, suppression reason of the address or None) of a request, None
        if there is no such request."""
        row = self.db.execute("SELECT s.email, s.confirmed, x.reason FROM signups s LEFT JOIN suppressions x "
                              "ON x.email_key = s.email_key WHERE s.rid=?", (rid,)).fetchone()
        return (row[0], row[1] is not None, row[2]) if row else None

    def confirm_signup(self, rid: str, *, now: float | None = None,
                       complaint_confirmed: bool = False) -> Confirmation | None:
        """Confirm a request (the reader pressed the button of a genuine, unexpired link): the
        one place where a double opt-in takes effect, in one transaction.

        - the address gets its person row (sid) if it has none;
        - the topics of the request become the reader's choice (`preferences`), which `send`
          applies over the subscriber file;
        - the address's suppression is lifted by the re-subscribe rule (`audience.lift_in`, also
          behind `lift_suppression`): the reader asked again and proved the address is theirs
          and reachable, so an unsubscribe or bounces are lifted; a spam complaint only with
          `complaint_confirmed` (they ticked that they want the mail again), else `kept`.
        - an event `subscribe` is logged (source, topic count, what was lifted).

        Idempotent: a request confirmed before changes nothing (`already=True`), so an old link
        never undoes a later unsubscribe. None if there is no such request.
        """
        now = time.time() if now is None else now
        with self.tx() as db:
            row = db.execute("SELECT email_key, email, topics, source, confirmed FROM signups WHERE rid=?",
                             (rid,)).fetchone()
            if row is None:
                return None
            key, email, topics, source, confirmed = row
            person = db.execute("SELECT sid FROM people WHERE email_key=?", (key,)).fetchone()
            if person is None:
                sid = new_sid()
                db.execute("INSERT INTO people VALUES (?,?,?,?)", (sid, key, email, now))
            else:
                sid = person[0]
            if confirmed is not None:
                return Confirmation(sid, email, True, None)
            db.execute("UPDATE signups SET confirmed=? WHERE rid=?", (now, rid))
            db.execute("INSERT INTO preferences VALUES (?,?,?) ON CONFLICT(sid) DO UPDATE SET "
                       "topics=excluded.topics, updated=excluded.updated", (sid, topics, now))
            lift = lift_in(db, key, source=source, complaint_confirmed=complaint_confirmed)
            lifted = lift.reason if lift.lifted else None
            kept = lift.reason if not lift.lifted else None
            detail = {"source": source, "topics": "all" if topics is None else len(json.loads(topics)),
                      "lifted": lifted, "kept": kept}
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (now, sid, "subscribe", json.dumps(detail, sort_keys=True)))
        return Confirmation(sid, email, False, lifted, kept)

    def _no_signups_table(self) -> bool:
        """A database made before signups existed, opened read-only (nothing could add the table)."""
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='signups'").fetchone() is None

    def web_subscribers(self) -> list[WebSubscriber]:
        """Everyone with a confirmed signup, by their latest one (suppressions not applied)."""
        if self._no_signups_table():
            return []
        rows = self.db.execute(
            "SELECT s.email_key, s.email, s.name, s.smtputf8, p.sid, MAX(s.confirmed) FROM signups s "
            "JOIN people p ON p.email_key = s.email_key WHERE s.confirmed IS NOT NULL "
            "GROUP BY s.email_key ORDER BY MIN(s.confirmed), s.email_key")
        return [WebSubscriber(k, e, n, bool(u), sid, c) for k, e, n, u, sid, c in rows]

    def consent_records(self) -> dict[str, list[ConsentRecord]]:
        """email_key → every confirmed signup of that address, oldest first."""
        out: dict[str, list[ConsentRecord]] = {}
        if self._no_signups_table():
            return out
        for k, e, n, t, src, consent, req, conf in self.db.execute(
                "SELECT email_key, email, name, topics, source, consent, requested, confirmed FROM signups "
                "WHERE confirmed IS NOT NULL ORDER BY confirmed"):
            out.setdefault(k, []).append(ConsentRecord(k, e, n, _topics(t), src, consent, req, conf))
        return out

    def forget_unconfirmed(self, *, older_than_days: float = UNCONFIRMED_DAYS, now: float | None = None) -> int:
        """Delete requests never confirmed within `older_than_days`; how many."""
        now = time.time() if now is None else now
        with self.tx() as db:
            cur = db.execute("DELETE FROM signups WHERE confirmed IS NULL AND requested < ?",
                             (now - older_than_days * 86400,))
            return cur.rowcount
