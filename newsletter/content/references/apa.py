"""APA 7 references from normalised CSL-JSON items, by citeproc-py and the CSL APA style.

The style (`csl/apa.csl`, "APA Style 7th edition") and its locale (`csl/locales-en-US.xml`)
ship with this package under CC BY-SA 3.0 (see `csl/README.md`), so a reference renders the same
whatever citeproc-py release is installed. What the style does for us: up to 20 authors, then
19, "…" and the last; "&" before the last author; en-dash page ranges; "Article 313" for article
numbers; "Advance online publication"; the journal and volume in italics (HTML only).
"""

from __future__ import annotations

import html
import re
import threading
import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .normalize import CSL

_CSL_KEYS = frozenset({
    "id", "type", "title", "container-title", "container-title-short", "author", "editor", "issued",
    "volume", "issue", "page", "number", "publisher", "publisher-place", "edition", "genre", "status",
    "DOI",
})
_SAFE_HTML = re.compile(r"</?(?:i|b|sup|sub)>|<span style=\"font-variant:small-caps;\">|</span>")
_lock = threading.Lock()  # citeproc-py keeps the formatter on the style object


@dataclass(frozen=True)
class Reference:
    """One reference: `html` is safe markup (escaped text, `<i>` for italics), `text` plain."""

    html: str
    text: str


def render(item: CSL, *, with_doi: bool = True) -> Reference:
    """The APA 7 reference of a normalised item, with or without its `https://doi.org/…` link.

    Without the DOI the reference stops after the source, for templates that print the DOI as a
    link of their own.
    """
    from citeproc import formatter

    data = {k: v for k, v in item.items() if k in _CSL_KEYS}
    data["id"] = "ref"
    if not with_doi:
        data.pop("DOI", None)
    with _lock:
        markup = _bibliography(data, formatter.html)
        text = _bibliography(data, formatter.plain)
    if _SAFE_HTML.sub("", markup).count("<"):  # anything else would be a bug: show it as text
        markup = html.escape(text, quote=False)
    return Reference(markup, text)


def _bibliography(data: dict[str, Any], fmt: Any) -> str:
    from citeproc import Citation, CitationItem, CitationStylesBibliography
    from citeproc.source.json import CiteProcJSON

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # citeproc-py warns about CSL features it skips
        bib = CitationStylesBibliography(_style(), CiteProcJSON([data]), fmt)
        bib.register(Citation([CitationItem("ref")]))
        entries = bib.bibliography()
    return " ".join(str(entries[0]).split()) if entries else ""


@cache
def _style() -> Any:
    """The APA style with the shipped en-US locale in place of citeproc-py's own copy."""
    from citeproc import CitationStylesStyle
    from citeproc.frontend import CitationStylesXML

    folder = resources.files(__package__) / "csl"
    with resources.as_file(folder / "apa.csl") as style_path, \
            resources.as_file(folder / "locales-en-US.xml") as locale_path:
        style = CitationStylesStyle(str(style_path), locale="en-US", validate=False)
        locale = CitationStylesXML(str(locale_path), validate=False).root
    inline = [loc for loc in style.root.locales if loc.getparent() is not None]  # <locale> in the style
    locale.style = style.root
    style.root.locales = [*inline, locale]
    return style
