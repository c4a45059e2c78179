"""Atom feeds (RFC 4287) of the archive, written by feedgen: `/feed.atom` has one entry per
issue with its full content; `/topics/SLUG/feed.atom` one entry per article on that topic.

Ids never change once published: an issue's entry id is its page's URL; an article's is a tag
URI (RFC 4151) of the site, the issue and the article's position, so fixing a typo in a title
(which changes its anchor) does not make readers' feed readers show it again. Times are when
the issue's dispatch started, so the same archive always gives the same feed. Every link is
absolute (base_url).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator

from ...content.config import Settings
from .archive import ArticleView, IssueView


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def article_id(settings: Settings, article: ArticleView) -> str:
    """tag:HOST,YYYY-MM-01:[PATH/]archive/YYYY-MM/N — stable for the article at position N."""
    parts = urlsplit(settings.base_url)
    specific = "/".join(p for p in (parts.path.strip("/"), "archive", article.month, str(article.position)) if p)
    return f"tag:{parts.hostname},{article.month}-01:{specific}"


def article_html(settings: Settings, a: ArticleView) -> str:
    """One article as an HTML fragment (feed content): reference, link, summary, implications."""
    labels = settings.taxonomy.labels
    out = []
    if a.citation:
        out.append(f"<p><em>{escape(a.citation)}</em></p>")
    if a.link:
        label = "DOI" if a.doi else "Link"
        out.append(f'<p>{label}: <a href="{escape(a.link)}">{escape(a.link)}</a></p>')
    out.append(f"<p>Topics: {escape(', '.join(labels[t] for t in a.topics))}</p>")
    out.append(a.summary_html)
    out.append(f"<h4>Practice implications</h4>{a.implications_html}")
    return "\n".join(out)


def _feed(settings: Settings, *, title: str, subtitle: str, self_url: str, page_url: str,
          updated: float) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(title)
    fg.subtitle(subtitle)
    fg.author({"name": settings.name, "uri": f"{settings.base_url}/archive/"})
    fg.link(href=page_url, rel="alternate", type="text/html")
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.language("en")
    fg.generator("newsletter")
    fg.updated(_when(updated))
    return fg


def issue_feed(settings: Settings, issues: Sequence[IssueView]) -> bytes:
    """Every public issue (newest first), full content."""
    base = settings.base_url
    fg = _feed(settings, title=settings.name, subtitle=f"Every issue of {settings.name}",
               self_url=f"{base}/feed.atom", page_url=f"{base}/archive/",
               updated=max((i.published for i in issues), default=0))
    for issue in issues:
        url = f"{base}/archive/{issue.month}"
        fe = fg.add_entry(order="append")
        fe.id(url)
        fe.title(issue.subject)
        fe.link(href=url, rel="alternate", type="text/html")
        fe.published(_when(issue.published))
        fe.updated(_when(issue.published))
        fe.summary(", ".join(a.title for a in issue.articles))
        body = [issue.intro_html]
        for a in issue.articles:
            body.append(f'<h3><a href="{escape(url)}#{a.anchor}">{escape(a.title)}</a></h3>')
            body.append(article_html(settings, a))
        fe.content("\n".join(body), type="html")
    return bytes(fg.atom_str(pretty=True))


def topic_feed(settings: Settings, slug: str, issues: Sequence[IssueView]) -> bytes:
    """Every article on topic `slug` (newest first), one entry each."""
    base, label = settings.base_url, settings.taxonomy.labels[slug]
    items = [(i, a) for i in issues for a in i.articles if slug in a.topics]
    fg = _feed(settings, title=f"{settings.name}: {label}", subtitle=f"Articles on {label}",
               self_url=f"{base}/topics/{slug}/feed.atom", page_url=f"{base}/topics/{slug}",
               updated=max((i.published for i, _ in items), default=max((i.published for i in issues), default=0)))
    for issue, a in items:
        fe = fg.add_entry(order="append")
        fe.id(article_id(settings, a))
        fe.title(a.title)
        fe.link(href=f"{base}/archive/{issue.month}#{a.anchor}", rel="alternate", type="text/html")
        fe.published(_when(issue.published))
        fe.updated(_when(issue.published))
        for t in a.topics:
            fe.category(term=t, label=settings.taxonomy.labels[t], scheme=f"{base}/topics/")
        fe.content(article_html(settings, a), type="html")
    return bytes(fg.atom_str(pretty=True))


__all__ = ["article_html", "article_id", "issue_feed", "topic_feed"]
