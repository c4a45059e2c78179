"""`newsletter new`'s skeleton: valid YAML with every key of the issue schema, empty values that
`check` lists, a commented example article that is a valid article, the site's topics."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from newsletter.content import issue as issue_module
from newsletter.content.issue import load_issue, read_issue
from newsletter.content.scaffold import (
    ARTICLE_KEYS,
    IssueExists,
    following_month,
    issue_skeleton,
    next_issue_month,
    parse_month,
    write_issue,
)
from newsletter.errors import NewsletterError


def uncomment_example(text: str) -> str:
    """The skeleton with its two empty articles replaced by the commented example."""
    start = text.index("# An example article")
    block = text[text.index("\n", start) + 1:text.index("\n\n", start)]
    body = "".join(line[2:] + "\n" for line in block.splitlines())
    head = text[:text.index("articles:\n") + len("articles:\n")]
    return head.replace("intro: |\n", "intro: |\n  This month.\n") + body


def test_skeleton_has_every_key_and_lists_what_is_left(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_skeleton(settings, "2026-12")
    data = yaml.safe_load(text)
    assert set(data) == {"month", "intro", "articles"} and data["month"] == "2026-12"
    assert '# subject: "Practice Research Digest: December 2026"' in text
    schema_keys = set(issue_module._ARTICLE_KEYS) | set(issue_module._ARTICLE_OPTIONAL)
    assert set(ARTICLE_KEYS) == schema_keys
    for article in data["articles"]:
        assert set(article) | {"url"} == schema_keys and "# url:" in text
    for slug, label in settings.taxonomy.labels.items():
        assert re.search(rf"^#   {re.escape(slug)} +{re.escape(label)}$", text, re.MULTILINE)
    path = project / "issues" / "2026-12.yaml"
    path.write_text(text, encoding="utf-8")
    _, reader = read_issue(path, settings)
    fields = [p.field for p in sorted(reader.errors, key=lambda p: (p.line, p.col))]
    assert fields == ["intro"] + [f"articles[{i}].{k}" for i in (0, 1) for k in
                                  ("title", "citation", "doi", "topics", "summary", "implications")]
    assert all(p.message in ("must not be empty", "at least one topic is required") for p in reader.errors)


def test_the_example_article_is_valid(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    path = project / "issues" / "2026-12.yaml"
    path.write_text(uncomment_example(issue_skeleton(settings, "2026-12")), encoding="utf-8")
    issue = load_issue(path, settings)
    assert issue.articles[0].title == "Title of the paper, as published"
    assert issue.articles[0].topics and issue.subject == "Practice Research Digest: December 2026"


def test_months(project: Path) -> None:
    assert following_month("2026-11") == "2026-12" and following_month("2026-12") == "2027-01"
    assert next_issue_month(project / "issues") == "2021-05"  # the fixture's newest is 2021-04
    (project / "issues" / "notes.yaml").write_text("x: 1\n")
    assert next_issue_month(project / "issues") == "2021-05"
    assert next_issue_month(project / "nowhere", today=date(2026, 3, 9)) == "2026-03"
    assert parse_month(" 2026-01 ") == "2026-01"
    for bad in ("2026-13", "2026-1", "26-01", "March", "2026-00", ""):
        with pytest.raises(NewsletterError, match=r"^MONTH: '.*' is not a month \(expected YYYY-MM, e\.g\. "):
            parse_month(bad)


def test_never_overwrites(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    path = write_issue(settings, "2026-12")
    path.write_text("my work\n")
    with pytest.raises(IssueExists, match=r"2026-12\.yaml: already exists; not overwritten"):
        write_issue(settings, "2026-12")
    assert path.read_text() == "my work\n"
