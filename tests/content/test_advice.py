"""advice: located warnings for an issue that is valid but reads badly (check shows them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.content.issue import read_issue

from .test_issue import NO_LINK

ISSUE = """\
month: "2020-12"
intro: |
  {intro}
articles:
  - title: "How Does Therapy Harm?"
    doi: "10.3389/fpsyg.2019.00347"
    topics: [outcomes, therapist-factors]
    summary: A summary.
    implications: What to do.
  - title: "Psychotherapy for Those Who Do Not Respond to Treatment"
    {link2}
    topics: [{topics2}]
    summary: A summary.
    implications: What to do.
"""


def warnings(project: Path, settings, intro: str = "This month.", link2: str = 'url: "https://example.org/p"',
             topics2: str = "anxiety") -> list[str]:  # type: ignore[no-untyped-def]
    path = project / "issues" / "2020-12.yaml"
    path.write_text(ISSUE.format(intro=intro, link2=link2, topics2=topics2), encoding="utf-8")
    issue, reader = read_issue(path, settings)
    assert issue is not None and reader.errors == []
    return [str(p) for p in reader.warnings]


def test_article_without_doi_or_url(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    assert warnings(project, settings, link2="citation: Gloster et al. (2020).") == [
        f"issues/2020-12.yaml:10:5: warning: articles[1]: {NO_LINK}"]
    assert warnings(project, settings) == []


@pytest.mark.parametrize("intro, col, words", [
    ("All three papers this month deal with therapy that does not go to plan.", 3, "All three papers"),
    ("Both of April's papers concern the therapist's side of the relationship.", 3, "Both of April's papers"),
    ("This month's two studies disagree.", 16, "two studies"),
    ("We chose 2 articles.", 12, "2 articles"),
    ("Each of the reviews asks a question.", 3, "Each of the reviews"),
])
def test_intro_that_counts_the_articles(project: Path, settings, intro: str, col: int,  # type: ignore[no-untyped-def]
                                        words: str) -> None:
    assert warnings(project, settings, intro) == [
        (f"issues/2020-12.yaml:3:{col}: warning: intro: '{words}' counts this month's articles, but a "
        "reader of 'Anxiety Disorders' gets 1 of the 2: write the intro so it holds for every copy "
        "(each copy says how many articles it has)")]


@pytest.mark.parametrize("intro", [
    "This month is about therapy that does not go to plan.",
    "The review pooled 42 randomised trials and 3,000 patients.",
    "Both the alliance and empathy matter.",
])
def test_intro_without_a_count_is_quiet(project: Path, settings, intro: str) -> None:  # type: ignore[no-untyped-def]
    assert warnings(project, settings, intro) == []


def test_count_is_fine_when_every_reader_gets_every_article(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    # both articles share every topic: no reader can get a partial copy
    assert warnings(project, settings, "Both papers agree.", topics2="outcomes, therapist-factors") == []


def test_count_located_on_a_later_line(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    intro = "A first line that says nothing\n  and then: all three papers agree."
    assert warnings(project, settings, intro)[0].startswith("issues/2020-12.yaml:4:13: warning: intro: "
                                                            "'all three papers'")
