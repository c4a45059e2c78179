"""Titles: APA's sentence case from a registry's Title Case, and a form for comparing titles.

APA 7 (§6.17) writes article and book titles in sentence case; many publishers deposit them in
Title Case ("Mindfulness and Empathy Among Counseling …"). Only a title that is clearly in
Title Case is converted, and conservatively: acronyms (PTSD), words with inner capitals
(eHealth, McDonald), words with digits and the first word of the title and of a subtitle keep
their case, as do words the record's abstract capitalises mid-sentence (proper nouns such as
Norwegian or Beck). What cannot be known (a proper noun the abstract never uses) is lowered.
"""

from __future__ import annotations

import re
import unicodedata

from .names import fold

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_MINOR = frozenset({"a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of",
                    "on", "or", "per", "the", "to", "vs", "via", "with", "among"})
_SUBTITLE_START = re.compile(r"[:?!.—–]\s*$")


def drop_trailing_period(title: str) -> str:
    """'Assessing … comparisons.' → 'Assessing … comparisons' (APA 10.1037 journals deposit the
    period); keeps an ellipsis, '?', '!' and an initial or abbreviation ending in '.' ('… in the U.S.')."""
    title = title.rstrip()
    if title.endswith(".") and not title.endswith("..") and not re.search(r"\b[A-Z]\.[A-Z]\.$", title):
        return title[:-1].rstrip()
    return title


def is_title_case(title: str) -> bool:
    """Most significant words start with a capital (so the title is not in sentence case)."""
    words = [w for w in _WORD.findall(title) if w.lower() not in _MINOR and len(w) > 3]
    if len(words) < 3:
        return False
    caps = sum(1 for w in words if w[0].isupper())
    return caps / len(words) >= 0.75


def proper_nouns(text: str) -> set[str]:
    """Words capitalised in the middle of a sentence of `text` (e.g. an abstract)."""
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.?!:])\s+", text):
        for m in list(_WORD.finditer(sentence))[1:]:
            w = m.group()
            if w[0].isupper() and w[1:] == w[1:].lower():
                found.add(w)
    return found


def sentence_case(title: str, keep: set[str] | frozenset[str] = frozenset()) -> str:
    """Title Case → sentence case (see the module doc); other titles are returned unchanged."""
    if not is_title_case(title):
        return title
    out: list[str] = []
    pos = 0
    for m in _WORD.finditer(title):
        out.append(title[pos:m.start()])
        w = m.group()
        starts = pos == 0 and not title[:m.start()].strip() or bool(_SUBTITLE_START.search(title[:m.start()]))
        parts = w.split("-")
        out.append("-".join(p if (i == 0 and starts) else _lower(p, keep) for i, p in enumerate(parts)))
        pos = m.end()
    out.append(title[pos:])
    return "".join(out)


def capitalize_subtitle(title: str) -> str:
    """APA 7 capitalises the first word after a colon: '…depression: a qualitative metasynthesis' →
    '…depression: A qualitative metasynthesis'. Only an all-lower-case word is touched (not 'eHealth')."""
    return re.sub(r"(:\s+)([^\W\d_][\w'’-]*)",
                  lambda m: m.group(1) + (m.group(2)[0].upper() + m.group(2)[1:]
                                          if m.group(2) == m.group(2).lower() else m.group(2)), title)


def _lower(word: str, keep: set[str] | frozenset[str]) -> str:
    plain = bool(word) and word[0].isupper() and word[1:] == word[1:].lower()
    return word.lower() if plain and word not in keep and word != "I" else word


def comparable(title: str) -> str:
    """Case-, accent-, punctuation- and spacing-insensitive words: for fuzzy title comparison."""
    text = unicodedata.normalize("NFKC", title).replace("&", " and ")
    words = [fold(w) for w in re.split(r"[\s\-‐‑‒–—―/:;,.?!\"“”'‘’()\[\]]+", text)]
    return " ".join(w for w in words if w)
