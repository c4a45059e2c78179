"""The local outbox (the Maildir the embedded default transport writes to), as the preview shows it.

`OutboxIndex` keeps the list of messages between page loads: a refresh costs two `stat` calls
while `new/` and `cur/` are unchanged (a Maildir only changes by adding, renaming or removing
files, each of which changes its folder's mtime), and only messages not seen before have their
headers read. Searching (subject, recipient) and the "[TEST] only" filter read every message's
headers once; after that they are kept.
"""

from __future__ import annotations

import email.parser
import email.policy
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)P(\d+)Q(\d+)")
_HEAD_LIMIT = 64 * 1024  # bytes read to find the end of a message's header
TEST_PREFIX = "[TEST]"


@dataclass(frozen=True)
class OutboxItem:
    """One message as the lists show it: its Maildir key and decoded Subject, To and Date."""

    key: str
    subject: str
    to: str
    date: str

    @property
    def is_test(self) -> bool:
        return self.subject.startswith(TEST_PREFIX)


@dataclass(frozen=True)
class Outbox:
    """One page of the outbox: `items` (newest first) of `matching` messages that pass the
    filter, out of `total`; `offset` is the page's first position among the matching."""

    path: Path
    items: list[OutboxItem]
    total: int
    error: str = ""
    matching: int = 0
    offset: int = 0
    query: str = ""
    test_only: bool = False
    newest: str = ""  # the newest matching message's key: what a confirmed "clear" may remove up to


def order(key: str) -> tuple[int, ...]:
    """Python's Maildir keys start with seconds, microseconds, pid and a counter."""
    m = _KEY_TIME.match(key)
    return tuple(int(g) for g in m.groups()) if m else (0, 0, 0, 0)


class OutboxIndex:
    """The messages of one Maildir, newest first, with their headers read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        self._listed_at = 0  # ns
        self._keys: list[str] = []  # newest first
        self._files: dict[str, Path] = {}
        self._heads: dict[str, OutboxItem] = {}
        self._parser = email.parser.BytesHeaderParser(policy=email.policy.default)

    def refresh(self) -> None:
        """Re-list the folders only when one of them changed since the last look."""
        try:
            stamp = tuple(os.stat(self.path / sub).st_mtime_ns for sub in ("new", "cur") if (self.path / sub).is_dir())
        except OSError:
            stamp = ()
        with self._lock:
            # A folder changed within a second of the last listing may have changed again since
            # without its mtime moving (coarse timestamps): then list it again to be sure.
            if stamp == self._stamp and max(stamp, default=0) < self._listed_at - 1_000_000_000:
                return
            self._listed_at = time.time_ns()
            files: dict[str, Path] = {}
            for sub in ("new", "cur"):
                try:
                    with os.scandir(self.path / sub) as entries:
                        for entry in entries:
                            if not entry.name.startswith("."):
                                files[entry.name.split(":", 1)[0]] = Path(entry.path)
                except OSError:
                    continue
            self._files, self._stamp = files, stamp
            self._keys = sorted(files, key=lambda k: (order(k), k), reverse=True)
            self._heads = {k: v for k, v in self._heads.items() if k in files}

    def page(self, *, query: str = "", test_only: bool = False, offset: int = 0, limit: int = 25) -> Outbox:
        """One page of the messages whose subject or recipient contains `query` (any case),
        only test copies if `test_only`."""
        try:
            self.refresh()
            keys = self._keys
            q = query.strip().casefold()
            if q or test_only:
                keys = [k for k in keys if (item := self.head(k)) is not None and _matches(item, q, test_only)]
            offset = max(0, min(offset, max(len(keys) - 1, 0)))
            items = [item for k in keys[offset:offset + limit] if (item := self.head(k)) is not None]
            return Outbox(self.path, items, len(self._keys), "", len(keys), offset, query.strip(), test_only,
                          keys[0] if keys else "")
        except OSError as exc:
            return Outbox(self.path, [], 0, f"cannot read the outbox: {exc.strerror or exc}")

    def head(self, key: str) -> OutboxItem | None:
        """Subject, recipient and date of one message (read once, then kept); None if gone."""
        item = self._heads.get(key)
        if item is not None:
            return item
        path = self._files.get(key)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                data = f.read(_HEAD_LIMIT)
        except OSError:
            return None
        end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=len(data))
        head = self._parser.parsebytes(data[:end] + b"\r\n\r\n")
        item = OutboxItem(key, str(head.get("Subject", "(no subject)")), str(head.get("To", "")),
                          str(head.get("Date", "")))
        self._heads[key] = item
        return item

    def warm(self) -> None:
        """Read every message's headers now (so the first search does not wait for them)."""
        self.refresh()
        for key in list(self._keys):
            self.head(key)

    def message(self, key: str) -> bytes | None:
        """The whole message; None if there is no such message (any key not listed, e.g. a path)."""
        self.refresh()
        path = self._files.get(key)
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
            return None

    def clear(self, *, query: str, test_only: bool, upto: str) -> int:
        """Delete the messages the filter shows that are not newer than `upto` (the newest the
        author saw when confirming); returns how many were deleted."""
        self.refresh()
        q, limit = query.strip().casefold(), (order(upto), upto)
        doomed = [k for k in self._keys if (order(k), k) <= limit and (
            (not q and not test_only) or ((item := self.head(k)) is not None and _matches(item, q, test_only)))]
        deleted = 0
        for key in doomed:
            try:
                self._files[key].unlink()
                deleted += 1
            except (OSError, KeyError):
                continue  # gone already
        self.refresh()
        return deleted


def _matches(item: OutboxItem, q: str, test_only: bool) -> bool:
    if test_only and not item.is_test:
        return False
    return not q or q in item.subject.casefold() or q in item.to.casefold()
