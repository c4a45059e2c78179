"""The public archive as pages: one renderer for `newsletter serve` (live) and `newsletter site
build` (static files), so both give the same bytes for the same archive.

    /  and /archive/          every public issue, newest first, with its article titles
    /archive/YYYY-MM          an issue's web page (its own layout; article anchors; JSON-LD, COinS)
    /topics/                  every topic with its number of articles
    /topics/SLUG              every article on the topic, newest first
    /feed.atom                one entry per issue, full content
    /topics/SLUG/feed.atom    one entry per article on the topic
    /site.css                 the one stylesheet (and /favicon.ico, which browsers fetch anyway)

Pages need no JavaScript, load nothing from elsewhere and link with absolute paths under the
path of base_url; feeds link with absolute URLs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...content.config import Settings
from ...errors import UsageError
from ..pages import environment, static_bytes, static_text
from .archive import MONTH, Archive
from .feeds import issue_feed, topic_feed
from .scholarly import coins, json_ld

CSS_PATH = "/site.css"
ICON_PATH = "/favicon.ico"  # browsers ask for it on their own (also when showing a feed)
ATOM = "application/atom+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
# The archive's pages: their own stylesheet only; JSON-LD is data, never run.
SITE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
_TOPIC = re.compile(r"^/topics/([a-z0-9]+(?:-[a-z0-9]+)*)(/feed\.atom)?$")

_env = environment("public")


@dataclass(frozen=True)
class Page:
    body: bytes
    media_type: str


class Site:
    """Renders any archive path for a given set of published issues (month → start time)."""

    def __init__(self, settings: Settings, *, drafts: bool = False) -> None:
        self.settings = settings
        self.archive = Archive(settings, drafts=drafts)
        self.prefix = urlsplit(settings.base_url).path.rstrip("/")
        self.css = static_text("site.css").encode()
        self.icon = static_bytes("favicon.png")  # a PNG: browsers read it under any name

    def render(self, path: str, published: Mapping[str, float]) -> Page | None:
        """The page at `path` (relative to base_url), or None if there is none."""
        if path == CSS_PATH:
            return Page(self.css, "text/css; charset=utf-8")
        if path == ICON_PATH:
            return Page(self.icon, "image/png")
        issues = self.archive.issues(published)
        if path in ("/", "/archive", "/archive/"):
            return self._html("archive_index.html", title="Archive", issues=issues, canonical="/archive/")
        if path.startswith("/archive/") and MONTH.match(path[9:]):
            issue = next((i for i in issues if i.month == path[9:]), None)
            if issue is None:
                return None
            return self._html("issue.html", title=issue.label, issue=issue, canonical=f"/archive/{issue.month}",
                              json_ld=json_ld(self.settings, issue), coins=coins,
                              description=", ".join(a.title for a in issue.articles))
        if path in ("/topics", "/topics/"):
            counts = {slug: 0 for slug in self.settings.taxonomy.labels}
            for i in issues:
                for a in i.articles:
                    for t in a.topics:
                        counts[t] = counts.get(t, 0) + 1
            return self._html("topics.html", title="Topics", counts=counts, canonical="/topics/")
        if path == "/feed.atom":
            return Page(issue_feed(self.settings, issues), ATOM)
        m = _TOPIC.match(path)
        if m and m.group(1) in self.settings.taxonomy.labels:
            slug = m.group(1)
            if m.group(2):
                return Page(topic_feed(self.settings, slug, issues), ATOM)
            items = [(i, a) for i in issues for a in i.articles if slug in a.topics]
            label = self.settings.taxonomy.labels[slug]
            return self._html("topic.html", title=label, slug=slug, items=items, canonical=f"/topics/{slug}",
                              topic_feed=f"{self.settings.base_url}/topics/{slug}/feed.atom")
        return None

    def paths(self, published: Mapping[str, float]) -> list[str]:
        """Every path there is, for a static copy."""
        issues = self.archive.issues(published)
        topics = list(self.settings.taxonomy.labels)
        return ["/", "/archive/", *[f"/archive/{i.month}" for i in issues], "/topics/",
                *[f"/topics/{t}" for t in topics], "/feed.atom", *[f"/topics/{t}/feed.atom" for t in topics],
                CSS_PATH, ICON_PATH]

    @staticmethod
    def file_for(path: str) -> str:
        """Where a static copy keeps `path`: directories as index.html, pages as NAME.html
        (served for /NAME by static hosts and by `try_files $uri $uri.html`), feeds and CSS as is."""
        rel = path.lstrip("/")
        if not rel or rel.endswith("/"):
            return rel + "index.html"
        return rel if rel.endswith((".atom", ".css", ".ico")) else rel + ".html"

    def _html(self, template: str, *, title: str, canonical: str, **context: Any) -> Page:
        s = self.settings
        context.setdefault("topic_feed", "")
        context.setdefault("description", f"{s.name}: a monthly summary of practice-oriented research")
        html = _env.get_template(template).render(
            title=title, list_name=s.name, postal_address=s.postal_address, prefix=self.prefix,
            base_url=s.base_url, canonical=s.base_url + canonical, labels=s.taxonomy.labels,
            signup=s.signup.enabled, date=_date, **context)
        return Page(html.encode(), HTML)


def build(site: Site, out: Path, published: Mapping[str, float]) -> list[Path]:
    """Write every page of the archive under `out` (created if needed; files replaced
    atomically, nothing else touched); the files written. Raises UsageError (exit 2)."""
    written = []
    for path in site.paths(published):
        page = site.render(path, published)
        assert page is not None, path
        target = out / site.file_for(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(page.body)
            os.replace(tmp, target)
        except OSError as exc:
            raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
        written.append(target)
    return written


def _date(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")


__all__ = ["CSS_PATH", "SITE_CSP", "Page", "Site", "build"]
