"""Reading an author's file as text: bounded size, UTF-8 only (a bad byte is located, UTF-16 and
a directory are named as such), a byte-order mark dropped; and how files are named in messages."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Report = Callable[[int, int, str], None]  # line, column, message


def read_text(p: Path, max_bytes: int, report: Report) -> str | None:
    """The text of the file, or None after reporting why it cannot be read."""
    try:
        size = os.stat(p).st_size
        if p.is_dir():
            report(1, 1, "is a directory, not a YAML file")
            return None
        if size > max_bytes:
            report(1, 1, f"file is {size:,} bytes; the limit is {max_bytes:,} bytes")
            return None
        with open(p, "rb") as f:  # bounded: a device or growing file can lie about its size
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            report(1, 1, f"file is over the limit of {max_bytes:,} bytes")
            return None
    except FileNotFoundError:
        report(1, 1, "no such file")
        return None
    except OSError as exc:
        report(1, 1, f"cannot read file: {exc.strerror or exc}")
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        report(1, 1, "file is UTF-16; save it as UTF-8")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[start:exc.start].decode("utf-8")) + 1  # in characters, as YAML counts
        report(line, col, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                          "save the file as UTF-8")
        return None
    return text.removeprefix("\ufeff")


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a character offset into `text`."""
    index = max(0, min(index, len(text)))
    start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - start + 1
