"""What the public pages read and write: the ledger (one connection, one writer thread) and the
subscriber list (re-read when the file changes).

Every ledger call of the web server runs on a single dedicated thread, so this process never
contends with itself for SQLite's write lock; a busy timeout and a few retries absorb the
short write transactions of a concurrent `newsletter send`, and bound how long a request can
wait (then 503, nothing changed). Unsubscribes
that arrive while one is being written are written together in the next transaction (group
commit): a burst costs a few fsyncs and lock waits, not one per request. A request is answered
only after its transaction is committed, so a 200 is never followed by a lost unsubscribe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ...content.config import Settings
from ...content.subscribers import Subscriber, read_subscribers
from ...errors import StateError
from ...store.ledger import Busy, Ledger, LedgerError

log = logging.getLogger("newsletter.serve")
T = TypeVar("T")

UNSUBSCRIBED = "unsubscribed"  # the suppression reason written by these pages
RETRIES = 3
BUSY_TIMEOUT_MS = 5000  # per attempt; with the retries a request waits ~15 s at most
MAX_BATCH = 500


class Unavailable(StateError):
    """The state database could not be written even after retries (answered with 503)."""


@dataclass(frozen=True)
class Suppression:
    reason: str
    source: str
    created: float

    @property
    def by_reader(self) -> bool:
        """Only a reader's own unsubscribe may be undone from the preference page; bounces and
        complaints may not."""
        return self.reason == UNSUBSCRIBED


@dataclass(frozen=True)
class Person:
    sid: str
    email_key: str
    email: str
    name: str
    topics: frozenset[str] | None  # what they receive now (None = every topic)
    suppression: Suppression | None


class SubscriberCache:
    """The subscriber file by e-mail key, re-read when its mtime changes. Only the preference
    page needs it (for names and topics); unsubscribing never depends on it."""

    def __init__(self, path: Path, settings: Settings, *, check_every: float = 2.0) -> None:
        self.path, self.settings, self.check_every = path, settings, check_every
        self._lock = threading.Lock()
        self._by_key: dict[str, Subscriber] = {}
        self._mtime: float | None = None
        self._checked = 0.0

    def get(self, email_key: str) -> Subscriber | None:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.check_every or self._mtime is None:
                self._checked = now
                self._reload_if_changed()
            return self._by_key.get(email_key)

    def _reload_if_changed(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            if self._mtime != -1.0:
                log.warning("%s: subscriber list not found; preference pages show every topic", self.path)
            self._by_key, self._mtime = {}, -1.0
            return
        if mtime == self._mtime:
            return
        subs, reader = read_subscribers(self.path, self.settings)
        if reader.errors:  # keep serving the valid entries rather than failing every page
            log.warning("%s: %d problem(s) in the subscriber list; using the valid entries",
                        self.path, len(reader.errors))
        self._by_key = {s.key: s for s in subs}
        self._mtime = mtime


class State:
    def __init__(self, settings: Settings, subscribers_path: Path) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.state_db)
        self.ledger.busy_timeout(BUSY_TIMEOUT_MS)
        self.subscribers = SubscriberCache(subscribers_path, settings)
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        self._queued: list[tuple[str, str, dict[str, object], asyncio.Future[str | None]]] = []
        self._writer: asyncio.Task[None] | None = None

    def close(self) -> None:
        self._db_thread.shutdown(wait=True)
        self.ledger.close()

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` on the ledger thread; retry while SQLite reports contention."""
        loop = asyncio.get_running_loop()
        delay = 0.05
        for attempt in range(RETRIES):
            try:
                return await loop.run_in_executor(self._db_thread, fn, *args)
            except (LedgerError, Busy) as exc:
                if attempt == RETRIES - 1:
                    log.error("state database unavailable after %d attempts: %s", RETRIES, exc)
                    raise Unavailable(str(exc)) from None
                log.warning("state database busy (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(delay)
                delay *= 4
        raise AssertionError("unreachable")

    async def unsubscribe(self, sid: str, source: str, detail: dict[str, object]) -> str | None:
        """Suppress the person (idempotent) once committed; their address, or None for an
        unknown sid. Raises Unavailable if the database stays locked."""
        fut: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._queued.append((sid, source, detail, fut))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued())
        return await asyncio.shield(fut)  # a client hanging up does not cancel the write

    async def _write_queued(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                try:
                    emails = await self.call(self.unsubscribe_many, [b[:3] for b in batch])
                except Unavailable as exc:
                    for *_, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (*_, fut), email in zip(batch, emails):
                    if not fut.done():
                        fut.set_result(email)
        finally:
            self._writer = None

    # -- run on the ledger thread ------------------------------------------------------------------
    def person(self, sid: str) -> Person | None:
        found = self.ledger.person(sid)
        if found is None:
            return None
        email_key, email = found
        sub = self.subscribers.get(email_key)
        # Single-row reads; Ledger.preferences()/suppressions() would load the whole table.
        pref = self.ledger.preference(sid)
        if pref is not None:
            topics = pref.topics
        else:
            topics = sub.topics if sub else None
        if topics is not None:
            topics = frozenset(t for t in topics if t in self.settings.taxonomy.labels)
        row = self.ledger.suppression(email_key)
        supp = Suppression(row.reason, row.source, row.created) if row else None
        return Person(sid, email_key, sub.email if sub else email, sub.name if sub else "", topics, supp)

    def unsubscribe_many(self, items: list[tuple[str, str, dict[str, object]]]) -> list[str | None]:
        """One transaction for a batch of (sid, source, audit detail): each known person is
        suppressed unless already, and an event is logged either way. All or nothing, so a
        retry after a failure is exact."""
        return self.ledger.unsubscribe_many(items, UNSUBSCRIBED)

    def save_topics(self, sid: str, topics: frozenset[str] | None, resubscribe: bool,
                    detail: dict[str, object]) -> None:
        self.ledger.set_preferences(sid, topics)
        if resubscribe:
            found = self.ledger.person(sid)
            if found is not None:
                # Only an unsubscribe made by the reader is lifted, never a bounce or complaint.
                self.ledger.unsuppress(found[0], reason=UNSUBSCRIBED)
        count: object = "all" if topics is None else len(topics)
        self._event(sid, "resubscribe" if resubscribe else "preferences", {**detail, "topics": count})

    def publications(self) -> dict[str, float]:
        """month → when its dispatch started, for every issue that is public."""
        return self.ledger.campaign_starts()

    def healthy(self) -> bool:
        self.ledger.ping()
        return True

    def _event(self, sid: str, kind: str, detail: dict[str, object]) -> None:
        # The change itself is committed already; a failed audit line must not undo or fail it.
        try:
            self.ledger.log_event(sid, kind, json.dumps(detail, sort_keys=True))
        except LedgerError as exc:
            log.error("could not log %s event: %s", kind, exc)
