"""Stopping a run gracefully: a stop flag, a grace period, then an abort; never task cancellation
of a transaction in flight."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class StopReason(StrEnum):
    """Why a run stopped before its queue was empty (the caller maps each to an exit code)."""

    INTERRUPTED = "interrupted"  # Ctrl-C / SIGTERM
    FATAL = "fatal"  # relay configuration: TLS, authentication, sender refused
    UNREACHABLE = "unreachable"  # no connection for a whole retry window
    BREAKER = "breaker"  # the circuit breaker tripped
    STATE = "state"  # the state database cannot be written
    TOO_LARGE = "too_large"  # pre-flight: a variant exceeds the relay's SIZE


class Stopper:
    """The run's stop flag. `stop` ends the taking of new recipients; transactions in flight
    finish. `interrupt` (the signal handler) also starts the grace period of `grace` seconds,
    after which, or at a second signal, `abort` drops every registered connection, so the
    transactions still in flight end at once and are recorded by the stage they reached."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.reason: StopReason | None = None
        self.message = ""
        self.signal = ""  # the name of the signal that interrupted the run
        self.aborted = False
        self.event = asyncio.Event()
        self.abort_hooks: set[Callable[[], None]] = set()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def stopping(self) -> bool:
        return self.reason is not None

    def stop(self, reason: StopReason, message: str = "") -> None:
        """The first reason wins; later ones are consequences."""
        if self.reason is None:
            self.reason, self.message = reason, message
            self.event.set()

    def interrupt(self, name: str) -> None:
        if self.signal:
            self.abort()  # a second Ctrl-C: do not wait for the grace period
            return
        self.signal = name
        self.stop(StopReason.INTERRUPTED)  # unless the run was already stopping for a reason of its own
        self._timer = asyncio.get_running_loop().call_later(self.grace, self.abort)

    def abort(self) -> None:
        self.aborted = True
        for hook in list(self.abort_hooks):
            hook()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    async def sleep(self, seconds: float) -> bool:
        """Wait `seconds` unless the run stops first; False if it did."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), max(0.0, seconds))
        return not self.stopping

    async def unless_stopped(self, aw: Awaitable[T]) -> tuple[bool, T | None]:
        """Run `aw` (something with no transaction in flight, e.g. connecting) unless the run
        stops first, which cancels it: (True, its result) or (False, None)."""
        task: asyncio.Future[T] = asyncio.ensure_future(aw)
        stopped: asyncio.Future[Any] = asyncio.ensure_future(self.event.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if task.done():
            return True, task.result()
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task
        return False, None

    @contextmanager
    def signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM call `interrupt` while the run is on; the handlers before are
        restored after (the command line's, which end pre-flight at once: nothing in flight)."""
        loop = asyncio.get_running_loop()
        before: dict[signal.Signals, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                before[sig] = signal.getsignal(sig)
                loop.add_signal_handler(sig, self.interrupt, sig.name)
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not the main thread
                before.pop(sig, None)
        try:
            yield
        finally:
            for sig, handler in before.items():
                loop.remove_signal_handler(sig)
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


__all__ = ["StopReason", "Stopper"]
