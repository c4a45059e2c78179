"""Markdown for the author's prose: safe HTML for the e-mail, plain text for the text part.

Raw HTML in the Markdown is shown as text (markdown-it `html=False`), link schemes other than
http(s) and mailto are dropped, and the plain-text rendering turns links into numbered
references collected by the caller.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from . import rhythm

WIDTH = 72


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image"])  # images in prose would need alt text and hosting; keep prose textual
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.core.ruler.push("rhythm", rhythm.split_long_paragraphs)  # short paragraphs, both parts
    return md


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(("https://", "http://", "mailto:"))


def to_html(src: str) -> str:
    return str(_md().render(src)).strip()


def to_plain(src: str) -> str:
    """Markdown → one line of plain text (for a preheader)."""
    out: list[str] = []
    for tok in _md().parse(src):
        if tok.type == "inline" and tok.children:
            out.append("".join(c.content if c.type in ("text", "code_inline") else " "
                               for c in tok.children if c.type in ("text", "code_inline", "softbreak",
                                                                   "hardbreak")))
    return " ".join(" ".join(out).split())


class References:
    """Numbered link references shared by all blocks of one plain-text message."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def number(self, url: str) -> int:
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1


def to_text(src: str, refs: References, width: int = WIDTH) -> str:
    """Markdown → wrapped plain text; links become `text [n]`."""
    blocks: list[tuple[str, bool]] = []  # (text, is a list item)
    prefix_stack: list[str] = []
    tokens = _md().parse(src)
    ordered: list[int] = []
    for tok in tokens:
        if tok.type == "bullet_list_open":
            ordered.append(0)
        elif tok.type == "ordered_list_open":
            ordered.append(int(tok.attrGet("start") or 1))
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            ordered.pop()
        elif tok.type == "list_item_open":
            if ordered and ordered[-1]:
                prefix_stack.append(f"{ordered[-1]}. ")
                ordered[-1] += 1
            else:
                prefix_stack.append("- ")
        elif tok.type == "list_item_close":
            prefix_stack.pop()
        elif tok.type == "blockquote_open":
            prefix_stack.append("> ")
        elif tok.type == "blockquote_close":
            prefix_stack.pop()
        elif tok.type in ("fence", "code_block"):
            blocks.append((tok.content.rstrip("\n"), False))
        elif tok.type == "inline":
            text = _inline(tok.children or [], refs)
            indent = "  " * max(0, len(prefix_stack) - 1)
            first = indent + (prefix_stack[-1] if prefix_stack else "")
            rest = indent + " " * len(prefix_stack[-1]) if prefix_stack else ""
            filled = textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest,
                                   break_long_words=False, break_on_hyphens=False)
            blocks.append((filled, bool(prefix_stack)))
    # consecutive list items are separated by single newlines, everything else by blank lines
    out: list[str] = []
    prev_item = False
    for text_block, is_item in blocks:
        if out:
            out.append("\n" if (is_item and prev_item) else "\n\n")
        out.append(text_block)
        prev_item = is_item
    return "".join(out)


def _inline(children: list[Token], refs: References) -> str:
    parts: list[str] = []
    href: str | None = None
    for c in children:
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif c.type == "link_open":
            href = str(c.attrGet("href") or "")
        elif c.type == "link_close" and href:
            parts.append(f" [{refs.number(href)}]")
            href = None
    return " ".join("".join(parts).split())
