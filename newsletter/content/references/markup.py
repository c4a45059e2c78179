"""Registry text → plain text: JATS, HTML and MathML tags removed, entities decoded.

Registries deposit titles as text that may hold markup (`<i>`, `<jats:italic>`, `<sub>`,
`<mml:math>`), entities (`&amp;`) and stray control characters. Everything that reaches a
reference is plain Unicode text; the renderer escapes it for HTML itself, so nothing from a
registry is ever passed to an e-mail as markup.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

_SKIP = {"script", "style", "annotation", "annotation-xml", "head", "title"}  # content dropped too
_BLOCK = {"p", "br", "div", "li", "jats:p", "jats:sec", "jats:title"}  # a space, not glued words
_SUP = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_SUP_OK = set("0123456789+-=()n")
_SUB_OK = set("0123456789+-=()")
# C0/C1 controls, soft hyphen, bidi embeddings/overrides/isolates, BOM: never part of a title
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u200b\u202a-\u202e\u2066-\u2069\ufeff]")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.script: list[tuple[str, int]] = []  # (sup|sub, index into parts where it started)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = _local(tag)
        if name in _SKIP:
            self.skip += 1
        elif tag in _BLOCK or name in _BLOCK:
            self.parts.append(" ")
        elif name in ("sup", "sub"):
            self.script.append((name, len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        name = _local(tag)
        if name in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif name in ("sup", "sub") and self.script and self.script[-1][0] == name:
            kind, start = self.script.pop()
            inner = "".join(self.parts[start:])
            allowed, table = (_SUP_OK, _SUP) if kind == "sup" else (_SUB_OK, _SUB)
            if inner and set(inner) <= allowed:
                self.parts[start:] = [inner.translate(table)]

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1].lower()


def plain_text(value: str) -> str:
    """Markup stripped, entities decoded, Unicode NFC, invisible controls dropped, spaces collapsed.

    `plain_text("The <i>r</i> &amp; <sup>2</sup>")` == "The r & ²". Never raises.
    """
    parser = _Text()
    parser.feed(value)
    parser.close()
    text = unicodedata.normalize("NFC", "".join(parser.parts))
    return " ".join(_INVISIBLE.sub("", text).split())
