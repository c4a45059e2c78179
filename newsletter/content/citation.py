"""The parts of an APA-style reference that reference managers want (authors, year, the
paper's own title, journal, volume, issue, pages), for the archive's scholarly metadata.

Best effort and never wrong on purpose: a part that cannot be found with confidence is left
empty rather than guessed, and the DOI (from the issue file, checked there) is what reference
managers rely on most. The article's `title` in an issue is our headline, not the paper's
title; the paper's title is the sentence after "(Year)." in the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_YEAR = re.compile(r"\s\((\d{4})[a-z]?(?:,[^)]*)?\)\.\s+")
# The title ends at ". " before a capital letter or digit (abbreviations such as "U.S. adults"
# continue in lower case; "? A subtitle" continues the title). Only when no such period exists
# does a title end at its last "? " or "! ".
_SENTENCE = re.compile(r"(?<=\.)\s+(?=[A-Z0-9])")
_QUESTION = re.compile(r"(?<=[?!])\s+(?=[A-Z0-9])")
_AUTHOR = re.compile(r"([^,&]+?),\s*((?:[A-Z][a-z]?\.[\s-]*)+)")
_SOURCE = re.compile(r"^(?P<journal>[^,.]+)(?:,\s*(?P<volume>\d+)(?:\((?P<issue>[^)]+)\))?)?"
                     r"(?:,\s*(?P<pages>[A-Za-z]?\d+(?:\s*[–-]\s*[A-Za-z]?\d+)?))?\.?(?:\s|$)")


@dataclass(frozen=True)
class Paper:
    authors: tuple[str, ...] = ()  # "Last, F. M." each
    year: str = ""
    title: str = ""  # the paper's title (not our headline)
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""  # "2243–2257" or "e123"

    @property
    def first_page(self) -> str:
        return re.split(r"\s*[–-]\s*", self.pages)[0] if self.pages else ""

    @property
    def last_page(self) -> str:
        parts = re.split(r"\s*[–-]\s*", self.pages)
        return parts[1] if len(parts) == 2 else ""


def parse_reference(text: str | None) -> Paper:
    """The parts of an APA reference; empty fields where the text does not say clearly."""
    if not text:
        return Paper()
    text = " ".join(text.split())
    m = _YEAR.search(text)
    if not m:
        return Paper()
    head, rest = text[: m.start()], text[m.end():]
    authors = tuple(f"{last.strip()}, {initials.strip()}" for last, initials in _AUTHOR.findall(head)
                    if "et al" not in last)
    pieces = _SENTENCE.split(rest, maxsplit=1)
    if len(pieces) == 1:
        *before, last = _QUESTION.split(rest)
        pieces = [" ".join(before), last] if before else pieces
    title = pieces[0].rstrip(".") if len(pieces) == 2 else ""
    source = _SOURCE.match(pieces[1]) if len(pieces) == 2 else None
    if source is None:
        return Paper(authors, m.group(1), title)
    g = source.groupdict(default="")
    return Paper(authors, m.group(1), title, g["journal"].strip(), g["volume"], g["issue"],
                 g["pages"].replace(" ", ""))


__all__ = ["Paper", "parse_reference"]
