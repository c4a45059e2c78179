"""Read an author-written APA reference back into its parts: the one APA parser of the project.

`Authors (Year). Title. Journal, Volume(Issue), pages. https://doi.org/…` — the shape of APA 7
§9.4–9.37 for journal articles. Used by the DOI checks (`compare`) and, for an article whose DOI
is not in the cache, by the archive's scholarly metadata (`work`). Parsing is forgiving and never
raises: any part it cannot find is None (or empty) and is then simply not checked or not shown. Where a title could end in several places ("Results in the U.S.
population. Journal …"), the registry's journal name, when known, says where the source starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .names import PARTICLES

_DOI = re.compile(r"(?:https?://(?:dx\.)?doi\.org/|\bdoi:\s*)(10\.\d{4,9}/\S+)", re.IGNORECASE)
_ONLINE_FIRST = re.compile(r"\s*\bAdvance online publication\b\.?", re.IGNORECASE)
_YEAR = re.compile(r"\(\s*(\d{4}[a-z]?|n\.\s?d\.|in press)\s*(?:,[^()]*)?\)\.?", re.IGNORECASE)
_INITIAL = re.compile(r"^[^\W\d_][^\W\d_]?\.$")
_SUFFIX = re.compile(r"^(?:Jr\.?|Sr\.?|II|III|IV)$")
_SOURCE = re.compile(
    r"^(?P<journal>[^.?!,][^.?!]*?)"
    r"(?:,\s*(?P<volume>\d+[A-Za-z]?)\s*(?:\((?P<issue>[^)]+)\))?)?"
    r"(?:,\s*(?P<pages>(?:Article\s+)?[A-Za-z]?\d+[A-Za-z]?(?:\s*[-‐‑‒–—]\s*[A-Za-z]?\d+[A-Za-z]?)?))?"
    r"\.?$")
_TAIL = re.compile(
    r"^(?:,\s*(?P<volume>\d+[A-Za-z]?)\s*(?:\((?P<issue>[^)]+)\))?)?"
    r"(?:,\s*(?P<pages>(?:Article\s+)?[A-Za-z]?\d+[A-Za-z]?(?:\s*[-‐‑‒–—]\s*[A-Za-z]?\d+[A-Za-z]?)?))?"
    r"\.?\s*$")


@dataclass
class ParsedCitation:
    """The parts found; None where a part could not be read."""

    authors: list[str] = field(default_factory=list)  # surnames (or group names) as written, in order
    names: list[str] = field(default_factory=list)  # the same authors in full: "Mason, A.-M.", "Smith, J., Jr."
    et_al: bool = False  # "et al." cuts the list short
    ellipsis: bool = False  # APA 7's "…" between author 19 and the last one
    year: str | None = None  # "2020", "2020a", "n.d.", "in press"
    title: str | None = None
    journal: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None  # "416–426", or an article number
    article: bool = False  # pages was written "Article N"
    online_first: bool = False  # "Advance online publication"
    doi: str | None = None


def parse(citation: str, journals: Iterable[str] = ()) -> ParsedCitation:
    """Parse one reference; `journals` are names the source may start with (from the registry)."""
    text = " ".join(citation.split())
    out = ParsedCitation()
    m = _DOI.search(text)
    if m:
        out.doi = m.group(1).rstrip(".,;")
        text = (text[:m.start()] + text[m.end():]).strip()
    if _ONLINE_FIRST.search(text):
        out.online_first = True
        text = _ONLINE_FIRST.sub("", text).strip()
    m = _YEAR.search(text)
    if m is None:
        return out
    out.year = m.group(1).lower().replace(" ", "")
    out.authors, out.names, out.et_al, out.ellipsis = _authors(text[:m.start()])
    _title_and_source(text[m.end():].strip(), out, [j for j in journals if j])
    return out


def _authors(text: str) -> tuple[list[str], list[str], bool, bool]:
    """(surnames, full names as written, et al., ellipsis) of the part before "(Year)"."""
    text = text.strip().rstrip(",").replace("...", "…")
    et_al = bool(re.search(r"\bet\s+al\.?", text))
    text = re.sub(r",?\s*\bet\s+al\.?", "", text)
    ellipsis = "…" in text
    text = re.sub(r"\s*…\s*", ", ", text)
    text = re.sub(r",?\s+&\s+", ", ", text)
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    names: list[str] = []
    full: list[str] = []
    for tok in tokens:
        if (_is_initials(tok) or _SUFFIX.match(tok)) and names:
            full[-1] += f", {tok}"  # initials of the name just taken, or Jr.
            continue
        if _is_initials(tok) or _SUFFIX.match(tok):
            continue
        names.append(tok[:-1] if tok.endswith(".") and not _INITIAL.match(tok.split()[-1]) else tok)
        full.append(names[-1])
    return names, full, et_al, ellipsis


def _is_initials(token: str) -> bool:
    """'A. C.', 'A.-M.', 'Ch.', and 'L. van' (a particle written after the initials)."""
    parts = [p for p in re.split(r"[\s-]+", token) if p]
    return any(_INITIAL.match(p) for p in parts) and all(_INITIAL.match(p) or p in PARTICLES for p in parts)


def _title_and_source(rest: str, out: ParsedCitation, journals: list[str]) -> None:
    for name in sorted(journals, key=len, reverse=True):
        m = re.search(r"(?:^|(?<=[.?!]))\s+(" + re.escape(name) + r")(?=[,.]|\s*$)", rest, re.IGNORECASE)
        if m:
            tail = _TAIL.match(rest[m.end():])
            out.title = _clean_title(rest[:m.start()])
            out.journal = m.group(1)
            if tail:
                _numbers(out, tail.group("volume"), tail.group("issue"), tail.group("pages"))
            return
    for m in re.finditer(r"(?<=[.?!])\s+", rest):
        source = _SOURCE.match(rest[m.end():])
        if source:
            out.title = _clean_title(rest[:m.start()])
            out.journal = source.group("journal").strip()
            _numbers(out, source.group("volume"), source.group("issue"), source.group("pages"))
            return
    out.title = _clean_title(rest) or None


def _clean_title(title: str) -> str:
    title = title.strip()
    return title[:-1].rstrip() if title.endswith(".") and not title.endswith("..") else title


def _numbers(out: ParsedCitation, volume: str | None, issue: str | None, pages: str | None) -> None:
    out.volume, out.issue = volume, issue
    if pages:
        out.article = pages.lower().startswith("article")
        out.pages = re.sub(r"^Article\s+", "", pages, flags=re.IGNORECASE)
