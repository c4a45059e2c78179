"""Which articles each subscriber gets, and the distinct article selections ("variants")."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

from .issue import Issue

Selection = tuple[int, ...]


def select(issue: Issue, topics: frozenset[str] | None, no_match: str = "skip") -> Selection:
    """Indexes of the articles on the reader's topics, in issue order; () means skip them."""
    everything = tuple(range(len(issue.articles)))
    if topics is None:
        return everything
    chosen = tuple(i for i, a in enumerate(issue.articles) if topics.intersection(a.topics))
    if not chosen and no_match == "full":
        return everything
    return chosen


def all_selections(issue: Issue) -> list[Selection]:
    """Every non-empty subset of the articles (2^n - 1), for pre-flight rendering."""
    n = len(issue.articles)
    return [c for k in range(n, 0, -1) for c in combinations(range(n), k)]


def selections_for(issue: Issue, topic_sets: Iterable[frozenset[str] | None],
                   no_match: str = "skip") -> set[Selection]:
    return {s for t in topic_sets if (s := select(issue, t, no_match))}
