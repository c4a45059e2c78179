"""Outlook for Windows lays the message out from its fixed pixel widths: make them fit.

Outlook's Word engine ignores `max-width`, so MJML writes "ghost tables" inside
`<!--[if mso | IE]>` comments that give every section and column a width in pixels, and
Outlook also reads the ordinary markup around them. mjml-python (MRML) computes those widths
without subtracting paddings: a column in a section with `padding: 0 24px` gets
`width:600px` where the official MJML compiler writes 552px, and a divider with side padding
`width="600px"`. Outlook then draws 648px of content in a 600px table.

`fit_widths` reads the HTML as Outlook does (conditional comments opened, `<!--[if !mso]>`
blocks dropped), works out each element's available width from the fixed widths, paddings and
borders of its ancestors, and rewrites every fixed width that is wider than its container
(cells of one row are scaled together). `overflows` reports what would not fit, for tests and
checks. Only the `<body>` is read; percentages and `max-width` are left alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
_OPEN = re.compile(r"<!--\[if [^\]]*\bmso\b[^\]]*\]>")  # <!--[if mso | IE]> and the like, not !mso
_CLOSE = re.compile(r"<!\[endif\]-->")
_HIDDEN = re.compile(r"<!--\[if !mso[^\]]*\]><!-->.*?<!--<!\[endif\]-->", re.DOTALL)
_COMMENT = re.compile(r"<!--(?!\[if).*?-->", re.DOTALL)
_PX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$", re.IGNORECASE)
_PCT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_BORDER_PX = re.compile(r"(\d+(?:\.\d+)?)px")
TOLERANCE = 0.5  # pixels: rounding in the compiler's arithmetic is not an overflow


@dataclass
class Element:
    """One start tag of Outlook's view of the body, with where it sits in the original HTML."""

    tag: str
    attrs: dict[str, str]
    start: int  # offset of '<' in the HTML string
    source: str  # the start tag as written
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)

    @property
    def style(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for decl in self.attrs.get("style", "").split(";"):
            if ":" in decl:
                k, v = decl.split(":", 1)
                out[k.strip().lower()] = v.strip().removesuffix("!important").strip()
        return out

    def where(self) -> str:
        return f"<{self.tag}> at offset {self.start}"


@dataclass(frozen=True)
class Overflow:
    """A fixed width (px) wider than the room its container leaves (px)."""

    element: str  # e.g. "<td> at offset 1234"
    width: float
    room: float

    def __str__(self) -> str:
        return f"{self.element}: width {self.width:g}px in {self.room:g}px of room"


def outlook_view(html: str) -> str:
    """The HTML as Outlook reads it, same length and offsets: MSO-only markup opened, markup
    hidden from Outlook and plain comments blanked out."""
    def blank(m: re.Match[str]) -> str:
        return " " * (m.end() - m.start())

    out = _HIDDEN.sub(blank, html)
    out = _COMMENT.sub(blank, out)
    out = _OPEN.sub(blank, out)
    return _CLOSE.sub(blank, out)


class _TreeBuilder(HTMLParser):
    def __init__(self, text: str, base: int) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, base, "")
        self._stack = [self.root]
        self._base = base
        self._lines = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._base + self._lines[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._stack[-1]
        el = Element(tag, {k: v or "" for k, v in attrs}, self._offset(), self.get_starttag_text() or "",
                     parent)
        parent.children.append(el)
        if tag not in _VOID:
            self._stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._stack[-1]
        parent.children.append(Element(tag, {k: v or "" for k, v in attrs}, self._offset(),
                                       self.get_starttag_text() or "", parent))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, 0, -1):
            if self._stack[i].tag == tag:
                del self._stack[i:]
                return


def parse(html: str) -> Element:
    """Outlook's view of the `<body>` as a tree of `Element`s (offsets into `html`)."""
    m = re.search(r"<body\b", html, re.IGNORECASE)
    base = m.start() if m else 0
    body = outlook_view(html)[base:]
    builder = _TreeBuilder(body, base)
    builder.feed(body)
    builder.close()
    return builder.root


# -- widths --------------------------------------------------------------------------------------
def _length(value: str | None) -> tuple[str, float] | None:
    if value is None:
        return None
    if m := _PX.match(value):
        return "px", float(m.group(1))
    if m := _PCT.match(value):
        return "%", float(m.group(1))
    return None


def _declared(el: Element) -> list[tuple[str, float]]:
    """The widths an element asks for: its `width` attribute and its CSS `width`."""
    return [w for w in (_length(el.attrs.get("width")), _length(el.style.get("width"))) if w]


def _sides(value: str) -> tuple[float, float]:
    """Left and right of a CSS `padding` shorthand (px; other units count as 0)."""
    parts = [_length(p) for p in value.split()]
    px = [p[1] if p and p[0] == "px" else 0.0 for p in parts]
    if not px:
        return 0.0, 0.0
    right = px[1] if len(px) > 1 else px[0]
    left = px[3] if len(px) > 3 else right
    return left, right


def _insets(el: Element) -> float:
    """Horizontal padding and border of an element, as Outlook applies them (px)."""
    s = el.style
    left, right = _sides(s.get("mso-padding-alt", s.get("padding", "")))
    if "mso-padding-alt" not in s:
        left = _px_or(s.get("padding-left"), left)
        right = _px_or(s.get("padding-right"), right)
    if el.tag in ("td", "th") and el.parent is not None:
        table = _table_of(el)
        if table is not None and (cp := _length(table.attrs.get("cellpadding"))) and cp[0] == "px":
            left, right = left + cp[1], right + cp[1]
    border = 0.0
    for side in ("border-left", "border-right"):
        value = s.get(side, s.get("border", ""))
        if value and "none" not in value and (m := _BORDER_PX.search(value)):
            border += float(m.group(1))
    return left + right + border


def _px_or(value: str | None, default: float) -> float:
    n = _length(value)
    return n[1] if n and n[0] == "px" else default


def _table_of(cell: Element) -> Element | None:
    p = cell.parent
    while p is not None and p.tag != "table":
        p = p.parent
    return p


def _row_cells(el: Element) -> list[Element]:
    return [c for c in el.children if c.tag in ("td", "th")]


@dataclass
class _Fix:
    el: Element
    width: float


def _walk(el: Element, room: float, found: list[Overflow], fixes: list[_Fix]) -> None:
    """Lay out `el`'s children in `room` px (its content width), recording overflows and fixes."""
    scale = 1.0
    if el.tag == "tr":
        cells = _row_cells(el)
        fixed = [max((w for u, w in _declared(c) if u == "px"), default=0.0) for c in cells]
        total = sum(fixed)
        scale = room / total if total > room + TOLERANCE and math.isfinite(room) else 1.0
        if scale < 1.0:
            found.append(Overflow(el.where(), total, room))
    for child in el.children:
        width = room
        for unit, value in _declared(child):
            if unit == "%":
                width = min(width, room * value / 100) if math.isfinite(room) else width
        px = [v for u, v in _declared(child) if u == "px"]
        if px:
            want = max(px)
            limit = room
            if el.tag == "tr" and scale < 1.0:
                limit = math.floor(want * scale + 1e-6)  # 600 * (492 / 600) is 491.99…
            if want > limit + TOLERANCE:
                if el.tag != "tr":
                    found.append(Overflow(child.where(), want, room))
                fixes.append(_Fix(child, limit))
                width = limit
            else:
                width = want if not math.isfinite(room) else min(want, room)
        if child.tag == "div" and (mw := _length(child.style.get("max-width"))) and mw[0] == "px":
            width = min(width, mw[1])
        _walk(child, max(0.0, width - _insets(child)), found, fixes)


def overflows(html: str) -> list[Overflow]:
    """Every fixed width in Outlook's view of `html` that is wider than its container's room
    (width minus padding and border), and every row whose fixed cells add up to more."""
    found: list[Overflow] = []
    _walk(parse(html), math.inf, found, [])
    return found


def fit_widths(html: str) -> str:
    """`html` with each too-wide fixed width (attribute and CSS, in pixels) cut to the room its
    container leaves, as the official MJML compiler computes it; cells of an overfull row are
    scaled together. HTML that already fits is returned unchanged."""
    fixes: list[_Fix] = []
    _walk(parse(html), math.inf, [], fixes)
    if not fixes:
        return html
    out = html
    for fix in sorted(fixes, key=lambda f: f.el.start, reverse=True):
        old = fix.el.source
        assert out[fix.el.start:fix.el.start + len(old)] == old, "tag moved while fitting widths"
        out = out[:fix.el.start] + _rewrite(fix.el, fix.width) + out[fix.el.start + len(old):]
    return out


_WIDTH_ATTR = re.compile(r'(\swidth\s*=\s*")(\d+(?:\.\d+)?)(px)?(")', re.IGNORECASE)
_HEIGHT_ATTR = re.compile(r'(\sheight\s*=\s*")(\d+(?:\.\d+)?)(px)?(")', re.IGNORECASE)
_WIDTH_CSS = re.compile(r"((?:^|[;\s\"'])width\s*:\s*)(\d+(?:\.\d+)?)(px)", re.IGNORECASE)


def _rewrite(el: Element, width: float) -> str:
    """The start tag with its pixel widths set to `width` (an image's pixel height scaled too)."""
    new = f"{width:g}"
    tag = el.source
    old_w = max((v for u, v in _declared(el) if u == "px"), default=width)
    tag = _WIDTH_ATTR.sub(lambda m: f"{m.group(1)}{new}{m.group(3) or ''}{m.group(4)}", tag)
    tag = _WIDTH_CSS.sub(lambda m: f"{m.group(1)}{new}{m.group(3)}", tag)
    if el.tag == "img" and old_w:
        tag = _HEIGHT_ATTR.sub(lambda m: f"{m.group(1)}{round(float(m.group(2)) * width / old_w)}"
                               f"{m.group(3) or ''}{m.group(4)}", tag)
    return tag
