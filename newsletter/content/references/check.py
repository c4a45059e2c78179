"""The offline reference check of one issue: cached records against what the author wrote.

Every article with a `doi` is looked up in the committed cache (`references/`). Differences
become located warnings (`issues/2021-04.yaml:9:7: warning: articles[0].citation: year 2019
does not match the registry (2020)`), at the line of the word concerned when it can be found
in the file. A DOI that was never looked up is said so, with the command that fixes it.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import Problem
from ..issue import Article, Issue
from ..textfile import display_path, line_col
from .cache import BrokenCacheFile, ReferenceCache
from .compare import Finding, check_citation, check_record, check_title

NOT_LOOKED_UP = "has not been looked up yet: run `newsletter check --online` to fetch its record into references/"


def check_issue(issue: Issue, cache: ReferenceCache) -> list[Problem]:
    """Warnings for every article with a DOI (never errors: see `check_article`)."""
    locator = Locator(issue.path)
    out: list[Problem] = []
    for i, article in enumerate(issue.articles):
        if article.doi:
            out += check_article(article, f"articles[{i}]", cache, locator)
    return out


def check_article(article: Article, path: str, cache: ReferenceCache, locator: Locator) -> list[Problem]:
    """Compare one article with its cached record; a missing or broken cache entry is a warning."""
    assert article.doi
    try:
        item = cache.get(article.doi)
    except BrokenCacheFile as exc:
        return [Problem(exc.path, exc.line, exc.col, "", f"{exc.reason} (the cached record of "
                                                         f"{article.doi} is ignored)", "warning")]
    if item is None:
        line, col = article.spans.get("doi", (1, 1))
        tail = "" if article.citation else "; until then the article shows no reference"
        return [Problem(locator.shown, line, col, f"{path}.doi", f"{article.doi} {NOT_LOOKED_UP}{tail}",
                        "warning")]
    findings = check_record(item, article.doi)
    if article.citation:
        findings += check_citation(article.citation, item, article.doi)
    findings += check_title(article.title, item)
    return [locator.problem(article, path, f) for f in findings]


class Locator:
    """Finds where a word of a field's value is written in the issue file."""

    def __init__(self, path: Path) -> None:
        self.shown = display_path(path)
        try:
            self.text = path.read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n")
        except OSError:
            self.text = ""
        self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def problem(self, article: Article, path: str, f: Finding) -> Problem:
        key = f.field if f.field in article.spans else "doi" if "doi" in article.spans else "title"
        line, col = article.spans.get(key, (1, 1))
        if f.token:
            line, col = self.find(line, col, f.token, len(getattr(article, key, "") or "") * 2 + 200)
        return Problem(self.shown, line, col, f"{path}.{key}", f.message, "warning")

    def find(self, line: int, col: int, token: str, span: int) -> tuple[int, int]:
        """(line, col) of `token` at or after (line, col) within `span` characters, as a whole
        word; (line, col) itself when it is not there (an escape or a line break inside it)."""
        if not self.text or line > len(self._starts):
            return line, col
        start = self._starts[line - 1] + col - 1
        edge = r"(?<![\w])" if token[:1].isalnum() else ""
        end = r"(?![\w])" if token[-1:].isalnum() else ""
        m = re.compile(edge + re.escape(token) + end).search(self.text, start, start + span)
        return line_col(self.text, m.start()) if m else (line, col)
