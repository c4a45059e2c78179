"""`check --online`: look every DOI up, refresh the cache, and say what the lookups found.

Imports the network client; imported only by the `check` and `cite` commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ...errors import Problem
from ..issue import Issue
from ..textfile import display_path
from .cache import BrokenCacheFile, ReferenceCache
from .keys import doi_key
from .registry import Lookup, Outcome, Registry


def refresh(dois: Iterable[str], registry: Registry, cache: ReferenceCache,
            report: Callable[[str], None] = print) -> dict[str, Lookup]:
    """Look each distinct DOI up once and store what was found; returns lookups by `doi_key`.

    After the first lookup that could not be made (network, timeouts, rate limit, server
    errors) the remaining DOIs are not tried: they get the same UNAVAILABLE reason, so a
    registry that is down costs one round of timeouts, not one per DOI.
    """
    out: dict[str, Lookup] = {}
    down: str | None = None
    for doi in dois:
        key = doi_key(doi)
        if key in out:
            continue
        if down is not None:
            out[key] = Lookup(doi, Outcome.UNAVAILABLE, f"not tried: {down}")
            continue
        found = registry.lookup(doi)
        out[key] = found
        if found.outcome is Outcome.UNAVAILABLE:
            down = found.detail
            report(f"{doi}: could not check: {found.detail}")
        elif found.outcome is Outcome.FOUND:
            assert found.fetched is not None
            _, changed = cache.store(found.fetched)
            where = display_path(cache.path_for(doi))
            report(f"{doi}: found at {found.detail}; {'cached in' if changed else 'unchanged in'} {where}")
        else:
            report(f"{doi}: {found.detail}")
    return out


def lookup_problems(issue: Issue, shown: str, lookups: dict[str, Lookup],
                    cache: ReferenceCache) -> tuple[list[Problem], list[str]]:
    """(located problems, could-not-check lines) for one issue's DOIs after `refresh`.

    A DOI no registration agency knows is an error (every reader would get a broken link); one
    registered without metadata is a warning; one that could not be checked is neither, and is
    listed instead, saying whether the cached record stood in for it.
    """
    problems: list[Problem] = []
    unchecked: list[str] = []
    for i, a in enumerate(issue.articles):
        if not a.doi or doi_key(a.doi) not in lookups:
            continue
        found = lookups[doi_key(a.doi)]
        line, col = a.spans.get("doi", (1, 1))
        field = f"articles[{i}].doi"
        if found.outcome is Outcome.NOT_FOUND:
            problems.append(Problem(shown, line, col, field, f"{a.doi} does not resolve: {found.detail} "
                                                             "(a typo in the DOI?)"))
        elif found.outcome is Outcome.NO_METADATA:
            problems.append(Problem(shown, line, col, field, f"{a.doi} is {found.detail}; the "
                                                             "reference cannot be checked", "warning"))
        elif found.outcome is Outcome.UNAVAILABLE:
            try:
                cached = cache.get(a.doi) is not None
            except BrokenCacheFile:
                cached = False
            fallback = "the cached record was used" if cached else "it has never been looked up"
            unchecked.append(f"{shown}:{line}:{col}: {field}: could not check {a.doi}: {found.detail}; "
                             f"{fallback}")
    return problems, unchecked
