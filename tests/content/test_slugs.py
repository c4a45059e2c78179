"""Slugs and article anchors: the one function e-mails, pages and feeds share, so the e-mail's
"In this issue" and "Also this month" links land on the archive page's article ids."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.slugs import MAX_SLUG, article_anchors, slugify
from newsletter.content.variants import all_selections
from newsletter.mail.compose import Composer
from newsletter.web.public.site import Site


@pytest.mark.parametrize(("title", "slug"), [
    ("Therapeutic Alliance Predicts Patient Outcomes", "therapeutic-alliance-predicts-patient-outcomes"),
    ("Does Mindfulness Lead to Greater Empathy?", "does-mindfulness-lead-to-greater-empathy"),
    ("How Does Therapy Harm?", "how-does-therapy-harm"),
    ("What are Patients' Experiences of Psychological Therapy?", "what-are-patients-experiences-of-psychological-therapy"),
    ("What are Patients’ Experiences?", "what-are-patients-experiences"),
    ("Flückiger & Wampold: the alliance–outcome link", "fluckiger-wampold-the-alliance-outcome-link"),
    ("Zoë & Straße: “quoted” — dashes", "zoe-strasse-quoted-dashes"),
    ("CBT vs. IPT (2020)", "cbt-vs-ipt-2020"),
    ("  CBT   vs. IPT (2020)  ", "cbt-vs-ipt-2020"),
    ("Ψυχοθεραπεία", "psukhotherapeia"),
    ("Психотерапия", "psikhoterapiia"),
    ("研究", "yan-jiu"),
    ("<script>alert(1)</script>", "script-alert-1-script"),
    ("!!!", ""),
    # long titles are cut at a word boundary, at most MAX_SLUG (80) characters
    ("A " + "very-long-word " * 10, "a-very-long-word-very-long-word-very-long-word-very-long-word-very-long-word"),
])
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_anchors_are_unique_and_never_empty() -> None:
    assert article_anchors(["Same title", "Same Title!", "same title", "???"]) == [
        "same-title", "same-title-2", "same-title-3", "article-4"]
    # a positional fallback that meets a real title's slug is made unique the same way
    assert article_anchors(["Same", "same", "SAME!", "!!!", "Article 4"]) == [
        "same", "same-2", "same-3", "article-4", "article-4-2"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=400), min_size=1, max_size=6))
def test_anchor_property(titles: list[str]) -> None:
    anchors = article_anchors(titles)
    assert len(anchors) == len(titles) and len(set(anchors)) == len(anchors)
    for a in anchors:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", a) and len(a) <= MAX_SLUG + 4
    assert article_anchors(titles) == anchors  # stable: links in messages already sent keep working


# -- the e-mail and the archive page agree ----------------------------------------------------------
class Ids(HTMLParser):
    """The ids of `h2` headings (e-mail) or `section` elements (archive page) and every href."""

    def __init__(self, tag: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tag = tag
        self.ids: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == self.tag and "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])


def ids(html: str, tag: str) -> Ids:
    p = Ids(tag)
    p.feed(html)
    return p


# Titles that two slug rules would disagree on: non-Latin scripts, repeats, accents, no letters,
# markup, one longer than MAX_SLUG.
HARD_ISSUES = {
    "2022-01": ["Ψυχοθεραπεία: η θεραπευτική συμμαχία", "心理療法の効果", "What Works?", "What works!"],
    "2022-02": ["Zoë & Straße: “quoted” — dashes <b>bold</b>", "???",
                "Article 2", ("An Extremely Long Title About Ruptures and Repairs in the Therapeutic "
                              "Alliance Across Twelve Randomised Trials of Brief Psychodynamic Therapy")],
}


def write_issue(project: Path, month: str, titles: list[str]) -> None:
    arts = "".join(
        f'  - title: "{t}"\n    topics: [alliance]\n    summary: "A summary of paper {i} in our own words."\n'
        f'    implications: "What paper {i} means for practice."\n' for i, t in enumerate(titles, 1))
    (project / "issues" / f"{month}.yaml").write_text(
        f'month: "{month}"\nintro: "Papers with titles that are hard to turn into anchors."\narticles:\n{arts}',
        encoding="utf-8")


def test_e_mail_links_land_on_the_archive_pages_anchors(project: Path, composer: Composer) -> None:
    """For every article of every example issue (and of issues with awkward titles): the e-mail's
    `h2` id, its "In this issue" href and every variant's "Also this month" href all name the id
    the archive page gives that article."""
    for month, titles in HARD_ISSUES.items():
        write_issue(project, month, titles)
    paths = sorted((project / "issues").glob("*.yaml"))
    assert len(paths) >= 5
    site = Site(composer.settings)
    for path in paths:
        issue = composer.issue(path)
        page = site.render(f"/archive/{issue.month}", {issue.month: 0.0})
        assert page is not None
        web_ids = ids(page.body.decode(), "section").ids
        assert web_ids == article_anchors(a.title for a in issue.articles), path.name
        assert len(set(web_ids)) == len(web_ids)

        full = ids(composer.render(issue).html, "h2")
        assert full.ids == web_ids, path.name  # the e-mail's headings carry the page's ids
        assert [h for h in full.hrefs if h.startswith("#")] == [f"#{a}" for a in web_ids]  # In this issue

        web = f"{composer.settings.base_url}/archive/{issue.month}#"
        for sel in all_selections(issue):
            also = [h[len(web):] for h in ids(composer.render(issue, sel).html, "h2").hrefs if h.startswith(web)]
            assert also == [web_ids[i] for i in range(len(issue.articles)) if i not in sel], (path.name, sel)
