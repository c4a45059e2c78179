"""Anchors for articles: one slug rule shared by the e-mail and the web archive.

The e-mail's "In this issue" links (`#slug`) and its "Also this month" links
(`{base_url}/archive/YYYY-MM#slug`) must land on the same element ids the archive page
gives its articles, so both sides call `article_slugs` and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_NOT_WORD = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 60  # characters; long titles are cut at a word boundary


def slugify(text: str) -> str:
    """Title → `lower-case-ascii-words` (accents folded: "Flückiger" → "fluckiger").

    Apostrophes join rather than split ("Patients'" → "patients"); everything else that is not
    a letter or digit separates words. Returns "" when nothing Latin is left (e.g. a title in
    Greek or Japanese): `article_slugs` then falls back to a positional slug.
    """
    joined = re.sub(r"['’`]", "", text.lower())
    # accents are combining marks after NFKD (dropped); any other non-ASCII character separates
    decomposed = unicodedata.normalize("NFKD", joined)
    folded = "".join("" if unicodedata.combining(c) else c if c.isascii() else " " for c in decomposed)
    words = [w for w in _NOT_WORD.split(folded) if w]
    out = ""
    for w in words:
        candidate = f"{out}-{w}" if out else w
        if len(candidate) > MAX_SLUG and out:
            break
        out = candidate[:MAX_SLUG]
    return out


def article_slugs(titles: Sequence[str]) -> list[str]:
    """One unique, non-empty slug per title, in order (the ids of an issue's articles).

    A title with no Latin letters or digits becomes `article-N` (N its 1-based position);
    a repeated slug gets `-2`, `-3`, … in order of appearance. The result is stable: the same
    titles always give the same ids, so links in messages already sent keep working.
    """
    out: list[str] = []
    taken: set[str] = set()
    for i, title in enumerate(titles, 1):
        base = slugify(title) or f"article-{i}"
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        out.append(slug)
    return out
