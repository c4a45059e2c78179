"""The last good render of each issue view, shown dimmed while the files are broken: the author
keeps their place in the e-mail while fixing a typo, and the page returns to live as soon as
the file is valid again."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from ...mail.checks import Check
from .views import IssueView

KEEP = 16  # renders kept: one per issue and variant looked at, the least recently used dropped


@dataclass(frozen=True)
class GoodRender:
    """What a view showed when it last could be built: the message and its parts and checks."""

    raw: bytes
    html: str
    text: str
    checks: list[Check]
    selection: tuple[int, ...]
    reader: str
    at: float  # when it was rendered (Unix time)


class LastGood:
    """Good renders by (issue, variant); `update` stores or recalls one for a finished view."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._renders: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], GoodRender] = OrderedDict()

    def update(self, view: IssueView) -> None:
        """A view without problems is remembered (if it has a message); a view with problems
        loses any half-built message and shows the last good one instead, marked `stale`."""
        key = (view.name, tuple(view.variant.query()))
        with self._lock:
            if not view.problems:
                if view.raw:
                    self._renders[key] = GoodRender(view.raw, view.html, view.text, view.checks, view.selection,
                                                    view.reader, time.time())
                    self._renders.move_to_end(key)
                    while len(self._renders) > KEEP:
                        self._renders.popitem(last=False)
                return
            good = self._renders.get(key)
        view.raw = b""
        if good is not None:
            view.raw, view.html, view.text, view.checks = good.raw, good.html, good.text, good.checks
            view.selection, view.reader = good.selection, good.reader
            view.stale = time.strftime("%H:%M:%S", time.localtime(good.at))
