"""The send loop: N reused connections over one queue, a durable ledger, retries by reply code.

Invariant: a message is handed to the transport only after its `sending` row is committed,
and `sent` is committed after the 250. Commits from all connections are grouped (one
transaction per loop turn), so durability costs one fsync per batch, not per message.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..content.config import Settings
from ..errors import FatalSMTPError, Interrupted, NewsletterError, TransientError
from ..mail.compose import Composer, now_header
from ..mail.message import CompiledVariant
from ..store.ledger import Delivery, Ledger, LedgerError, Reason
from .ahead import Ahead
from .groupcommit import GroupCommit
from .plan import SUPPRESSED_DURING_RUN, Entry, Plan
from .policy import Outcome, classify
from .transports.base import ErrorKind, SendError, Transport, Upcoming

GRACE_SECONDS = 10.0


@dataclass
class Summary:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)  # skip_kind → how many
    elapsed: float = 0.0
    stopped: str = ""
    policy: int = 0
    replies: list[str] = field(default_factory=list)

    def line(self) -> str:
        rate = self.sent / self.elapsed if self.elapsed > 0 else 0.0
        return (f"sent {self.sent}, deferred {self.deferred}, failed {self.failed}, unknown {self.unknown}, "
                f"skipped {self.skipped} in {self.elapsed:.1f}s ({rate:.0f} msg/s)")


class ProgressHook(Protocol):
    """What the send loop reports as it goes; the command line passes its progress display."""

    def start(self, total: int) -> None: ...

    def update(self, state: str) -> None: ...

    def finish(self) -> None: ...


class _Pacer:
    """Global rate limit: messages start at least `interval` seconds apart."""

    def __init__(self, per_second: float | None, per_hour: float | None) -> None:
        gaps = [1 / per_second if per_second else 0.0, 3600 / per_hour if per_hour else 0.0]
        self.interval = max(gaps)
        self.next = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            if self.next > now:
                await asyncio.sleep(self.next - now)
            self.next = max(now, self.next) + self.interval


class Dispatcher:
    def __init__(self, settings: Settings, ledger: Ledger, plan: Plan,
                 compiled: dict[tuple[int, ...], CompiledVariant],
                 transport_factory: Callable[[], Transport], *, connections: int,
                 signer: Callable[[bytes], bytes] | None = None, progress: ProgressHook | None = None,
                 envelope: Callable[[str], str] | None = None) -> None:
        self.settings, self.ledger, self.plan, self.compiled = settings, ledger, plan, compiled
        self.factory, self.connections, self.signer = transport_factory, max(1, connections), signer
        self.issue = plan.issue.month
        self.entries = {e.key: e for e in plan.entries}
        self.queue: deque[Delivery] = deque()
        self.summary = Summary()
        self.commit = GroupCommit(ledger, self.issue)
        self.pacer = _Pacer(settings.rate_per_second, settings.rate_per_hour)
        self.stopping = ""
        self.error: NewsletterError | None = None
        self.progress = progress
        self.conn_failures = 0
        # the envelope sender (MAIL FROM) by subscriber id: VERP with bounce_address, else fixed
        self.envelope = envelope or (lambda sid: settings.envelope_from)
        self.ahead = Ahead(self.commit)  # per connection, the delivery whose envelope goes first

    def stop(self, why: str) -> None:
        if not self.stopping:
            self.stopping = why

    async def run(self, due: list[Delivery]) -> Summary:
        self.queue.extend(due)
        if self.progress:
            self.progress.start(len(due))
        start = time.monotonic()
        n = min(self.connections, len(due) or 1)
        self.commit.members = n
        workers = [asyncio.create_task(self._worker(wid)) for wid in range(n)]
        try:
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            # interrupted: give in-flight transactions a grace period, then record what is known
            self.stop("interrupted")
            _, pending = await asyncio.wait(workers, timeout=GRACE_SECONDS)
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self.error = self.error or Interrupted("interrupted; run `newsletter send` again to finish")
        finally:
            try:
                self.commit.close()
            except LedgerError as exc:
                self.error = self.error or exc
            self.summary.elapsed = time.monotonic() - start
            if self.progress:
                self.progress.finish()
        return self.summary

    async def _worker(self, wid: int) -> None:
        transport = self.factory()
        try:
            while not self.stopping and (self.queue or wid in self.ahead):
                if wid in self.ahead:
                    await self._deliver(wid, transport, *self.ahead.pop(wid))
                else:
                    await self._deliver(wid, transport, self.queue.popleft())
        except LedgerError as exc:
            self.error = self.error or exc
            self.stop("the state database cannot be written")
        finally:
            try:
                await asyncio.shield(self.ahead.leave(wid, self.queue))
            except LedgerError as exc:
                self.error = self.error or exc
            self.commit.leave()
            try:
                await transport.close()
            except Exception:  # noqa: BLE001, S110 - a broken connection must not hide the outcome
                pass

    def _upcoming(self, wid: int, transport: Transport) -> Upcoming | None:
        """Take the next delivery for connection `wid` now, so that its envelope can ride behind
        the message being sent (RFC 2920; see `ahead`); None when there is none to take, or a
        rate limit spaces transaction starts."""
        if self.stopping or not self.queue or wid in self.ahead or self.pacer.interval:
            return None
        item = self.queue[0]
        entry = self.entries[item.email_key]
        if self.ledger.is_suppressed(item.email_key):
            return None  # its own turn settles it
        date = item.date if item.state == "unknown" else now_header()
        data: bytes = self.compiled[entry.selection].build(entry.recipient, date=date)
        if self.signer:
            data = self.signer(data)
        self.queue.popleft()
        self.ahead.take(wid, item, data, self.commit.mark(item.email_key, "sending", count=True, date=date))
        r = entry.recipient
        return Upcoming(self.envelope(r.sid), r.email, len(data), r.smtputf8)

    async def _deliver(self, wid: int, transport: Transport, item: Delivery, data: bytes | None = None,
                       sending: asyncio.Future[None] | None = None) -> None:
        entry = self.entries[item.email_key]
        if sending is None and self.ledger.is_suppressed(item.email_key):  # an unsubscribe may arrive mid-run
            await self.commit.mark(item.email_key, "skipped", reply=SUPPRESSED_DURING_RUN)
            self._count("skipped")
            self.summary.skip_reasons[SUPPRESSED_DURING_RUN] += 1
            return
        r = entry.recipient
        # Date is stamped now (RFC 5322 §3.6.1), not when the campaign began; only a resend of
        # an `unknown` message repeats the stored one, so it is the same message, byte for byte
        if data is None or sending is None:
            date = item.date if item.state == "unknown" else now_header()
            data = self.compiled[entry.selection].build(r, date=date)
            if self.signer:
                data = self.signer(data)
            await self.commit.mark(item.email_key, "sending", count=True, date=date)
            # Paced after the group commit, which releases several connections at once: the
            # rate limit holds on the wire (transaction starts), not just at the ledger.
            await self.pacer.wait()
        else:  # taken ahead: marked `sending` while the last round trip ran
            await sending
        try:
            reply = await transport.send(self.envelope(r.sid), r.email, data, smtputf8=r.smtputf8,
                                         upcoming=lambda: self._upcoming(wid, transport))
        except SendError as exc:
            await self._refused(item, entry, exc)
            return
        except asyncio.CancelledError:
            await asyncio.shield(self.commit.mark(item.email_key, "unknown", reply="interrupted during the "
                                                  "transaction; may have been delivered"))
            raise
        self.conn_failures = 0
        lags = self.ahead.lags(wid, "sent")
        await self.ahead.settled(wid, self.commit.mark(item.email_key, "sent", reply.code, reply.text[:500],
                                                       urgent=not lags), lags)
        self._count("sent")

    async def _refused(self, item: Delivery, entry: Entry, exc: SendError) -> None:
        key, text = item.email_key, exc.text[:500]
        retry = self.settings.retry
        if exc.kind == ErrorKind.FATAL:
            await self.commit.mark(key, "pending", exc.code, text)
            self.error = self.error or FatalSMTPError(f"stopped: {exc}. Nobody was marked failed; fix the "
                                                      "configuration and run `newsletter send` again")
            self.stop("fatal")
            return
        if exc.kind == ErrorKind.CONNECTION:
            await self.commit.mark(key, "pending", exc.code, text)
            self.queue.appendleft(item)
            self.conn_failures += 1
            if self.conn_failures > retry.connect_retries:
                self.error = self.error or TransientError(
                    f"stopped after {self.conn_failures} failed connection attempts ({exc}); "
                    "everyone not yet sent stays pending: run `newsletter send` again later")
                self.stop("connection")
                return
            delay = retry.backoff_seconds * 2 ** (self.conn_failures - 1)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            return
        if exc.kind == ErrorKind.AMBIGUOUS:
            await self.commit.mark(key, "unknown", exc.code, text)
            self._count("unknown")
            return
        outcome = classify(exc)
        if outcome == Outcome.TOO_LARGE:
            await self.commit.mark(key, "pending", exc.code, text)
            self.error = self.error or NewsletterError(f"stopped: the server refuses the message as too "
                                                       f"large ({exc}); shorten the issue")
            self.stop("too large")
            return
        if outcome == Outcome.POLICY:
            self.summary.policy += 1
            if self.summary.policy >= retry.breaker_threshold:
                self.error = self.error or TransientError(
                    f"paused after {self.summary.policy} policy rejections (5.7.x), the last: {exc}. "
                    "This usually means an SPF/DKIM/DMARC alignment or reputation problem, not bad "
                    "addresses; nobody was suppressed. Fix it and run `newsletter send` again")
                self.stop("circuit breaker")
        attempts = item.attempts + 1
        if outcome in (Outcome.DEFERRED, Outcome.POLICY) and attempts < retry.max_attempts:
            wait = min(retry.max_defer_seconds, retry.defer_seconds * 2 ** (attempts - 1))
            await self.commit.mark(key, "deferred", exc.code, text, time.time() + wait)
            self._count("deferred")
            return
        if outcome == Outcome.BOUNCE:
            self.ledger.suppress(key, Reason.HARD_BOUNCE, "smtp", f"{exc.code} {text}")
        await self.commit.mark(key, "failed", exc.code, text)
        self._count("failed")

    def _count(self, state: str) -> None:
        setattr(self.summary, state, getattr(self.summary, state) + 1)
        if self.progress:
            self.progress.update(state)


def install_signal_handlers(task: asyncio.Task[object]) -> None:
    """SIGINT and SIGTERM cancel the main task once; the dispatcher then winds down."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, task.cancel)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            pass


__all__ = ["Composer", "Dispatcher", "ProgressHook", "Summary", "install_signal_handlers"]
