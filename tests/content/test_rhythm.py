"""rhythm: long paragraphs split at sentence ends, the same way in the HTML and the text part."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.rhythm import LONG, MIN_LAST, TARGET
from newsletter.mail.markup import References, to_html, to_text

SENTENCE = "The trial enrolled adults who had waited a long time for care and then improved."  # 15 words


def paragraphs(html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", "", p).split()) for p in re.findall(r"<p>(.*?)</p>", html, re.DOTALL)]


def test_short_paragraph_is_untouched() -> None:
    src = " ".join([SENTENCE] * 5)  # 75 words
    assert paragraphs(to_html(src)) == [src]


def test_long_paragraph_is_split_between_sentences_in_both_parts() -> None:
    src = "\n".join([SENTENCE] * 10)  # 150 words, one sentence a line (soft breaks)
    parts = paragraphs(to_html(src))
    assert len(parts) == 3 and all(p.endswith("improved.") for p in parts)
    assert " ".join(parts) == " ".join(src.split())  # nothing lost, nothing added
    text = to_text(src, References())
    assert [" ".join(p.split()) for p in text.split("\n\n")] == parts


@pytest.mark.parametrize("tricky", [
    "Cooper et al. Found this", "see e.g. Smith", "Gloster, A. T. Rinner", "*one. Two* words",
    "[a link. With a stop](https://example.org/)",
])
def test_no_cut_after_abbreviations_initials_or_inside_emphasis(tricky: str) -> None:
    src = " ".join([SENTENCE] * 3) + f" {tricky} " + " ".join([SENTENCE] * 4)
    html = to_html(src)
    assert "".join(tricky.replace("*", "").split("](")[0].lstrip("[").split()) in "".join(
        "".join(paragraphs(html)).split())
    for p in paragraphs(html):
        assert not p.startswith(("Found", "Smith", "Rinner", "Two", "With"))


def test_lists_and_quotes_are_left_alone() -> None:
    long = " ".join([SENTENCE] * 8)
    for src in (f"- {long}", f"> {long}", f"- one\n\n  {long}"):
        assert to_html(src).count(" The trial") == 7  # still one block: no cut between sentences


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(3, 30), min_size=1, max_size=20))
def test_any_paragraph(lengths: list[int]) -> None:
    sentences = [" ".join(["Word"] + ["word"] * (n - 1)) + "." for n in lengths]
    src = " ".join(sentences)
    parts = paragraphs(to_html(src))
    assert " ".join(parts) == src
    words = [len(p.split()) for p in parts]
    if sum(lengths) <= LONG:
        assert len(parts) == 1
    else:
        assert all(w >= TARGET for w in words[:-1]) and (len(parts) == 1 or words[-1] >= MIN_LAST)
