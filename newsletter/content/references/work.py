"""The bibliographic parts of the paper an article summarises — authors, year, the paper's own
title, journal, volume, issue, pages — for metadata that reference managers read (the archive's
schema.org JSON-LD and COinS).

Two sources, one shape: the DOI's normalised CSL-JSON record from the cache (the source of truth
whenever the cache has it), else the author's `citation` read by the project's one APA parser
(`citation.parse`). The two are never mixed: a part the chosen source does not give is left
empty rather than guessed. The article's `title` in an issue is our headline, not the paper's
title; neither source ever fills the paper's title from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .citation import parse
from .names import surname
from .normalize import CSL

_DASHES = re.compile(r"\s*[-‐‑‒–—]\s*")


@dataclass(frozen=True)
class Author:
    """One author: `family` is the surname with its particles ("van Beethoven"), or a group's
    whole name with `group` set; `given` is the given name or initials as known ("" if not)."""

    family: str
    given: str = ""
    group: bool = False

    @property
    def name(self) -> str:
        """'Family, Given' (APA and OpenURL order), or the group's name."""
        return f"{self.family}, {self.given}" if self.given else self.family


@dataclass(frozen=True)
class Work:
    """The parts found ('' or () where the source does not say); `source` is "registry",
    "citation" or "" (nothing known)."""

    authors: tuple[Author, ...] = ()
    year: str = ""  # four digits
    title: str = ""  # the paper's title (not our headline)
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""  # "2243–2257", "347" or an article number such as "e12"
    source: str = ""

    @property
    def first_page(self) -> str:
        return _DASHES.split(self.pages)[0] if self.pages else ""

    @property
    def last_page(self) -> str:
        parts = _DASHES.split(self.pages) if self.pages else []
        return parts[1] if len(parts) == 2 else ""


def from_record(item: CSL) -> Work:
    """A normalised CSL-JSON item (`normalize.normalize`) → its Work."""
    authors = []
    for n in item.get("author") or []:
        if "literal" in n:
            authors.append(Author(n["literal"], group=True))
        elif n.get("family"):
            given = " ".join(p for p in (n.get("given", ""), n.get("dropping-particle", "")) if p)
            given += f", {n['suffix']}" if n.get("suffix") and given else ""
            authors.append(Author(surname(n), given))
    parts = (item.get("issued") or {}).get("date-parts") or [[]]
    year = str(parts[0][0]) if parts and parts[0] else ""
    page = str(item.get("page") or "")
    pages = _DASHES.sub("–", page) if page else str(item.get("number") or "")
    return Work(tuple(authors), year, str(item.get("title") or ""), str(item.get("container-title") or ""),
                str(item.get("volume") or ""), str(item.get("issue") or ""), pages, "registry")


def from_citation(text: str | None) -> Work:
    """An author's APA reference → its Work; an empty Work when the text has no "(Year)."."""
    if not text:
        return Work()
    p = parse(text)
    if p.year is None:
        return Work()
    authors = []
    for written in p.names:
        family, _, given = written.partition(", ")
        authors.append(Author(family, given, group=not given))
    year = p.year[:4] if p.year[:4].isdigit() else ""
    return Work(tuple(authors), year, p.title or "", p.journal or "", p.volume or "", p.issue or "",
                _DASHES.sub("–", p.pages) if p.pages else "", "citation")


def work_of(citation: str | None, record: CSL | None) -> Work:
    """The cached registry record's parts when there is a record, else the citation's."""
    return from_record(record) if record is not None else from_citation(citation)


__all__ = ["Author", "Work", "from_citation", "from_record", "work_of"]
