"""The send loop's connections: each with its own failure count and backoff, so the pool adapts
to what the relay accepts instead of one shared counter stopping the run."""

from __future__ import annotations

import random

from ..content.config import RetrySettings
from .policy import Verdict
from .stopping import Stopper, StopReason
from .transports.base import ErrorKind, SendError, Transport


class Pool:
    """Connection `wid`s of one run. A connection that fails backs off on its own schedule
    (`retry.backoff_seconds`, doubling, with jitter) and gives up after
    `retry.connect_retries` failures in a row; a delivery resets its count. A `421` at
    connect or greeting while other connections work is the relay's connection limit: that
    connection leaves and the pool shrinks to what the relay accepts (said once, in `note`).
    The run stops only when the last connection gives up: nothing could be sent for a whole
    retry window (`window` seconds)."""

    def __init__(self, retry: RetrySettings, stopper: Stopper) -> None:
        self.retry, self.stopper = retry, stopper
        self.active = 0  # connections started and not yet left
        self.alive: set[int] = set()  # connections whose last attempt worked
        self.failures: dict[int, int] = {}
        self.last: dict[int, str] = {}  # why the connection's last attempt failed
        self.in_transaction: dict[int, bool] = {}  # that failure came after the connection opened
        self.largest = 0  # most connections open at once
        self.refused: SendError | None = None  # the 421 that shrank the pool, if any

    @property
    def window(self) -> float:
        return float(self.retry.backoff_seconds * (2 ** self.retry.connect_retries - 1))

    def join(self, wid: int) -> None:
        self.active += 1
        self.failures.setdefault(wid, 0)

    def leave(self, wid: int) -> None:
        self.active -= 1
        self.alive.discard(wid)

    async def connect(self, wid: int, transport: Transport) -> bool:
        """Open `transport` (backing off after failures); False if this connection leaves
        the pool or the run stops."""
        while not transport.is_open:
            n = self.failures[wid]
            if n > self.retry.connect_retries:
                self._give_up(wid)
                return False
            if n and not await self.stopper.sleep(self.retry.backoff_seconds * 2 ** (n - 1) * random.uniform(0.8, 1.2)):
                return False
            try:
                done, _ = await self.stopper.unless_stopped(transport.open())
            except SendError as exc:
                if exc.kind == ErrorKind.FATAL:
                    self.stopper.stop(StopReason.FATAL, f"stopped: {exc}")
                    return False
                if exc.code == 421 and self.alive - {wid}:
                    self.refused = self.refused or exc  # the relay's limit: leave, the others go on
                    return False
                self.alive.discard(wid)
                self.failures[wid] += 1
                self.last[wid], self.in_transaction[wid] = str(exc), False
                continue
            if not done:
                return False
            self.alive.add(wid)
            self.largest = max(self.largest, len(self.alive))
        return True

    def record(self, wid: int, v: Verdict) -> None:
        """After a transaction: a lost connection counts against it; a reply resets it."""
        if v.connection:
            self.alive.discard(wid)
            self.failures[wid] += 1
            self.last[wid] = f"{v.code} {v.reply}" if v.code else v.reply
            self.in_transaction[wid] = True
        elif not v.fatal:
            self.failures[wid] = 0

    def _give_up(self, wid: int) -> None:
        if self.active > 1:
            return  # the others carry on
        last = self.last.get(wid) or "no reason given"
        hint = ""
        if self.in_transaction.get(wid):
            hint = (" The connections opened but their transactions broke off; if the relay says "
                    "PIPELINING but mishandles it, set `smtp: {pipelining: \"off\"}` in newsletter.yaml.")
        self.stopper.stop(StopReason.UNREACHABLE, (
            f"stopped: no connection to the relay worked for a whole retry window ({self.failures[wid]} "
            f"failures in a row, backing off {self.window:.3g} s in all; the last: {last}); everyone not yet "
            f"sent stays pending.{hint}"))

    @property
    def note(self) -> str:
        """One line about the relay's connection limit, if it showed one."""
        if self.refused is None:
            return ""
        return (f"the relay accepted only {self.largest} connection(s) at a time ({self.refused}); "
                f"the run went on with those")


__all__ = ["Pool"]
