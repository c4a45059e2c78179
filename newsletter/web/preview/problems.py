"""Problems as the preview shows them: located, with the offending line of the file quoted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import InputError, NewsletterError, Problem

_LOCATED = re.compile(r"^(?P<path>[^\n]+?):(?P<line>\d+):(?P<col>\d+):(?P<rest>.*)$")


@dataclass(frozen=True)
class Located:
    """A problem as the page shows it, with the offending line of the file quoted."""

    where: str  # "path:line:col" or "" when the message carries no location
    message: str
    severity: str = "error"
    line: int = 0
    col: int = 0
    quote: str | None = None


def quote_line(path: str, line: int) -> str | None:
    """The text of `line` in `path` (relative to the working directory, as messages print it)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for i, text in enumerate(f, 1):
                if i == line:
                    return text.rstrip("\r\n").expandtabs(4)[:400]
    except OSError:
        return None
    return None


def locate_problem(p: Problem) -> Located:
    field_ = f"{p.field}: " if p.field else ""
    tag = "warning: " if p.severity == "warning" else ""
    return Located(f"{p.path}:{p.line}:{p.col}", f"{tag}{field_}{p.message}", p.severity, p.line,
                   p.col, quote_line(p.path, p.line))


def locate_error(exc: NewsletterError) -> list[Located]:
    """Every line of an error message, each with its location quoted when it names one."""
    if isinstance(exc, InputError):
        return [locate_problem(p) for p in exc.problems]
    out = []
    for text in str(exc).splitlines() or [type(exc).__name__]:
        m = _LOCATED.match(text)
        if m is None:
            out.append(Located("", text))
            continue
        line, col = int(m["line"]), int(m["col"])
        out.append(Located(f"{m['path']}:{line}:{col}", m["rest"].strip(), "error", line, col,
                           quote_line(m["path"], line)))
    return out


def unexpected(exc: Exception) -> Located:
    return Located("", f"unexpected error (a bug in newsletter, see the terminal): "
                       f"{type(exc).__name__}: {exc}")
