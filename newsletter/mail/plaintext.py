"""The plain-text part: one line wrapper for every field, and a renderer over markdown-it tokens.

`wrap` breaks lines only at ordinary spaces: never inside a word or a URL, never at a no-break
space (U+00A0 from `&nbsp;`, U+202F, U+2007, U+2060), never at a hyphen. A word longer than the
room (a long URL) gets a line of its own: those are the only lines that may pass the width.

`TextRenderer` is structured as markdown-it-py's `RendererHTML`: one rule per token type in
`rules`, and `render(tokens)`. Container blocks (list items, blockquotes) give each line a
prefix: a list item's marker on its first line and its width in spaces on the lines after (so a
second paragraph stays under its item); a blockquote puts `> ` on every line and `>` on the
blank line between its paragraphs. Hard line breaks are kept, links become `text [n]` with `n`
from the message-wide `References` (in reading order), images `[Figure: alt] URL`, footnote
references superscript numbers whose notes are collected for the end of the article.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from markdown_it.token import Token

WIDTH = 72  # prose; footer lines and URLs may use up to LIMIT
LIMIT = 78  # RFC 5322 §2.1.1: lines SHOULD be no more than 78 characters
_BREAKABLE = re.compile(r"[ \t\n\r]+")  # only these; U+00A0, U+202F etc. hold words together
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
NBSP = "\u00a0"


def wrap(text: str, width: int = WIDTH, first: str = "", rest: str = "") -> list[str]:
    """`text` filled into lines of at most `width` characters (prefixes included), breaking
    only at ordinary spaces; `first`/`rest` prefix the first and following lines. A word that
    does not fit on a line of its own (a long URL) stands alone on one, past `width`."""
    lines: list[str] = []
    line, room = first, width
    has_word = False
    for word in _BREAKABLE.split(text.strip(" \t\n\r")):
        if not word:
            continue
        if has_word and len(line) + 1 + len(word) > room:
            lines.append(line)
            line, has_word = rest, False
        elif not has_word and not lines and first.strip() and len(first) + len(word) > room:
            lines.append(first)  # a label, then the long word (a URL) on a line of its own
            line = rest
        line = f"{line} {word}" if has_word else line + word
        has_word = True
    lines.append(line)
    return [ln.rstrip() for ln in lines]


def labelled(label: str, url: str, limit: int = LIMIT) -> str:
    """`label url` on one line if it fits within `limit`, else the URL on a line of its own."""
    return f"{label} {url}" if len(label) + 1 + len(url) <= limit else f"{label}\n{url}"


class References:
    """Numbered link references shared by all blocks of one plain-text message, in the order
    they are first met (render the blocks in reading order)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def number(self, url: str) -> int:
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1

    def lines(self, limit: int = LIMIT) -> list[str]:
        """The `[n] URL` list for the end of the message."""
        return [labelled(f"[{i}]", url, limit) for i, url in enumerate(self.urls, 1)]


def alt_text(image: Token) -> str:
    """An image's alt text as plain words (its Markdown label without the markup)."""
    kids = image.children or []
    return "".join(c.content for c in kids if c.type in ("text", "code_inline")) or image.content


def superscript(n: int) -> str:
    return str(n).translate(_SUPERSCRIPT)


@dataclass
class _Box:
    first: str  # prefix of the box's first line: a list marker or "> "
    rest: str  # prefix of every later line
    started: bool = False


@dataclass
class _List:
    number: int | None  # the next item's number; None for a bullet list
    tight: bool
    emitted: bool = False


@dataclass
class TextRenderer:
    """Markdown tokens → plain text of at most `width` columns (long URLs excepted)."""

    refs: References
    notes: list[str]  # footnote bodies of the article so far; numbering continues across fields
    width: int = WIDTH
    lines: list[str] = field(default_factory=list)
    boxes: list[_Box] = field(default_factory=list)
    lists: list[_List] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules: dict[str, Callable[[list[Token], int], int]] = {
            "bullet_list_open": self.list_open, "ordered_list_open": self.list_open,
            "bullet_list_close": self.list_close, "ordered_list_close": self.list_close,
            "list_item_open": self.item_open, "list_item_close": self.box_close,
            "blockquote_open": self.quote_open, "blockquote_close": self.box_close,
            "inline": self.inline, "table_open": self.table, "footnote_block_open": self.footnotes,
            "fence": self.code, "code_block": self.code, "hr": self.hr,
        }

    def render(self, tokens: list[Token]) -> str:
        self.notes_offset = len(self.notes)
        i = 0
        while i < len(tokens):
            rule = self.rules.get(tokens[i].type)
            i = rule(tokens, i) if rule else i + 1
        return "\n".join(self.lines)

    # -- containers ------------------------------------------------------------------------------
    def list_open(self, tokens: list[Token], i: int) -> int:
        tok = tokens[i]
        number = int(tok.attrGet("start") or 1) if tok.type == "ordered_list_open" else None
        self.lists.append(_List(number, _tight(tokens, i)))
        return i + 1

    def list_close(self, tokens: list[Token], i: int) -> int:
        self.lists.pop()
        return i + 1

    def item_open(self, tokens: list[Token], i: int) -> int:
        lst = self.lists[-1]
        marker = "- " if lst.number is None else f"{lst.number}. "
        if lst.number is not None:
            lst.number += 1
        self.boxes.append(_Box(marker, " " * len(marker)))
        return i + 1

    def quote_open(self, tokens: list[Token], i: int) -> int:
        self.boxes.append(_Box("> ", "> "))
        return i + 1

    def box_close(self, tokens: list[Token], i: int) -> int:
        self.boxes.pop()
        return i + 1

    # -- leaf blocks -----------------------------------------------------------------------------
    def inline(self, tokens: list[Token], i: int) -> int:
        self.emit(self.segments(tokens[i].children or []))
        return i + 1

    def code(self, tokens: list[Token], i: int) -> int:
        self.emit(tokens[i].content.rstrip("\n").split("\n"), fill=False)
        return i + 1

    def hr(self, tokens: list[Token], i: int) -> int:
        self.emit(["* * *"], fill=False)
        return i + 1

    def table(self, tokens: list[Token], i: int) -> int:
        from .texttable import layout  # here: texttable uses this module's wrap

        rows: list[list[str]] = []
        aligns: list[str] = []
        while tokens[i].type != "table_close":
            tok = tokens[i]
            if tok.type == "tr_open":
                rows.append([])
            elif tok.type in ("th_open", "td_open") and len(rows) == 1:
                aligns.append(str(tok.attrGet("style") or "").removeprefix("text-align:"))
            elif tok.type == "inline":
                rows[-1].append(" ".join(self.segments(tok.children or [])))
            i += 1
        self.emit(layout(rows, aligns, self.width - len(self._prefix(0))), fill=False)
        return i + 1

    def footnotes(self, tokens: list[Token], i: int) -> int:
        body: list[Token] = []
        while tokens[i].type != "footnote_block_close":
            tok = tokens[i]
            if tok.type == "footnote_open":
                body = []
            elif tok.type == "footnote_close":
                note = TextRenderer(self.refs, self.notes, self.width - 4)
                self.notes.append(note.render(body))
            elif tok.type != "footnote_anchor":
                body.append(tok)
            i += 1
        return i + 1

    # -- inline content --------------------------------------------------------------------------
    def segments(self, children: list[Token]) -> list[str]:
        """The text of one paragraph as segments separated by hard line breaks."""
        segs, cur = [], ""
        href: str | None = None
        for c in children:
            t = c.type
            if t in ("text", "code_inline", "html_inline"):
                cur += c.content
            elif t == "softbreak":
                cur += " "
            elif t == "hardbreak":
                segs.append(cur)
                cur = ""
            elif t == "link_open":
                href = None if c.markup == "autolink" else str(c.attrGet("href") or "")
            elif t == "link_close" and href:
                cur += f"{NBSP}[{self.refs.number(href)}]"
                href = None
            elif t == "image":
                if cur.strip():
                    segs.append(cur)
                src = str(c.attrGet("src") or "")
                segs.append(f"[Figure: {alt_text(c)}] {src}" if src.startswith("https://")
                            else f"[Figure: {alt_text(c)}]")
                cur = ""
            elif t == "footnote_ref":
                cur += superscript(self.notes_offset + int(c.meta["id"]) + 1)
        segs.append(cur)
        return [s for s in segs if s.strip()] or [""]

    # -- output ----------------------------------------------------------------------------------
    def _prefix(self, k: int) -> str:
        return "".join(b.first if k == 0 and not b.started else b.rest for b in self.boxes)

    def emit(self, parts: list[str], *, fill: bool = True) -> None:
        """Add one block: each part wrapped (or taken as a line), every line prefixed."""
        if self.lines and not self._tight():
            self.lines.append("".join(b.rest for b in self.boxes if b.started).rstrip())
        body: list[str] = []
        room = self.width - len(self._prefix(1))
        for part in parts:
            body.extend(wrap(part, room) if fill else [part])
        for k, line in enumerate(body):
            self.lines.append((self._prefix(k) + line).rstrip())
        for b in self.boxes:
            b.started = True
        for lst in self.lists:
            lst.emitted = True

    def _tight(self) -> bool:
        """No blank line before this block: it continues a tight list that has begun."""
        for lst in reversed(self.lists):
            if lst.emitted:
                return lst.tight
        return False


def _tight(tokens: list[Token], i: int) -> bool:
    """markdown-it hides the paragraphs of a tight list's items."""
    level = tokens[i].level
    for tok in tokens[i + 1:]:
        if tok.level == level and tok.type.endswith("_list_close"):
            break
        if tok.type == "paragraph_open" and tok.level == level + 2:
            return tok.hidden
    return True


def notes_text(notes: list[str], width: int = WIDTH) -> str:
    """The numbered notes of an article (bodies from `TextRenderer.notes`), or ''."""
    if not notes:
        return ""
    out = ["Notes:"]
    for n, body in enumerate(notes, 1):
        marker = f"{n}. "
        for k, line in enumerate(body.split("\n")):
            out.append((marker if k == 0 else " " * len(marker)) + line if line else "")
    return "\n".join(out)
