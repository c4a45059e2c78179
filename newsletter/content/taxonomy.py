"""The topics of the site (`topics:` in newsletter.yaml): slugs, labels, lookup by either.

A topic is `slug: Label`, or `slug: {label: Label, aliases: [Old name, …]}` when a label was
renamed: an alias is still accepted wherever a topic is named (issue and subscriber files,
looked up like labels, ignoring case and spacing) but never shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import schema
from .yamltree import Reader, YNode

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _norm(s: str) -> str:
    return " ".join(s.casefold().split())


@dataclass(frozen=True)
class Taxonomy:
    """Topics by stable slug, in the configured order; lookup accepts a slug, label or alias.

    `labels` maps slug → label (what readers see); `aliases` maps an accepted old name → slug.
    """

    labels: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        index = {_norm(alias): slug for alias, slug in self.aliases.items()}
        index.update({_norm(slug): slug for slug in self.labels})
        index.update({_norm(label): slug for slug, label in self.labels.items()})
        object.__setattr__(self, "_index", index)

    def lookup(self, name: str) -> str | None:
        """The slug named by `name` (slug, label or alias; case and spacing ignored), or None."""
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
    assert isinstance(node.value, dict)
    labels: dict[str, str] = {}
    aliases: dict[str, str] = {}
    seen: dict[str, tuple[str, str]] = {}  # normalised name → (slug, what it is)
    slugs = set(node.value)
    for slug, child in node.value.items():
        line, col = node.key_lines[slug]
        if not _SLUG.fullmatch(slug):
            r.problem(line, col, "topics", f"slug {slug!r} must be lower-case letters, digits and hyphens")
            continue
        label_node, alias_nodes = _entry(r, slug, child)
        label = schema.text(r, label_node, f"topics.{slug}", single_line=True, max_len=120)
        if label is None or label_node is None or not _free(r, label_node, f"topics.{slug}", "label",
                                                            label, slug, seen, slugs):
            continue
        seen[_norm(label)] = (slug, "label")
        labels[slug] = label
        for i, (alias, anode) in enumerate(alias_nodes):
            where = f"topics.{slug}.aliases[{i}]"
            if _norm(alias) in seen and seen[_norm(alias)][0] == slug:
                continue  # an alias equal to its own label: harmless
            if _free(r, anode, where, "alias", alias, slug, seen, slugs):
                seen[_norm(alias)] = (slug, "alias")
                aliases[alias] = slug
    return Taxonomy(labels, aliases)


def _entry(r: Reader, slug: str, child: YNode) -> tuple[YNode | None, list[tuple[str, YNode]]]:
    """`Label` or `{label: Label, aliases: [...]}` → (label node, [(alias, node)])."""
    if child.kind != "map":
        return child, []
    m = schema.mapping(r, child, f"topics.{slug}", ["label"], ["aliases"])
    if m is None:
        return None, []
    return m.get("label"), schema.text_list(r, m.get("aliases"), f"topics.{slug}.aliases")


def _free(r: Reader, node: YNode, where: str, what: str, name: str, slug: str,
          seen: dict[str, tuple[str, str]], slugs: set[str]) -> bool:
    """True if `name` (a label or alias of `slug`) is not another topic's label, alias or slug:
    lookup would be ambiguous."""
    key = _norm(name)
    if key in seen:
        other, kind = seen[key]
        used = "is also used by" if kind == what == "label" else f"is {'an alias' if kind == 'alias' else 'the label'} of"
        r.problem(node.line, node.col, where, f"{what} '{name}' {used} '{other}'")
        return False
    if key in slugs and key != slug:
        r.problem(node.line, node.col, where, f"{what} '{name}' is the slug of the topic '{key}'")
        return False
    return True
