"""The topics of the site (`topics:` in newsletter.yaml): slugs, labels, lookup by either, and
"did you mean" suggestions for a name that is neither.

A topic is `slug: Label`, or `slug: {label: Label, aliases: [Old name, …]}` when a label was
renamed: an alias is still accepted wherever a topic is named (issue and subscriber files,
looked up like labels, ignoring case and spacing) and suggested from, but never shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from . import schema
from .yamltree import Reader, YNode

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PARENS = re.compile(r"\(([^)]*)\)")
_PIECES = re.compile(r"\band\b|\bor\b|[/,;&]", re.IGNORECASE)
SUGGEST_CUTOFF = 75.0  # of `_score`, 0-100: below it a "suggestion" is mostly noise ("ML" → "Medication")
SUGGEST_TIE = 1.0  # topics scoring within this of the best are offered too (up to MAX_SUGGESTIONS)
MAX_SUGGESTIONS = 3


def _norm(s: str) -> str:
    return " ".join(s.casefold().split())


def _phrases(slug: str, label: str) -> set[str]:
    """What a reader might call a topic: its slug (as words), its label, the label's abbreviations
    in parentheses and its parts between 'and', 'or', '/' and commas ("Cognitive Therapy (CT)
    and Cognitive-Behavioural Therapy (CBT)" → "CT", "CBT", "Cognitive Therapy", …); normalised
    by rapidfuzz's default processor (lower case, punctuation as spaces)."""
    from rapidfuzz import utils  # only on the way to a suggestion: it costs ~10 ms to import

    out = {slug.replace("-", " "), label}
    out.update(a.strip() for a in _PARENS.findall(label))
    out.update(p.strip() for p in _PIECES.split(_PARENS.sub(" ", label)))
    return {utils.default_process(p) for p in out if p.strip()} - {""}


def _score(query: str, phrase: str) -> float:
    """How well `query` names `phrase`, 0-100: a misspelling of it (edit distance, any word
    order), or, when the phrase is longer, a piece of it ("cognitive" in "cognitive therapy")
    or its words among the phrase's ("alliance therapeutic"), each word perhaps misspelt ("ipt
    therapy" ~ "interpersonal psychotherapy ipt"). Pieces count a little less than whole
    matches, and a short phrase is never found inside a longer query ("ct" in "factors")."""
    from rapidfuzz import fuzz

    score = max(fuzz.ratio(query, phrase), fuzz.token_sort_ratio(query, phrase))
    if len(phrase) >= len(query) + 3:
        score = max(score, 0.9 * fuzz.partial_ratio(query, phrase), 0.95 * fuzz.token_set_ratio(query, phrase))
    words, phrase_words = query.split(), phrase.split()
    if len(words) > 1:
        each = [max(fuzz.ratio(w, p) for p in phrase_words) for w in words]
        score = max(score, 0.95 * sum(each) / len(each))
    return score


@dataclass(frozen=True)
class Taxonomy:
    """Topics by stable slug, in the configured order; lookup accepts a slug, label or alias.

    `labels` maps slug → label (what readers see); `aliases` maps an accepted old name → slug.
    """

    labels: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {_norm(alias): slug for alias, slug in self.aliases.items()}
        index.update({_norm(slug): slug for slug in self.labels})
        index.update({_norm(label): slug for slug, label in self.labels.items()})
        object.__setattr__(self, "_index", index)

    @cached_property
    def _phrases(self) -> list[tuple[str, str]]:
        """(phrase, slug) pairs suggestions are scored against; built on the first unknown name."""
        names: dict[str, list[str]] = {slug: [label] for slug, label in self.labels.items()}  # topic order
        for alias, slug in self.aliases.items():
            names.get(slug, []).append(alias)
        return [(p, slug) for slug, said in names.items()
                for p in sorted(set().union(*(_phrases(slug, name) for name in said)))]

    def lookup(self, name: str) -> str | None:
        """The slug named by `name` (slug, label or alias; case and spacing ignored), or None."""
        return self._index.get(_norm(name))

    def suggestions(self, name: str) -> list[str]:
        """The topics `name` most likely means, best first (at most MAX_SUGGESTIONS; [] if none
        is close): each as its label when `name` is a misspelt label, else as its slug.

        Scored with rapidfuzz against the slug, the label and the label's parts, so `cognitive
        therapy` finds `cbt` through "Cognitive Therapy (CT) and …", not `combination-therapy`.
        """
        return self._close(name)[:MAX_SUGGESTIONS]

    def _close(self, name: str) -> list[str]:
        """Every topic above the cutoff and within SUGGEST_TIE of the best, best first."""
        from rapidfuzz import utils

        query = utils.default_process(name)
        if not query:
            return []
        best: dict[str, float] = {}
        for phrase, slug in self._phrases:
            score = _score(query, phrase)
            if score > best.get(slug, 0.0):
                best[slug] = score
        ranked = sorted((s for s in best if best[s] >= SUGGEST_CUTOFF), key=lambda s: -best[s])
        top = best[ranked[0]] if ranked else 0.0
        return [self._shown_as(query, s) for s in ranked if best[s] >= top - SUGGEST_TIE]

    def _shown_as(self, query: str, slug: str) -> str:
        from rapidfuzz import fuzz, utils

        label = self.labels[slug]
        by_label = fuzz.ratio(query, utils.default_process(label))
        return label if by_label >= SUGGEST_CUTOFF and by_label >= fuzz.ratio(query, slug) else slug

    def suggest(self, name: str) -> str:
        """The tail of an "unknown topic" message: ` (did you mean 'x'?)`, or where to look."""
        found = self._close(name)
        if not found:
            return " (see the topics in newsletter.yaml)"
        if len(found) > MAX_SUGGESTIONS:
            return f" (it matches {len(found)} topics equally: {', '.join(found)}; use a slug or a whole label)"
        quoted = [f"'{s}'" for s in found]
        options = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        return f" (did you mean {options}?)"

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
