"""The topics of the site (`topics:` in newsletter.yaml): slugs, labels, lookup by either."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import schema
from .yamltree import Reader, YNode

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _norm(s: str) -> str:
    return " ".join(s.casefold().split())


@dataclass(frozen=True)
class Taxonomy:
    """Topics by stable slug, in the configured order; lookup accepts a slug or a label."""

    labels: dict[str, str]

    def __post_init__(self) -> None:
        index = {_norm(slug): slug for slug in self.labels}
        index.update({_norm(label): slug for slug, label in self.labels.items()})
        object.__setattr__(self, "_index", index)

    def lookup(self, name: str) -> str | None:
        return self._index.get(_norm(name))  # type: ignore[attr-defined,no-any-return]

    def suggest(self, name: str) -> str:
        import difflib

        choices = list(self.labels) + list(self.labels.values())
        close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
        if not close:
            lowered = {c.casefold(): c for c in choices}
            close = [lowered[c] for c in difflib.get_close_matches(name.casefold(), list(lowered), 1, 0.5)]
        return f" (did you mean '{close[0]}'?)" if close else " (see the topics in newsletter.yaml)"

    def order(self, slugs: set[str] | frozenset[str]) -> list[str]:
        return [s for s in self.labels if s in slugs]


def parse_taxonomy(r: Reader, node: YNode | None) -> Taxonomy | None:
    """The `topics:` mapping of newsletter.yaml (every problem reported on the reader)."""
    if node is None:
        return None
    if node.kind != "map" or not node.value:
        r.problem(node.line, node.col, "topics", "expected a mapping of slug: label")
        return None
    labels: dict[str, str] = {}
    assert isinstance(node.value, dict)
    seen: dict[str, str] = {}
    slugs = set(node.value)
    for slug, child in node.value.items():
        line, col = node.key_lines[slug]
        if not _SLUG.fullmatch(slug):
            r.problem(line, col, "topics", f"slug {slug!r} must be lower-case letters, digits and hyphens")
            continue
        label = schema.text(r, child, f"topics.{slug}", single_line=True, max_len=120)
        if label is None:
            continue
        if _norm(label) in seen:
            r.problem(child.line, child.col, f"topics.{slug}",
                      f"label '{label}' is also used by '{seen[_norm(label)]}'")
            continue
        if _norm(label) in slugs and _norm(label) != slug:  # lookup would be ambiguous
            r.problem(child.line, child.col, f"topics.{slug}",
                      f"label '{label}' is the slug of the topic '{_norm(label)}'")
            continue
        seen[_norm(label)] = slug
        labels[slug] = label
    return Taxonomy(labels)
