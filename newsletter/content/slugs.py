"""Slugs: the one way a title becomes part of a URL (article anchors on the web archive, which
e-mails and feeds link to; topic pages use the taxonomy's own slugs).

The e-mail's `h2` ids and "In this issue" links (`#anchor`), its "Also this month" links
(`{base_url}/archive/YYYY-MM#anchor`), the archive page's article ids and the feeds' links all
come from `article_anchors`, so a link in a message lands on the article on the web.

`slugify` is python-slugify (Unicode transliterated by text-unidecode, lower case, words joined
by hyphens, at most 80 characters cut at a word boundary), so "Zoë & Straße" → "zoe-strasse".
`article_anchors` gives every article of an issue its anchor: the slug of its title, made unique
within the issue ("-2", "-3" … for repeats) and never empty ("article-N" when a title has no
letters or digits at all).
"""

from __future__ import annotations

from collections.abc import Iterable

from slugify import slugify as _slugify

MAX_SLUG = 80


def slugify(text: str) -> str:
    """`text` as lower-case ASCII words joined by '-' (≤ 80 characters); '' if nothing is left."""
    return str(_slugify(text, max_length=MAX_SLUG, word_boundary=True))


def article_anchors(titles: Iterable[str]) -> list[str]:
    """The anchor (fragment id, without '#') of each article, in order: unique within the
    issue, stable as long as the titles before it keep their slugs."""
    out: list[str] = []
    seen: set[str] = set()
    for i, title in enumerate(titles, 1):
        base = slugify(title) or f"article-{i}"
        anchor, n = base, 2
        while anchor in seen:
            anchor, n = f"{base}-{n}", n + 1
        seen.add(anchor)
        out.append(anchor)
    return out


__all__ = ["MAX_SLUG", "article_anchors", "slugify"]
