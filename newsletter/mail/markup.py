"""Markdown for the author's prose: e-mail-safe HTML, and plain text for the text part.

The subset and its check live in `content/prose.py` (the author is told at `check` time about
anything outside it); rendering here never trusts that check: raw HTML is shown as text and
links other than http(s)/mailto stay text. Images get a width Outlook respects and shrink on
phones, tables inline styles that survive mail clients, and footnote references superscript
numbers whose notes the caller lists once, at the end of the article (`Notes`).
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from ..content.prose import new_parser, parser
from .plaintext import WIDTH, References, TextRenderer, alt_text, notes_text, superscript

__all__ = [
    "IMAGE_WIDTH",
    "WIDTH",
    "Notes",
    "References",
    "notes_html",
    "notes_text",
    "to_html",
    "to_plain",
    "to_text",
]

IMAGE_WIDTH = 500  # px: fits the narrowest prose column (the implications box); 100 % on phones
_CELL = "padding:4px 12px 4px 0;vertical-align:top;"
_TH = f"{_CELL}border-bottom:2px solid #bcccdc;font-weight:bold;"
_TD = f"{_CELL}border-bottom:1px solid #e4e7eb;"
_ALIGN = re.compile(r"^text-align:(left|right|center)$")


class Notes:
    """The footnotes of one article (or the intro), in both parts; numbers run on across its
    fields, so `summary` and `implications` can each have a `[^1]`."""

    def __init__(self) -> None:
        self.html: list[str] = []
        self.text: list[str] = []


@lru_cache(maxsize=1)
def _html_md() -> MarkdownIt:
    md = new_parser()
    md.add_render_rule("image", _image)
    md.add_render_rule("table_open", lambda *a: '<table cellpadding="0" cellspacing="0" border="0" '
                       'style="border-collapse:collapse;margin:0 0 12px 0;font-size:14px;line-height:1.4;">\n')
    md.add_render_rule("th_open", lambda _r, t, i, *a: _cell("th", t[i], _TH))
    md.add_render_rule("td_open", lambda _r, t, i, *a: _cell("td", t[i], _TD))
    md.add_render_rule("footnote_ref", _footnote_ref)
    md.add_render_rule("blockquote_open", lambda *a: '<blockquote style="margin:0 0 12px 0;padding:0 0 0 14px;'
                       'border-left:3px solid #bcccdc;">\n')
    return md


def _image(_r: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
    tok = tokens[idx]
    src, alt = _html.escape(str(tok.attrGet("src") or "")), _html.escape(alt_text(tok))
    if not src.startswith("https://"):  # mail clients block other images: say what it was
        return f"[Figure: {alt}]"
    return (f'<img src="{src}" alt="{alt}" width="{IMAGE_WIDTH}" style="display:block;width:100%;'
            f'max-width:{IMAGE_WIDTH}px;height:auto;border:0;margin:8px 0;">')


def _cell(tag: str, tok: Token, style: str) -> str:
    m = _ALIGN.match(str(tok.attrGet("style") or ""))
    align = f"text-align:{m.group(1)};" if m else "text-align:left;"
    scope = ' scope="col"' if tag == "th" else ""
    return f'<{tag}{scope} style="{align}{style}">'


def _footnote_ref(_r: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
    return f"<sup>{env['notes_offset'] + int(tokens[idx].meta['id']) + 1}</sup>"


def _split_notes(tokens: list[Token]) -> tuple[list[Token], list[list[Token]]]:
    """The body, and each footnote's own tokens (markdown-it puts them all at the end)."""
    body: list[Token] = []
    notes: list[list[Token]] = []
    inside = False
    for tok in tokens:
        if tok.type == "footnote_block_open":
            inside = True
        elif tok.type == "footnote_open":
            notes.append([])
        elif inside and tok.type not in ("footnote_close", "footnote_block_close", "footnote_anchor"):
            notes[-1].append(tok)
        elif not inside:
            body.append(tok)
    return body, notes


def to_html(src: str, notes: Notes | None = None) -> str:
    """Markdown → HTML. With `notes`, footnotes are numbered on from it and their bodies added
    to it (list them with `notes_html`); without, they are listed at the end of this HTML."""
    own = notes is None
    notes = Notes() if notes is None else notes
    md = _html_md()
    env: dict[str, Any] = {"notes_offset": len(notes.html)}
    body, bodies = _split_notes(md.parse(src, env))
    out = str(md.renderer.render(body, md.options, env)).strip()
    for tokens in bodies:
        note = str(md.renderer.render(tokens, md.options, env)).strip()
        if note.startswith("<p>") and note.endswith("</p>") and note.count("<p>") == 1:
            note = note[3:-4]  # one paragraph: no paragraph margins inside the list item
        notes.html.append(note)
    return out + ("\n" + notes_html(notes) if own and notes.html else "")


def notes_html(notes: Notes) -> str:
    """The numbered notes of an article, or ''."""
    if not notes.html:
        return ""
    items = "".join(f"<li>{body}</li>" for body in notes.html)
    return (f'<p style="margin:12px 0 4px 0;font-size:13px;font-weight:bold;">Notes</p>'
            f'<ol style="margin:0;padding-left:22px;font-size:13px;">{items}</ol>')


def to_text(src: str, refs: References, notes: Notes | None = None, width: int = WIDTH) -> str:
    """Markdown → plain text (see `plaintext`); links become `text [n]` numbered in `refs`.
    Footnotes as in `to_html`."""
    own = notes is None
    notes = Notes() if notes is None else notes
    out = TextRenderer(refs, notes.text, width).render(parser().parse(src))
    if own and notes.text:
        out += "\n\n" + notes_text(notes.text, width)
    return out


def to_plain(src: str) -> str:
    """Markdown → one line of plain text (for a preheader); no-break spaces are kept."""
    out: list[str] = []
    in_table = False
    for tok in _split_notes(parser().parse(src))[0]:
        in_table = (in_table or tok.type == "table_open") and tok.type != "table_close"
        if tok.type == "inline" and tok.children and not in_table:
            out.append("".join(c.content if c.type in ("text", "code_inline") else
                               superscript(int(c.meta["id"]) + 1) if c.type == "footnote_ref" else " "
                               for c in tok.children if c.type in ("text", "code_inline", "softbreak",
                                                                   "hardbreak", "footnote_ref")))
    return re.sub(r"[ \t\n\r]+", " ", " ".join(out)).strip()
