"""slugs: one anchor rule for the e-mail's links and the web archive's article ids."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.content.slugs import MAX_SLUG, article_slugs, slugify


@pytest.mark.parametrize("title, slug", [
    ("How Does Therapy Harm?", "how-does-therapy-harm"),
    ("What are Patients' Experiences of Psychological Therapy?",
     "what-are-patients-experiences-of-psychological-therapy"),
    ("What are Patients’ Experiences?", "what-are-patients-experiences"),
    ("Flückiger & Wampold: the alliance–outcome link", "fluckiger-wampold-the-alliance-outcome-link"),
    ("  CBT   vs. IPT (2020)  ", "cbt-vs-ipt-2020"),
    ("Ψυχοθεραπεία", ""),
    ("A " + "very-long-word " * 10, "a-very-long-word-very-long-word-very-long-word-very-long"),
])
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_article_slugs_are_unique_and_never_empty() -> None:
    assert article_slugs(["Same", "same", "SAME!", "研究", "Article 4"]) == [
        "same", "same-2", "same-3", "article-4", "article-4-2"]


@given(st.lists(st.text(max_size=120), max_size=6))
def test_any_titles_give_valid_unique_ids(titles: list[str]) -> None:
    slugs = article_slugs(titles)
    assert len(slugs) == len(titles) == len(set(slugs))
    for s in slugs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) and len(s) <= MAX_SLUG + 4
    assert article_slugs(titles) == slugs  # stable: links already sent keep working
