"""Durable per-recipient state, suppressions and preference changes (SQLite, WAL).

States: pending → sending → sent | deferred | failed | unknown. `sending` is committed before
DATA and `sent` after the 250, so a crash leaves at most the in-flight messages in `sending`,
which the next run turns into `unknown` (never re-sent automatically).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..errors import NewsletterError

STATES = ("pending", "sending", "sent", "deferred", "failed", "unknown", "skipped")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    sid TEXT PRIMARY KEY,
    email_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS campaigns (
    issue TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    date_header TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS deliveries (
    issue TEXT NOT NULL,
    email_key TEXT NOT NULL,
    sid TEXT NOT NULL,
    email TEXT NOT NULL,
    variant TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','sending','sent','deferred','failed','unknown','skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    code INTEGER,
    reply TEXT,
    next_attempt REAL NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    PRIMARY KEY (issue, email_key)
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (issue, state);
CREATE TABLE IF NOT EXISTS suppressions (
    email_key TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS preferences (
    sid TEXT PRIMARY KEY REFERENCES people(sid),
    topics TEXT,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    at REAL NOT NULL,
    sid TEXT,
    kind TEXT NOT NULL,
    detail TEXT
);
"""


def new_sid() -> str:
    """A subscriber's random id in the state database (it reveals nothing about the address):
    72 random bits, 12 URL-safe characters; tokens sign it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()



class LedgerError(NewsletterError):
    exit_code = 6


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


class Ledger:
    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous}")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(f"{path}: cannot open the state database: {exc}") from None
        try:
            os.chmod(path, 0o600)
        except OSError:
            pass

    @classmethod
    def read_only(cls, path: Path) -> Ledger:
        """Open an existing database without writing anything (for --dry-run and status)."""
        self = cls.__new__(cls)
        self.path = path
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(f"{path}: cannot open the state database: {exc}") from None
        return self

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def without_fsync(self) -> Iterator[None]:
        """Commits made inside do not wait for the disk (WAL, synchronous=NORMAL): they survive
        a crash of this process at once, and a crash of the machine after the next ordinary
        commit or `sync()`, which write the same log to disk."""
        if self.synchronous.upper() not in ("FULL", "EXTRA", "2", "3"):
            yield
            return
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA synchronous={self.synchronous}")

    def sync(self) -> None:
        """Put everything committed so far on disk (an fsync of the write-ahead log)."""
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # no log: every commit is already in the database file
            return
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot record state: {exc.strerror or exc}") from None
        try:
            os.fdatasync(fd)
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot record state: {exc.strerror or exc}") from None
        finally:
            os.close(fd)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot record state: {exc}") from None

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

    # -- suppressions and preferences -------------------------------------------------------------
    def suppress(self, email_key: str, reason: str, source: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO suppressions VALUES (?,?,?,?)",
                       (email_key, reason, source, time.time()))

    def unsuppress(self, email_key: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM suppressions WHERE email_key=?", (email_key,))

    def is_suppressed(self, email_key: str) -> bool:
        return self.db.execute("SELECT 1 FROM suppressions WHERE email_key=?",
                               (email_key,)).fetchone() is not None

    def suppressions(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT email_key, reason FROM suppressions"))

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

    def log_event(self, sid: str | None, kind: str, detail: str = "") -> None:
        with self.tx() as db:
            db.execute("INSERT INTO events VALUES (?,?,?,?)", (time.time(), sid, kind, detail))

    # -- campaigns ---------------------------------------------------------------------------------
    def campaign(self, issue: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT content_hash, date_header FROM campaigns WHERE issue=?",
                              (issue,)).fetchone()
        return (row[0], row[1]) if row else None

    def start_campaign(self, issue: str, content_hash: str, date_header: str, *, force: bool) -> str:
        """Create or resume; returns the Date header fixed at creation. Refuses changed content."""
        existing = self.campaign(issue)
        if existing is None:
            with self.tx() as db:
                db.execute("INSERT INTO campaigns VALUES (?,?,?,?,NULL)",
                           (issue, content_hash, date_header, time.time()))
            return date_header
        old_hash, old_date = existing
        if old_hash != content_hash:
            if not force:
                raise LedgerError(
                    f"issue {issue} was already (partly) sent with different content; the issue, "
                    "templates or configuration changed since. Re-run with --force to send the new "
                    "content to the remaining recipients")
            with self.tx() as db:
                db.execute("UPDATE campaigns SET content_hash=? WHERE issue=?", (content_hash, issue))
        return old_date

    def add_recipients(self, issue: str, rows: Iterable[tuple[str, str, str, str, str, str]]) -> None:
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

    def recover_interrupted(self, issue: str) -> int:
        """Rows left in `sending` by a crash: the server may have the message → unknown."""
        with self.tx() as db:
            cur = db.execute("UPDATE deliveries SET state='unknown', reply=COALESCE(reply, "
                             "'interrupted while sending; may have been delivered'), updated=? "
                             "WHERE issue=? AND state='sending'", (time.time(), issue))
            return cur.rowcount

    def due(self, issue: str, *, resend_unknown: bool, now: float | None = None) -> list[Delivery]:
        return list(self.iter_due(issue, resend_unknown=resend_unknown, now=now))

    def iter_due(self, issue: str, *, resend_unknown: bool, now: float | None = None) -> Iterator[Delivery]:
        """`due` one row at a time, so a caller can keep only what it needs of a long list."""
        now = time.time() if now is None else now
        states = ("pending", "deferred", "unknown") if resend_unknown else ("pending", "deferred")
        q = (f"SELECT email_key, sid, email, variant, state, attempts, code, reply, next_attempt "
             f"FROM deliveries WHERE issue=? AND state IN ({','.join('?' * len(states))}) "
             f"ORDER BY rowid")
        for row in self.db.execute(q, (issue, *states)):
            if row[8] <= now or row[4] == "pending":
                yield Delivery(*row)

    def next_retry(self, issue: str) -> float | None:
        row = self.db.execute("SELECT MIN(next_attempt) FROM deliveries WHERE issue=? AND "
                              "state='deferred'", (issue,)).fetchone()
        return row[0] if row and row[0] is not None else None

    def mark_many(self, issue: str, updates: list[tuple[str, str, int | None, str | None, float, bool]]) -> None:
        """(email_key, state, code, reply, next_attempt, count_attempt) in one transaction."""
        now = time.time()
        with self.tx() as db:
            db.executemany(
                "UPDATE deliveries SET state=?, code=COALESCE(?, code), reply=COALESCE(?, reply), "
                "next_attempt=?, attempts=attempts+?, updated=? WHERE issue=? AND email_key=?",
                [(st, code, reply, nxt, 1 if count else 0, now, issue, key)
                 for key, st, code, reply, nxt, count in updates])

    def mark_skipped(self, issue: str, keys: list[str], reason: str) -> None:
        self.mark_many(issue, [(k, "skipped", None, reason, 0, False) for k in keys])

    def counts(self, issue: str) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM deliveries WHERE issue=? "
                                        "GROUP BY state", (issue,)):
            out[state] = n
        return out

    def rows(self, issue: str, states: Iterable[str]) -> list[Delivery]:
        st = list(states)
        q = (f"SELECT email_key, sid, email, variant, state, attempts, code, reply, next_attempt "
             f"FROM deliveries WHERE issue=? AND state IN ({','.join('?' * len(st))}) ORDER BY rowid")
        return [Delivery(*row) for row in self.db.execute(q, (issue, *st))]

    def finish(self, issue: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE campaigns SET finished=? WHERE issue=?", (time.time(), issue))
