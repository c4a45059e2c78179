"""Warnings about an issue that is valid but will read badly: `newsletter check` shows them.

- an article with neither `doi` nor `url`: a research digest should link to its source;
- an intro that counts this month's articles ("All three papers", "Both of April's papers")
  while readers who chose only some topics get a copy with fewer articles.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .textfile import line_col
from .yamltree import Reader, YNode

if TYPE_CHECKING:
    from .config import Settings
    from .issue import Issue

_COUNT = re.compile(
    r"\b(?P<count>both|all|every|each|two|three|four|five|[2-5])\b(?:\W+\w+){0,3}?\W+"
    r"(?:papers?|articles?|stud(?:y|ies)|reviews?|pieces?|items?|summaries|reads|picks|selections?)\b",
    re.IGNORECASE)


def partial_example(issue: Issue) -> tuple[str, tuple[int, ...]] | None:
    """A topic whose readers get only some of the articles, with that selection; None if every
    reader of any topic gets them all (one article, or every article on every topic)."""
    n = len(issue.articles)
    topics = sorted({t for a in issue.articles for t in a.topics})
    for t in topics:
        chosen = tuple(i for i, a in enumerate(issue.articles) if t in a.topics)
        if 0 < len(chosen) < n:
            return t, chosen
    return None


def advise(r: Reader, issue: Issue, intro: YNode | None, articles: list[YNode],
           settings: Settings) -> None:
    """Record the warnings for a loaded issue on `r` (located in the issue file)."""
    for i, (a, node) in enumerate(zip(issue.articles, articles)):
        if not a.doi and not a.url:
            r.warn(node.line, node.col, f"articles[{i}]",
                   "has neither doi nor url: readers get no link to the paper (add its DOI, or a "
                   "url if it has none)")
    partial = partial_example(issue)
    if partial is None or intro is None:
        return
    topic, chosen = partial
    n = len(issue.articles)
    label = settings.taxonomy.labels.get(topic, topic)
    for line, col, words in _count_phrases(issue.intro, intro, issue.path):
        r.warn(line, col, "intro",
               f"'{words}' counts this month's articles, but a reader of '{label}' gets "
               f"{len(chosen)} of the {n}: write the intro so it holds for every copy "
               "(each copy says how many articles it has)")


def _count_phrases(value: str, node: YNode, path: Path) -> list[tuple[int, int, str]]:
    """(line, col, phrase) of each count phrase of the intro, located in the file when the
    same words can be found after the value's start, else at the value's start."""
    found = [" ".join(m.group().split()) for m in _COUNT.finditer(value)]
    if not found:
        return []
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return [(node.line, node.col, words) for words in found]
    lines = source.split("\n")
    start = sum(len(ln) + 1 for ln in lines[:node.line - 1]) + node.col - 1
    out = []
    raw = list(_COUNT.finditer(source, start))
    for k, words in enumerate(found):
        if k < len(raw) and " ".join(raw[k].group().split()) == words:
            line, col = line_col(source, raw[k].start())
            out.append((line, col, words))
        else:
            out.append((node.line, node.col, words))
    return out
