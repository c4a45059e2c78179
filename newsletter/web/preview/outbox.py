"""The local outbox (the Maildir the embedded default transport writes to), read for the preview."""

from __future__ import annotations

import email.parser
import email.policy
import mailbox
import re
from dataclasses import dataclass
from pathlib import Path

_KEY_TIME = re.compile(r"^(\d+)\.M(\d+)P(\d+)Q(\d+)")


@dataclass(frozen=True)
class OutboxItem:
    key: str
    subject: str
    to: str
    date: str


@dataclass(frozen=True)
class Outbox:
    path: Path
    items: list[OutboxItem]  # newest first
    total: int
    error: str = ""


def _order(key: str) -> tuple[int, ...]:
    """Python's Maildir keys start with seconds, microseconds, pid and a counter."""
    m = _KEY_TIME.match(key)
    return tuple(int(g) for g in m.groups()) if m else (0, 0, 0, 0)


def _open(path: Path) -> mailbox.Maildir | None:
    if not (path / "new").is_dir() and not (path / "cur").is_dir():
        return None
    return mailbox.Maildir(path, factory=None, create=False)


def read_outbox(path: Path, limit: int = 12) -> Outbox:
    try:
        box = _open(path)
        if box is None:
            return Outbox(path, [], 0)
        keys = sorted(box.keys(), key=_order, reverse=True)
        items = []
        parser = email.parser.BytesParser(policy=email.policy.default)
        for key in keys[:limit]:
            try:
                with box.get_file(key) as f:
                    head = parser.parse(f, headersonly=True)  # type: ignore[arg-type]
            except (KeyError, OSError):
                continue  # removed meanwhile
            items.append(OutboxItem(key, str(head.get("Subject", "(no subject)")),
                                    str(head.get("To", "")), str(head.get("Date", ""))))
        return Outbox(path, items, len(keys))
    except OSError as exc:
        return Outbox(path, [], 0, f"cannot read the outbox: {exc.strerror or exc}")


def outbox_message(path: Path, key: str) -> bytes | None:
    try:
        box = _open(path)
        return box.get_bytes(key) if box is not None else None
    except (KeyError, OSError):
        return None
