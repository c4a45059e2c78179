"""The archive's content: every public issue as a web-ready view (Markdown as HTML, article
anchors, the paper's bibliographic parts), read from `issues/` and cached by file time.

The paper's parts (`content.references.work`) come from the DOI's record in the reference cache
(`references/`, written by `check --online` and `cite`) when it is there, else from the author's
`citation`; a view is rebuilt when its issue file or one of its DOIs' cache files changes.

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

from ...content.config import Settings
from ...content.issue import Article, Issue, load_issue
from ...content.references import BrokenCacheFile, ReferenceCache
from ...content.references.work import Work, work_of
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
    paper: Work  # the summarised paper's parts: from the DOI's cached record, else the citation


@dataclass(frozen=True)
class IssueView:
    month: str
    label: str  # "October 2020"
    subject: str
    intro_html: str
    articles: tuple[ArticleView, ...]
    published: float  # Unix seconds: when its dispatch started (a draft: its file's time)


def issue_view(issue: Issue, published: float, references: ReferenceCache | None = None) -> IssueView:
    """The web-ready view of `issue` (`published`: Unix seconds). With `references`, each paper's
    parts come from its DOI's cached record when there is one (a broken cache file is logged and
    the citation used instead: `check` reports the file)."""
    anchors = article_anchors(a.title for a in issue.articles)
    articles = tuple(
        ArticleView(issue.month, i, anchor, a.title, a.citation, a.doi, a.link, a.topics,
                    markup.to_html(a.summary), markup.to_html(a.implications), _paper(a, references))
        for i, (a, anchor) in enumerate(zip(issue.articles, anchors), 1))
    return IssueView(issue.month, issue.month_label, issue.subject, markup.to_html(issue.intro), articles,
                     published)


def _paper(a: Article, references: ReferenceCache | None) -> Work:
    record = None
    if references is not None and a.doi:
        try:
            record = references.get(a.doi)
        except BrokenCacheFile as exc:
            log.warning("archive: %s", exc)
    return work_of(a.citation, record)


class Archive:
    """The public issues, newest first; safe to call from several threads."""

    def __init__(self, settings: Settings, *, drafts: bool = False) -> None:
        self.settings, self.drafts = settings, drafts
        self.references = ReferenceCache.of(settings.root)
        self._cache: dict[str, tuple[int, float, tuple[int, ...], IssueView]] = {}
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
            if cached and cached[:3] == (mtime, when, self._stamps(cached[3])):
                return cached[3]
            try:
                issue = load_issue(path, self.settings)
            except NewsletterError as exc:
                log.error("archive %s: %s", month, exc)
                return None
            if issue.month != month:
                return None
            view = issue_view(issue, when, self.references)
            self._cache[month] = (mtime, when, self._stamps(view), view)
            return view

    def _stamps(self, view: IssueView) -> tuple[int, ...]:
        """The modification times of the view's DOIs' cache files (-1: none)."""
        out = []
        for a in view.articles:
            try:
                out.append(self.references.path_for(a.doi).stat().st_mtime_ns if a.doi else -1)
            except OSError:
                out.append(-1)
        return tuple(out)


__all__ = ["MONTH", "Archive", "ArticleView", "IssueView", "issue_view"]
