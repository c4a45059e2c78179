"""Slugs and article anchors: the one function e-mails, pages and feeds share."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.citation import parse_reference
from newsletter.content.slugs import MAX_SLUG, article_anchors, slugify


@pytest.mark.parametrize(("title", "slug"), [
    ("Therapeutic Alliance Predicts Patient Outcomes", "therapeutic-alliance-predicts-patient-outcomes"),
    ("Does Mindfulness Lead to Greater Empathy?", "does-mindfulness-lead-to-greater-empathy"),
    ("What are Patients' Experiences of Psychological Therapy?", "what-are-patients-experiences-of-psychological-therapy"),
    ("Zoë & Straße: “quoted” — dashes", "zoe-strasse-quoted-dashes"),
    ("CBT vs. IPT (2020)", "cbt-vs-ipt-2020"),
    ("Ψυχοθεραπεία", "psukhotherapeia"),
    ("<script>alert(1)</script>", "script-alert-1-script"),
    ("!!!", ""),
])
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_anchors_are_unique_and_never_empty() -> None:
    assert article_anchors(["Same title", "Same Title!", "same title", "???"]) == [
        "same-title", "same-title-2", "same-title-3", "article-4"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=400), min_size=1, max_size=6))
def test_anchor_property(titles: list[str]) -> None:
    anchors = article_anchors(titles)
    assert len(anchors) == len(titles) and len(set(anchors)) == len(anchors)
    for a in anchors:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", a) and len(a) <= MAX_SLUG + 4
    assert article_anchors(titles) == anchors  # stable


@pytest.mark.parametrize(("text", "expected"), [
    (("Cooper, D., Yap, K., O'Brien, M., et al. (2020). Mindfulness and empathy among counseling and "
     "psychotherapy professionals: A systematic review and meta-analysis. Mindfulness, 11, 2243–2257."),
     (("Cooper, D.", "Yap, K.", "O'Brien, M."), "2020", ("Mindfulness and empathy among counseling and "
      "psychotherapy professionals: A systematic review and meta-analysis"), "Mindfulness", "11", "", "2243–2257")),
    (("Curran, J., & Mason, A.-M. (2019). How does therapy harm? A model of adverse process. Frontiers in "
     "Psychology, 10, 347."), (("Curran, J.", "Mason, A.-M."), "2019", ("How does therapy harm? A model of adverse "
                              "process"), "Frontiers in Psychology", "10", "", "347")),
    ("Smith, J. (2019, March 26). Is CBT effective? Journal of Things, 29(3), e12.",
     (("Smith, J.",), "2019", "Is CBT effective?", "Journal of Things", "29", "3", "e12")),
    ("Smith, J. (2019). Surveys of U.S. adults. Journal of Counseling Psychology. Advance online publication.",
     (("Smith, J.",), "2019", "Surveys of U.S. adults", "Journal of Counseling Psychology", "", "", "")),
    ("no year in here at all", ((), "", "", "", "", "", "")),
    (None, ((), "", "", "", "", "", "")),
])
def test_parse_reference(text: str | None, expected: tuple[object, ...]) -> None:
    p = parse_reference(text)
    assert (p.authors, p.year, p.title, p.journal, p.volume, p.issue, p.pages) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_parse_reference_never_fails(text: str) -> None:
    parse_reference(text)
