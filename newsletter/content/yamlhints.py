"""What a YAML scalar's spelling may have done to the author's text, and syntax-error hints.

PyYAML drops a same-line comment silently, reads `y` or `0o17` as text where other YAML
readers see a boolean or a number, and folds the lines of a `>` block into one; its syntax
errors for a value starting with an indicator (`@`, backtick, `%`, `*`, `&`, `!`) do not say
that quoting is the fix. `scalar_notes` records the first kind for the schema to report;
`syntax_message` words the second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from yaml import events as ev

# Plain scalars that PyYAML (YAML 1.1 as implemented) reads as text but other YAML readers do not
_SPECIAL = [(re.compile(r"^[yYnN]$"), "a boolean in YAML 1.1"),
            (re.compile(r"^[-+]?0o[0-7]+$"), "an octal number in YAML 1.2"),
            (re.compile(r"^(=|<<)$"), "a YAML 1.1 special key")]
# Markdown list or table syntax on a line of a folded (>) block, which folding joins into one line
_LIST_OR_TABLE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+\S|^\s*\|.*\|\s*$")
_COMMENT_AFTER = re.compile(r"^\s+#")
INDICATOR_HINT = ("; if this is text, put the whole value in quotes (\"...\", or a '|' block "
                  "for several lines)")


@dataclass(frozen=True)
class Note:
    """Something about how a scalar was written that may have changed the text: a same-line
    `comment` after a plain value (the text ends before it), a `special` plain value (read as
    text here, as a boolean or number elsewhere), a `folded` block holding list or table lines."""

    kind: str  # comment | special | folded
    line: int
    col: int
    text: str


def scalar_notes(e: ev.ScalarEvent, kind: str, lines: list[str]) -> tuple[Note, ...]:
    """What may have changed a plain or folded scalar's text (see `Note`); `lines` is the source."""
    notes = []
    end = e.end_mark
    if e.style == ">":
        for n in range(e.start_mark.line + 1, min(end.line + 1, len(lines))):
            if _LIST_OR_TABLE.match(lines[n]):
                indent = len(lines[n]) - len(lines[n].lstrip())
                notes.append(Note("folded", n + 1, indent + 1, lines[n].strip()))
                break
        return tuple(notes)
    rest = lines[end.line][end.column:] if end.line < len(lines) else ""
    if _COMMENT_AFTER.match(rest):
        notes.append(Note("comment", end.line + 1, end.column + len(rest) - len(rest.lstrip()) + 1,
                          rest.strip()))
    if kind == "str":
        for pattern, what in _SPECIAL:
            if pattern.match(e.value):
                notes.append(Note("special", e.start_mark.line + 1, e.start_mark.column + 1, what))
    return tuple(notes)


def syntax_message(exc: yaml.MarkedYAMLError, text: str) -> str:
    """PyYAML's problem in words an author can act on (the location is reported separately)."""
    mark, ctx = exc.problem_mark or exc.context_mark, exc.context_mark
    what = exc.problem or exc.context or "invalid YAML"
    if mark and text[mark.index:mark.index + 1] == "\t":
        return "a tab character; YAML is indented with spaces, never tabs"
    ch = text[mark.index:mark.index + 1] if mark else ""
    if "cannot start any token" in what and ch.isprintable() and not ch.isspace():
        return f"a value cannot start with {ch!r} in YAML; put the whole value in quotes (\"{ch}...\")"
    if exc.context and any(f"scanning {w}" in exc.context for w in ("an alias", "an anchor", "a block scalar",
                                                                       "a tag")):
        return what + f" ({exc.context}){INDICATOR_HINT}"
    if exc.problem and exc.context and ctx and mark and ctx.index != mark.index:
        # e.g. where the unclosed bracket or quote started
        what += f" ({exc.context} started on line {ctx.line + 1}, column {ctx.column + 1})"
    return what
