"""The Markdown the author may write in `intro`, `summary` and `implications`, and its check.

The subset (README, "Markdown in issues"): paragraphs, *emphasis*, **strong**, `code`, links
(https, http, mailto), autolinks, bullet and numbered lists (nested, several paragraphs per
item), blockquotes, hard line breaks, images (https, alt text required), GitHub pipe tables and
footnotes (`[^1]` with a `[^1]: …` definition, or inline `^[…]`). Everything else that Markdown
would turn into something (headings, rules, code blocks, raw HTML, strikethrough, other link
schemes) or silently leave as literal text (a footnote without its definition) is a located
problem with what to write instead: nothing reaches a reader other than the author meant.

`parser()` is the one configuration of markdown-it-py (with mdit-py-plugins' footnotes) that
the renderers in `mail/markup.py` use; `problems()` checks a field against the subset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from .rhythm import split_long_paragraphs

LINK_SCHEMES = ("https://", "http://", "mailto:")
_DANGLING_NOTE = re.compile(r"\[\^([^\]\s]+)\]")
_BLOCKS = {
    "heading_open": "a heading is not supported here (the article title is the heading); write "
                    "the line as **bold text**, or if '---' or '===' follows a line, remove it",
    "hr": "a horizontal rule ('---', '***') is not supported; leave a blank line between paragraphs",
    "code_block": "a line indented by 4 or more spaces becomes a code block; remove the indentation "
                  "(indent only list continuations, by the width of the list marker)",
    "fence": "code blocks (```) are not supported; use `inline code` within a paragraph",
}


@dataclass(frozen=True)
class ProseProblem:
    """A problem in one field: 0-based `line`, `col` within the field's text, and the message."""

    line: int
    col: int
    snippet: str  # the text at fault, to find it in the file
    message: str


def new_parser(*, html: bool = False) -> MarkdownIt:
    """A fresh parser of the subset (a renderer may add its own render rules to it); with
    `html=False`, raw HTML stays text and only http(s)/mailto links become links."""
    md = _configure(html)
    if not html:
        md.validateLink = safe_link  # type: ignore[method-assign]
        md.core.ruler.push("rhythm", split_long_paragraphs)  # short paragraphs, in both parts
    return md


def _configure(html: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": html, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    return md


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """The renderers' parser: raw HTML stays text and only http(s)/mailto links become links,
    whatever `problems()` was or was not asked first (defence in depth)."""
    return new_parser()


@lru_cache(maxsize=1)
def _checker() -> MarkdownIt:
    md = _configure(html=True)  # sees raw HTML as HTML, to name it
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # sees every link, to name it
    return md


def safe_link(url: str) -> bool:
    return url.strip().lower().startswith(LINK_SCHEMES)


def problems(src: str) -> list[ProseProblem]:
    """Every construct of `src` outside the supported subset, in source order."""
    env: dict[str, Any] = {}
    tokens = _checker().parse(src, env)
    lines = src.split("\n")
    out: list[ProseProblem] = []
    line = 0
    for tok in tokens:
        if tok.map:
            line = tok.map[0]
        if tok.type in _BLOCKS:
            out.append(_at(lines, line, lines[line].strip() if line < len(lines) else "", _BLOCKS[tok.type]))
        elif tok.type == "html_block":
            first = tok.content.strip().split("\n")[0]
            out.append(_at(lines, line, first, _COMMENT if first.startswith("<!--") else _HTML))
        elif tok.type == "inline" and tok.children:
            out.extend(_inline(lines, line, tok.children))
    refs = env.get("footnotes", {}).get("refs", {})
    for label, ident in refs.items():
        if ident == -1:  # defined, never referenced: markdown-it would drop it silently
            name = label[1:]
            out.append(_at(lines, 0, f"[^{name}]:", f"footnote [^{name}] is defined but never referenced; "
                           f"refer to it with [^{name}] where the note belongs, or remove it"))
    return sorted(out, key=lambda p: (p.line, p.col))


_HTML = ("raw HTML is not supported; write Markdown instead (**bold**, *italic*, [text](https://…)); "
         "to show a '<' as such, write \\<")
_COMMENT = ("an HTML comment is not supported (readers would see it); put notes to yourself on a YAML "
            "comment line of their own, starting with #")


def _inline(lines: list[str], line: int, children: list[Token]) -> list[ProseProblem]:
    out: list[ProseProblem] = []
    for i, c in enumerate(children):
        if c.type == "html_inline":
            out.append(_at(lines, line, c.content, _COMMENT if c.content.startswith("<!--") else _HTML))
        elif c.type == "s_open":
            out.append(_at(lines, line, "~~", "strikethrough (~~) is not supported; say in words what "
                           "no longer holds"))
        elif c.type == "link_open":
            href = str(c.attrGet("href") or "")
            if not safe_link(href):
                out.append(_at(lines, line, f"({href}" if href else "](",
                               f"link target {href!r} must be an absolute https://, http:// or mailto: "
                               "address"))
            elif i + 1 < len(children) and children[i + 1].type == "image":
                out.append(_at(lines, line, "[![", "an image inside a link is not supported; put the "
                               "link in the text next to the figure"))
        elif c.type == "image":
            out.extend(_image(lines, line, c))
        elif c.type == "text":
            for m in _DANGLING_NOTE.finditer(c.content):
                out.append(_at(lines, line, m.group(), f"footnote {m.group()} has no definition; add a "
                               f"line '{m.group()}: the note' after the paragraph (blank line before it)"))
    return out


def _image(lines: list[str], line: int, img: Token) -> list[ProseProblem]:
    src = str(img.attrGet("src") or "")
    out = []
    if not src.lower().startswith("https://"):
        out.append(_at(lines, line, f"({src}" if src else "![",
                       f"image address {src!r} must start with https:// (mail clients block other images)"))
    if not img.content.strip():
        out.append(_at(lines, line, "![", "an image needs alt text, for readers who cannot see it "
                       "and for mail clients that block images: ![what the figure shows](https://…)"))
    return out


def _at(lines: list[str], line: int, snippet: str, message: str) -> ProseProblem:
    """Locate `snippet` at or after `line` (the construct's first line); else the line's start."""
    for n in range(line, len(lines)):
        col = lines[n].find(snippet) if snippet else -1
        if col >= 0:
            return ProseProblem(n, col, snippet, message)
    return ProseProblem(min(line, max(0, len(lines) - 1)), 0, snippet, message)
