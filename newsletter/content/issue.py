"""The issue file: `issues/YYYY-MM.yaml` → a validated `Issue`."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import advice, schema
from . import doi as doi_names
from .config import Settings
from .headers import HeaderValueError, check_header_value
from .partial import check_before_syntax_error
from .textfile import display_path
from .yamltree import Reader, YNode

MAX_ISSUE_BYTES = 512 * 1024
MAX_ARTICLES = 4
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_ARTICLE_KEYS = ["title", "topics", "summary", "implications"]
_ARTICLE_OPTIONAL = ["citation", "doi", "url"]


@dataclass(frozen=True)
class Article:
    title: str
    citation: str | None
    doi: str | None
    url: str | None
    topics: tuple[str, ...]  # slugs, taxonomy order
    summary: str  # Markdown
    implications: str  # Markdown
    # where each key's value starts in the issue file: {"doi": (line, col), …}, for located checks
    spans: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def link(self) -> str | None:
        """Where the article is read: the doi.org link (percent-encoded) or the URL."""
        return doi_names.url(self.doi) if self.doi else self.url

    @property
    def link_label(self) -> str | None:
        """The link as the reader sees it: `https://doi.org/` + the DOI as written, or the URL."""
        return doi_names.parse(self.doi).display_url if self.doi else self.url


@dataclass(frozen=True)
class Issue:
    path: Path
    month: str  # YYYY-MM
    subject: str
    intro: str  # Markdown
    articles: tuple[Article, ...]

    @property
    def month_label(self) -> str:
        year, month = self.month.split("-")
        return f"{calendar.month_name[int(month)]} {year}"

    @property
    def slug(self) -> str:
        return self.month


def default_subject(settings: Settings, month_label: str) -> str:
    return f"{settings.name}: {month_label}"


def load_issue(path: Path | str, settings: Settings) -> Issue:
    """Load and validate; raises InputError listing every problem of the file."""
    issue, r = read_issue(path, settings)
    r.raise_if_errors()
    assert issue is not None
    return issue


def read_issue(path: Path | str, settings: Settings) -> tuple[Issue | None, Reader]:
    """Like load_issue but returns the reader with its problems (warnings included)."""
    path = Path(path)
    r = Reader(display_path(path))
    node = r.load(MAX_ISSUE_BYTES)
    if node is None or (node.kind == "null" and not r.problems):
        check_before_syntax_error(r, lambda pr, tree: _parse(pr, tree, path, settings))
        if not r.problems:
            r.problem(1, 1, "", "the issue file is empty")
        return None, r
    issue = _parse(r, node, path, settings)
    return (issue if not r.errors else None), r


def _parse(r: Reader, node: YNode, path: Path, settings: Settings) -> Issue | None:
    m = schema.mapping(r, node, "", ["month", "intro", "articles"], ["subject"])
    if m is None:
        return None
    month = _month(r, m.get("month"), path)
    subject = schema.text(r, m.get("subject"), "subject", single_line=True, max_len=200, words=True)
    if subject is not None and "subject" in m:
        try:
            check_header_value(subject, "the subject")
        except HeaderValueError as exc:
            r.problem(m["subject"].line, m["subject"].col, "subject", str(exc))
    intro = schema.prose(r, m.get("intro"), "intro", max_len=5_000)
    articles = _articles(r, m.get("articles"), settings)
    if r.errors or month is None or intro is None or articles is None:
        return None
    issue = Issue(path, month, "", intro, tuple(articles))
    subj = subject or default_subject(settings, issue.month_label)
    issue = Issue(path, month, subj, intro, tuple(articles))
    items = m["articles"].value
    assert isinstance(items, list)
    advice.advise(r, issue, m.get("intro"), items, settings)
    return issue


def _month(r: Reader, node: YNode | None, path: Path) -> str | None:
    value = schema.text(r, node, "month", single_line=True, max_len=20)
    if value is None or node is None:
        return None
    if not _MONTH.match(value):
        r.problem(node.line, node.col, "month", f"'{value}' is not a month in the form YYYY-MM")
        return None
    if path.stem != value:
        r.problem(node.line, node.col, "month",
                  f"'{value}' does not match the file name '{path.name}' (expected {path.stem})")
        return None
    return value


def _articles(r: Reader, node: YNode | None, settings: Settings) -> list[Article] | None:
    if node is None:
        return None
    if node.kind != "seq":
        r.problem(node.line, node.col, "articles", f"expected a list of articles, got {node.describe()}")
        return None
    assert isinstance(node.value, list)
    n = len(node.value)
    if n == 0 or n > MAX_ARTICLES:
        r.problem(node.line, node.col, "articles",
                  f"has {n} articles; an issue has 1 to {MAX_ARTICLES}")
        return None
    if n not in (2, 3):
        r.warn(node.line, node.col, "articles", f"has {n} article(s); issues usually have 2 or 3")
    out = [_article(r, item, f"articles[{i}]", settings) for i, item in enumerate(node.value)]
    links: dict[str, str] = {}
    for i, (a, item) in enumerate(zip(out, node.value)):
        if a and a.link:
            if a.link in links:
                r.problem(item.line, item.col, f"articles[{i}]",
                          f"same link as {links[a.link]} ({a.link})")
            links.setdefault(a.link, f"articles[{i}]")
    return [a for a in out if a is not None] if all(out) else None


def _doi_from_url(r: Reader, node: YNode, path: str, doi: str | None) -> str | None:
    from_url = schema.doi(r, node, f"{path}.url")
    if from_url and doi and doi_names.parse(doi).key != doi_names.parse(from_url).key:
        r.problem(node.line, node.col, f"{path}.url", f"links to DOI {from_url} but doi is {doi}")
    return doi or from_url


def _article(r: Reader, node: YNode, path: str, settings: Settings) -> Article | None:
    m = schema.mapping(r, node, path, _ARTICLE_KEYS, _ARTICLE_OPTIONAL)
    if m is None:
        return None
    title = schema.text(r, m.get("title"), f"{path}.title", single_line=True, max_len=300, words=True)
    citation = schema.text(r, m.get("citation"), f"{path}.citation", single_line=False, max_len=1000,
                           words=True)
    citation = " ".join(citation.split()) if citation else None
    doi = schema.doi(r, m.get("doi"), f"{path}.doi") if "doi" in m else None
    url = None
    unode = m.get("url")
    if unode is not None and unode.kind == "str" and doi_names.is_resolver_link(str(unode.value)):
        doi = _doi_from_url(r, unode, path, doi)  # a doi.org link is a DOI, percent-encoded our way
    elif unode is not None:
        url = schema.http_url(r, unode, f"{path}.url")
    summary = schema.prose(r, m.get("summary"), f"{path}.summary", max_len=20_000)
    implications = schema.prose(r, m.get("implications"), f"{path}.implications", max_len=20_000)
    topics: list[str] = []
    tnode = m.get("topics")
    empty = tnode is not None and (tnode.kind == "null" or (tnode.kind == "seq" and not tnode.value))
    entries = [] if empty else schema.text_list(r, tnode, f"{path}.topics")
    for i, (name, item) in enumerate(entries):
        slug = settings.taxonomy.lookup(name)
        if slug is None:
            r.problem(item.line, item.col, f"{path}.topics[{i}]",
                      f"unknown topic '{name}'{settings.taxonomy.suggest(name)}")
        elif slug not in topics:
            topics.append(slug)
    if empty:
        assert tnode is not None
        r.problem(tnode.line, tnode.col, f"{path}.topics", "at least one topic is required")
    if None in (title, summary, implications) or not topics:
        return None
    assert title and summary and implications
    ordered = tuple(settings.taxonomy.order(set(topics)))
    spans = {key: (n.line, n.col) for key, n in m.items()}
    return Article(title, citation, doi, url, ordered, summary, implications, spans)
