"""Progress display: a rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.counts = {"sent": 0, "deferred": 0, "failed": 0, "unknown": 0, "skipped": 0}
        self.total = 0
        self.started = 0.0
        self.last_line = 0.0
        self._rich: object | None = None
        self._task: object | None = None

    def start(self, total: int) -> None:
        self.total, self.started = total, time.monotonic()
        if self.quiet or not total:
            return
        if self.stream.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            bar = RichProgress(
                TextColumn("[bold]sending"), BarColumn(), MofNCompleteColumn(),
                TextColumn("sent {task.fields[sent]} · deferred {task.fields[deferred]} · failed "
                           "{task.fields[failed]} · {task.fields[rate]:.0f}/s"),
                TimeRemainingColumn(), transient=False)
            bar.start()
            self._task = bar.add_task("send", total=total, sent=0, deferred=0, failed=0, rate=0.0)
            self._rich = bar
        else:
            print(f"sending to {total} recipients", file=self.stream, flush=True)

    def update(self, state: str) -> None:
        self.counts[state] += 1
        if self.quiet:
            return
        done = sum(self.counts.values())
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.counts["sent"] / elapsed
        if self._rich is not None:
            self._rich.update(self._task, completed=done, rate=rate, **{  # type: ignore[attr-defined]
                k: v for k, v in self.counts.items() if k in ("sent", "deferred", "failed")})
            return
        now = time.monotonic()
        if now - self.last_line >= 2.0 or done == self.total:
            self.last_line = now
            eta = (self.total - done) / (done / elapsed) if done else 0
            print(f"{done}/{self.total} sent {self.counts['sent']} deferred {self.counts['deferred']} "
                  f"failed {self.counts['failed']} unknown {self.counts['unknown']} "
                  f"{rate:.0f}/s eta {eta:.0f}s", file=self.stream, flush=True)

    def finish(self) -> None:
        if self._rich is not None:
            self._rich.stop()  # type: ignore[attr-defined]
            self._rich = None
