"""The archive's content: every public issue as a web-ready view (Markdown as HTML, article
anchors, the paper's parsed reference), read from `issues/` and cached by file time.

An issue is public once its dispatch has started (a campaign in the ledger; the caller passes
those as month → start time, which is also the issue's publication time in feeds). A draft in
issues/ is never public; `newsletter serve --archive-drafts` lifts that for local use (a draft's
time is its file's modification time).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ...content.citation import Paper, parse_reference
from ...content.config import Settings
from ...content.issue import Issue, load_issue
from ...content.slugs import article_anchors
from ...errors import NewsletterError
from ...mail import markup

log = logging.getLogger("newsletter.serve")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ArticleView:
    month: str
    position: int  # 1-based, in the issue
    anchor: str  # fragment id: the slug of the title (content.slugs)
    title: str
    citation: str | None
    doi: str | None
    link: str | None
    topics: tuple[str, ...]  # slugs, taxonomy order
    summary_html: str
    implications_html: str
    paper: Paper


@dataclass(frozen=True)
class IssueView:
    month: str
    label: str  # "October 2020"
    subject: str
    intro_html: str
    articles: tuple[ArticleView, ...]
    published: float  # Unix seconds: when its dispatch started (a draft: its file's time)


def issue_view(issue: Issue, published: float) -> IssueView:
    anchors = article_anchors(a.title for a in issue.articles)
    articles = tuple(
        ArticleView(issue.month, i, anchor, a.title, a.citation, a.doi, a.link, a.topics,
                    markup.to_html(a.summary), markup.to_html(a.implications), parse_reference(a.citation))
        for i, (a, anchor) in enumerate(zip(issue.articles, anchors), 1))
    return IssueView(issue.month, issue.month_label, issue.subject, markup.to_html(issue.intro), articles,
                     published)


class Archive:
    """The public issues, newest first; safe to call from several threads."""

    def __init__(self, settings: Settings, *, drafts: bool = False) -> None:
        self.settings, self.drafts = settings, drafts
        self._cache: dict[str, tuple[int, float, IssueView]] = {}
        self._lock = threading.Lock()

    def issues(self, published: Mapping[str, float]) -> list[IssueView]:
        """Every public issue that loads without error (a broken file is logged and left out)."""
        out = []
        for path in sorted(self.settings.issues_dir.glob("*.yaml"), reverse=True):
            month = path.stem
            if not MONTH.match(month) or not (month in published or self.drafts):
                continue
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue
            view = self._view(path, month, mtime, published.get(month, mtime / 1e9))
            if view is not None:
                out.append(view)
        return out

    def _view(self, path: Path, month: str, mtime: int, when: float) -> IssueView | None:
        with self._lock:
            cached = self._cache.get(month)
            if cached and cached[:2] == (mtime, when):
                return cached[2]
            try:
                issue = load_issue(path, self.settings)
            except NewsletterError as exc:
                log.error("archive %s: %s", month, exc)
                return None
            if issue.month != month:
                return None
            view = issue_view(issue, when)
            self._cache[month] = (mtime, when, view)
            return view


__all__ = ["MONTH", "Archive", "ArticleView", "IssueView", "issue_view"]
