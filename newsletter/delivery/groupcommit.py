"""Group commit of delivery states across the send loop's connections (one transaction, and one
fsync, per batch of marks instead of per message)."""

from __future__ import annotations

import asyncio
import time

from ..store.ledger import Ledger, LedgerError, Mark

COMMIT_WAIT_MIN = 0.0005  # seconds a mark may wait for others before its transaction is written
COMMIT_WAIT_MAX = 0.002


class GroupCommit:
    """Group commit across connections: a mark's future resolves once its row is committed.

    A commit costs an fsync (synchronous=FULL), so marks wait briefly for one another: the
    transaction is written as soon as every running connection has a mark waiting, or once the
    oldest mark has waited about as long as a commit takes, whichever comes first. A
    connection that has nothing to mark soon (a slow server, a rate limit) thus delays the
    others by about one commit at most.

    A transaction of nothing but `sent` marks is committed without its own fsync: it survives
    a crash of this process as it is, and the next transaction (every `sending` mark is fully
    durable before its DATA) or the end of the run puts it on disk. Only a crash of the whole
    machine in between could lose it, and then the row is still `sending`, which the next run
    turns into `unknown`, never into a second copy.
    """

    def __init__(self, ledger: Ledger, issue: str) -> None:
        self.ledger, self.issue = ledger, issue
        self.pending: list[Mark] = []
        self.waiters: list[asyncio.Future[None]] = []
        self.scheduled = False
        self.timer: asyncio.TimerHandle | None = None
        self.members = 1  # connections that may still mark; kept up to date by the dispatcher
        self.cost = COMMIT_WAIT_MIN  # how long a commit takes (moving average), in seconds
        self.unsynced = False  # a commit made without fsync is not on disk yet
        self.urgent = 0  # marks waiting that someone waits for

    def mark(self, key: str, state: str, code: int | None = None, reply: str | None = None,
             next_attempt: float = 0.0, attempts: int = 0, date: str | None = None, *,
             seq: int | None = None, follows: int | None = None, urgent: bool = True) -> asyncio.Future[None]:
        """Record `state` for `key` (with the reply, when a retry is due, `attempts` to add to
        its count, the Date header of a message being handed over, a `sending` mark's `seq` and,
        for a delivery taken ahead, the `seq` of the mark it `follows`); the future resolves once
        the row is committed (LedgerError if not)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self.pending.append((key, state, code, reply, next_attempt, attempts, date, seq, follows))
        self.waiters.append(fut)
        if not urgent:  # nobody waits for it: it goes with the next commit, or at `close`
            return fut
        self.urgent += 1
        if self.urgent >= self.members:
            self._soon(loop)
        elif self.timer is None and not self.scheduled:
            wait = min(COMMIT_WAIT_MAX, max(COMMIT_WAIT_MIN, 2 * self.cost))
            self.timer = loop.call_later(wait, self._flush)
        return fut

    def kick(self) -> None:
        """Commit what is waiting at the end of this loop turn (marks nobody else will follow)."""
        if self.pending:
            self._soon(asyncio.get_running_loop())

    def leave(self) -> None:
        """A connection is done: the others no longer wait for its marks."""
        self.members = max(1, self.members - 1)
        if self.pending and self.urgent >= self.members:
            self._soon(asyncio.get_running_loop())

    def _soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.scheduled:  # at the end of this loop turn, with whatever else it marks
            self.scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.scheduled = False
        if not self.pending:
            return
        batch, waiters = self.pending, self.waiters
        self.pending, self.waiters, self.urgent = [], [], 0
        started = time.perf_counter()
        light = all(m[1] == "sent" for m in batch)
        try:
            if light:
                with self.ledger.without_fsync():
                    self.ledger.mark_many(self.issue, batch)
            else:
                self.ledger.mark_many(self.issue, batch)
        except Exception as exc:  # noqa: BLE001 - whatever it is, nobody may wait for it forever
            err = exc if isinstance(exc, LedgerError) else LedgerError(f"cannot record state: {exc!r}")
            for w in waiters:
                if not w.done():
                    w.set_exception(err)
            return
        if light:
            self.unsynced = True
        else:  # the fsync of this commit also wrote every earlier one
            self.unsynced = False
            self.cost = 0.8 * self.cost + 0.2 * (time.perf_counter() - started)
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def durable(self, fut: asyncio.Future[None]) -> None:
        """Wait until the mark `fut` is committed and on disk (a commit of `sent` marks alone
        skips its fsync; see above): commits what waits now, then syncs if needed. Raises
        LedgerError."""
        if not fut.done():
            self.kick()
        await fut
        if self.unsynced and self.ledger.fsyncs:
            self.ledger.sync()
            self.unsynced = False

    def close(self) -> None:
        """Write whatever is still waiting (marks made while the run was being interrupted) and
        put it all on disk."""
        self._flush()
        if self.unsynced:
            self.ledger.sync()
            self.unsynced = False
