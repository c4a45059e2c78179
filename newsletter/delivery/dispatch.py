"""The send loop: N reused connections over one queue, a durable ledger, retries by reply code.

Invariant: a message is handed to the transport only after its `sending` row is committed,
and `sent` is committed after the 250. Commits from all connections are grouped (one
transaction per loop turn), so durability costs one fsync per batch, not per message.

Every transaction ends in `settle` (delivery.policy), the one place its outcome is decided;
connections fail and back off one by one (`Pool`); a stop (Ctrl-C, SIGTERM, a fatal reply,
the circuit breaker) stops the taking of recipients and lets the ones in flight finish
(`Stopper`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..content.config import Settings
from ..mail.compose import now_header
from ..mail.message import CompiledVariant
from ..store.ledger import Delivery, Ledger, LedgerError, Reason
from .ahead import Ahead
from .breaker import Breaker
from .groupcommit import GroupCommit
from .plan import SUPPRESSED_DURING_RUN, Plan
from .policy import Verdict, settle
from .pool import Pool
from .stopping import Stopper, StopReason
from .transports.base import ErrorKind, Reply, SendError, Stage, Transport, Upcoming


@dataclass
class Summary:
    """What a run did: counts of this run's outcomes, why it stopped (None: its queue ran
    empty) and lines worth telling the user."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)  # skip_kind → how many
    elapsed: float = 0.0
    stop: StopReason | None = None
    stop_message: str = ""
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

    async def wait(self, stopper: Stopper) -> bool:
        """False if the run stopped while waiting."""
        if not self.interval:
            return not stopper.stopping
        async with self.lock:
            now = time.monotonic()
            if self.next > now and not await stopper.sleep(self.next - now):
                return False
            self.next = max(now, self.next) + self.interval
        return not stopper.stopping


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
        self.stopper = Stopper(settings.grace_seconds)
        self.pool = Pool(settings.retry, self.stopper)
        self.breaker = Breaker(settings.retry.breaker_threshold)
        self.progress = progress
        self.ledger_error: LedgerError | None = None
        self.ready = asyncio.Event()  # the first connection is open and the messages fit the relay
        self.ahead = Ahead(self.commit)  # per connection, the delivery whose envelope goes first
        self.current: dict[int, int] = {}  # per connection, the `seq` of the message it carries now
        self.seq = itertools.count(1)  # numbers this run's `sending` marks
        # the envelope sender (MAIL FROM) by subscriber id: VERP with bounce_address, else fixed
        self.envelope = envelope or (lambda sid: settings.envelope_from)

    async def run(self, due: list[Delivery]) -> Summary:
        """Send to everyone in `due`; returns the summary (`stop` says why it ended early)."""
        self.queue.extend(due)
        if self.progress:
            self.progress.start(len(due))
        start = time.monotonic()
        try:
            if due:
                await self._workers(min(self.connections, len(due)))
        finally:
            self.stopper.close()
            try:
                self.commit.close()
            except LedgerError as exc:
                self.ledger_error = self.ledger_error or exc
                self.stopper.stop(StopReason.STATE, str(exc))
            self.summary.elapsed = time.monotonic() - start
            if self.progress:
                self.progress.finish()
        if self.queue and not self.stopper.stopping:  # every connection left without a reason of its own
            self.stopper.stop(StopReason.UNREACHABLE, "stopped: no connection to the relay is left")
        self.summary.stop, self.summary.stop_message = self.stopper.reason, self.stopper.message
        if self.pool.note:
            self.summary.replies.append(self.pool.note)
        return self.summary

    async def _workers(self, n: int) -> None:
        # pre-flight on the first connection (its EHLO names the relay's SIZE) before any other
        first = asyncio.ensure_future(self._worker(0))
        waiter = asyncio.ensure_future(self.ready.wait())
        await asyncio.wait({first, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        rest = [asyncio.ensure_future(self._worker(i)) for i in range(1, n)] if self.ready.is_set() else []
        await asyncio.gather(first, *rest)

    async def _worker(self, wid: int) -> None:
        transport = self.factory()
        self.pool.join(wid)
        self.commit.members = self.pool.active
        self.stopper.abort_hooks.add(transport.abort)
        try:
            while (self.queue or wid in self.ahead) and not self.stopper.stopping:
                if not await self.pool.connect(wid, transport):
                    break
                if not self.ready.is_set() and not self._fits(transport.max_size):
                    break
                self.ready.set()
                if self.stopper.stopping:
                    break
                if wid in self.ahead:
                    await self._deliver(wid, transport, *self.ahead.pop(wid))
                elif self.queue:
                    await self._deliver(wid, transport, self.queue.popleft())
        except LedgerError as exc:
            self.ledger_error = self.ledger_error or exc
            self.stopper.stop(StopReason.STATE, str(exc))
        finally:
            try:
                await self.ahead.leave(wid, self.queue)
            except LedgerError as exc:
                self.ledger_error = self.ledger_error or exc
                self.stopper.stop(StopReason.STATE, str(exc))
            self.pool.leave(wid)
            self.commit.leave()
            try:
                await transport.close()  # an abort (end of the grace period) cuts its QUIT short
            except Exception:  # noqa: BLE001, S110 - a broken connection must not hide the outcome
                pass
            self.stopper.abort_hooks.discard(transport.abort)

    def _fits(self, limit: int | None) -> bool:
        """Pre-flight against the relay's SIZE (RFC 1870): the largest message of each variant
        (for its reader with the longest name and address) must fit, or nothing is sent."""
        if limit is None:
            return True
        longest: dict[tuple[int, ...], tuple[int, str]] = {}
        for e in self.plan.entries:
            size = len(e.name.encode()) + len(e.email.encode())
            if e.selection in self.compiled and size >= longest.get(e.selection, (-1, ""))[0]:
                longest[e.selection] = (size, e.key)
        over = []
        for sel, (_, key) in sorted(longest.items()):
            try:
                n = len(self._message(key))
            except Exception:  # noqa: BLE001, S112 - that reader's own problem, settled when it is their turn
                continue
            if n > limit:
                over.append(f"the message with articles {[i + 1 for i in sel]} is {n:,} bytes")
        if over:
            self.stopper.stop(StopReason.TOO_LARGE, (
                f"pre-flight: the relay accepts messages of at most {limit:,} bytes (SIZE), but "
                f"{'; '.join(over)}. Shorten the issue (or ask for a larger limit); nothing was sent"))
        return not over

    def _message(self, key: str, date: str | None = None) -> bytes:
        data = self.compiled[self.entries[key].selection].build(self.entries[key].recipient, date=date)
        return self.signer(data) if self.signer else data

    def _upcoming(self, wid: int, transport: Transport) -> Upcoming | None:
        """Take the next delivery for connection `wid` now, so that its envelope can ride behind
        the message being sent (RFC 2920; see `ahead`); None when there is none to take, or a
        rate limit spaces transaction starts."""
        if self.stopper.stopping or not self.queue or wid in self.ahead or self.pacer.interval:
            return None
        item = self.queue[0]
        key = item.email_key
        date = item.date if item.state == "unknown" else now_header()
        try:
            data = self._message(key, date)
        except Exception:  # noqa: BLE001 - settled in its own turn
            return None
        limit = transport.max_size
        if (limit is not None and len(data) > limit) or self.ledger.is_suppressed(key):
            return None  # its own turn settles it
        seq = next(self.seq)
        self.ahead.take(wid, self.queue.popleft(), data,
                        self.commit.mark(key, "sending", date=date, seq=seq, follows=self.current.get(wid)), seq)
        entry = self.entries[key]
        return Upcoming(self.envelope(entry.sid), entry.email, len(data), entry.smtputf8)

    async def _deliver(self, wid: int, transport: Transport, item: Delivery, data: bytes | None = None,
                       sending: asyncio.Future[None] | None = None, seq: int | None = None) -> None:
        key = item.email_key
        entry = self.entries[key]
        if sending is None and self.ledger.is_suppressed(key):  # an unsubscribe may arrive mid-run
            await self.commit.mark(key, "skipped", reply=SUPPRESSED_DURING_RUN)
            self._count("skipped")
            self.summary.skip_reasons[SUPPRESSED_DURING_RUN] += 1
            return
        # Date is stamped now (RFC 5322 §3.6.1), not when the campaign began; only a resend of
        # an `unknown` message repeats the stored one, so it is the same message, byte for byte
        date = item.date if item.state == "unknown" else now_header()
        result: Reply | SendError
        try:
            data = data if data is not None else self._message(key, date)
        except Exception as exc:  # noqa: BLE001 - one reader's message, not the campaign
            result = SendError(ErrorKind.INTERNAL, None, f"cannot build the message: {type(exc).__name__}: {exc}")
        else:
            limit = transport.max_size
            if limit is not None and len(data) > limit:
                result = SendError(ErrorKind.RECIPIENT, 552, f"5.3.4 the message is {len(data):,} bytes; the "
                                   f"relay accepts at most {limit:,} (SIZE); not uploaded", Stage.MAIL)
            else:
                taken_ahead = sending is not None  # its `sending` mark is made (and numbered) already
                if sending is None:
                    seq = next(self.seq)
                    sending = self.commit.mark(key, "sending", date=date, seq=seq)
                await sending
                # Paced after the group commit, which releases several connections at once: the
                # rate limit holds on the wire (transaction starts), not just at the ledger.
                if not taken_ahead and not await self.pacer.wait(self.stopper):
                    await self.commit.mark(key, item.state)  # stopped before it began: as it was
                    self.queue.appendleft(item)
                    return
                assert seq is not None
                self.current[wid] = seq
                try:
                    result = await transport.send(self.envelope(entry.sid), entry.email, data,
                                                  smtputf8=entry.smtputf8,
                                                  upcoming=lambda: self._upcoming(wid, transport),
                                                  before_dot=(lambda: self._before_dot(wid)) if taken_ahead else None)
                except SendError as exc:
                    result = exc
        await self._settle(wid, item, result)

    async def _before_dot(self, wid: int) -> bool:
        """A delivery taken ahead may send its final dot only once the outcome of the message
        before it on this connection is on disk: then a crash leaves the `sending` mark it
        follows still `sending` only if its dot never left, which the next run can tell
        (`recover_interrupted`: pending, not unknown). False (dot withheld, run stopped) if the
        state database cannot record it."""
        try:
            await self.ahead.durable(wid)
        except LedgerError as exc:
            self.ledger_error = self.ledger_error or exc
            self.stopper.stop(StopReason.STATE, str(exc))
            return False
        return True

    async def _settle(self, wid: int, item: Delivery, result: Reply | SendError) -> None:
        key, stopper = item.email_key, self.stopper
        v = settle(result, item.attempts, self.settings.retry)
        if stopper.aborted and isinstance(result, SendError) and v.connection:
            v = _aborted(v, stopper.signal)
        if self.breaker.record(key, v):
            stopper.stop(StopReason.BREAKER, self.breaker.message)
            for k in self.breaker.revoked[:-1]:  # the row's earlier refusals were not theirs either
                await self.commit.mark(k, "pending", attempts=-1)
                self._count("failed", -1)
        v = self.breaker.revise(v)
        self.pool.record(wid, v)
        if v.fatal:
            stopper.stop(StopReason.FATAL, f"stopped: {result}. Nobody was marked failed; fix the configuration "
                                           "and run `newsletter send` again")
        if v.suppress:
            self.ledger.suppress(key, Reason.HARD_BOUNCE, "smtp", f"{v.code} {v.reply}")
        retry_at = time.time() + v.retry_in if v.state == "deferred" else 0.0
        lags = self.ahead.lags(wid, v.state)
        await self.ahead.settled(wid, self.commit.mark(key, v.state, v.code, v.reply, retry_at, attempts=v.attempts,
                                                       urgent=not lags), lags)
        if v.requeue and not stopper.stopping:
            self.queue.appendleft(replace(item, attempts=item.attempts + v.attempts))
        if v.state != "pending":
            self._count(v.state)

    def _count(self, state: str, n: int = 1) -> None:
        setattr(self.summary, state, getattr(self.summary, state) + n)
        if self.progress and n > 0:
            self.progress.update(state)


def _aborted(v: Verdict, signal_name: str) -> Verdict:
    """A transaction cut short by the end of the grace period, not by the server."""
    why = signal_name or "the stop"
    if v.state == "unknown":
        return replace(v, reply=f"stopped by {why} after the end of the message was sent; it may have "
                                f"been delivered")
    return replace(v, state="pending", attempts=0, requeue=False,
                   reply=f"stopped by {why} before the end of the message; not delivered")


__all__ = ["Dispatcher", "ProgressHook", "Summary"]
