"""Deliveries taken ahead, one per connection, so that pipelining (RFC 2920) can send the next
envelope right behind the message in flight; and the ledger marks that then need no waiting.

A delivery taken ahead is marked `sending` at once, with the number (`seq`) of the `sending`
mark it `follows` on its connection: the commit (an fsync with `durability: disk`) runs while
the round trip does, so it is durable long before its own message goes out, as the send loop's
invariant requires.
The `sent` mark of the message before it is committed in the same group; nothing waits for it
until the delivery taken ahead is about to send its final dot (`durable`). So after a crash, a
`sending` row whose followed mark is itself still `sending` never had its dot sent (the next run
makes it `pending`), and any other `sending` row may have (`unknown`, never a second copy). A connection
that leaves puts its delivery taken ahead back, `pending` and first in line: at most its
envelope was sent.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ..store.ledger import Delivery
from .groupcommit import GroupCommit


class Ahead:
    """Per connection id: the delivery taken ahead (with its message bytes and its `sending`
    mark) and the last `sent` mark not waited for. Marks raise LedgerError when awaited."""

    def __init__(self, commit: GroupCommit) -> None:
        self.commit = commit
        self.taken: dict[int, tuple[Delivery, bytes, asyncio.Future[None], int]] = {}
        self.lagging: dict[int, asyncio.Future[None]] = {}

    def __contains__(self, wid: int) -> bool:
        return wid in self.taken

    def take(self, wid: int, item: Delivery, data: bytes, sending: asyncio.Future[None], seq: int) -> None:
        """`item` and its message `data` taken ahead; `sending` is its `sending` mark, `seq`
        that mark's number."""
        self.taken[wid] = (item, data, _quiet(sending), seq)

    def pop(self, wid: int) -> tuple[Delivery, bytes, asyncio.Future[None], int]:
        return self.taken.pop(wid)

    def lags(self, wid: int, state: str) -> bool:
        """Whether the outcome `state` of connection `wid`'s transaction may commit later: a
        `sent` with a delivery taken ahead (it goes with that one's marks, unwaited)."""
        return state == "sent" and wid in self.taken

    async def settled(self, wid: int, mark: asyncio.Future[None], lags: bool) -> None:
        """A transaction's outcome `mark` was queued: wait for it, unless it `lags`."""
        _quiet(mark)  # if the lagging one raises, this one's error is the same failure
        await self._caught_up(wid)
        if lags:
            self.lagging[wid] = mark
        else:
            await mark

    async def durable(self, wid: int) -> None:
        """Wait until the last mark of connection `wid` not waited for is committed and on disk
        (see `GroupCommit.durable`); raises LedgerError."""
        lag = self.lagging.pop(wid, None)
        if lag is not None:
            await self.commit.durable(lag)

    async def _caught_up(self, wid: int) -> None:
        lag = self.lagging.pop(wid, None)
        if lag is not None:  # one message old: committed already, as a rule
            if not lag.done():
                self.commit.kick()
            await lag

    async def leave(self, wid: int, queue: deque[Delivery]) -> None:
        """Connection `wid` leaves: its delivery taken ahead goes back to `queue`'s front as
        `pending`; its last mark is waited for."""
        if wid in self.taken:
            item, _, sending, _ = self.taken.pop(wid)
            queue.appendleft(item)
            await asyncio.gather(sending, return_exceptions=True)
            # if even this cannot be written, the row stays `sending` and the next run makes it
            # `unknown`: conservative, never a second copy
            await asyncio.gather(self.commit.mark(item.email_key, "pending"), return_exceptions=True)
        await self._caught_up(wid)


def _quiet(fut: asyncio.Future[None]) -> asyncio.Future[None]:
    """Mark a failed mark's error as seen once it is set: a mark nobody gets to await (the run
    stopped on an earlier one's error) must not be reported again at exit. Awaiting it still
    raises."""
    fut.add_done_callback(lambda f: f.cancelled() or f.exception())
    return fut


__all__ = ["Ahead"]
