"""The text part says what the author wrote: issue 18's samples rendered through the real
templates, both parts, and a property test that words, case and no-break spaces survive."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.mail.compose import Composer, parts
from newsletter.mail.message import Recipient

BASE = """month: "2020-10"
intro: |
  This month, two papers.
articles:
  - title: "{title}"
    citation: "{citation}"
    doi: 10.1186/s12888-020-02682-1
    topics: [cbt]
    summary: |
{summary}
    implications: |
{implications}
  - title: Other
    url: https://example.org/other
    topics: [group]
    summary: |
      Other summary.
    implications: |
      Other implications.
"""


def _indent(text: str) -> str:
    return "\n".join("      " + line if line else "" for line in text.split("\n"))


def _issue(project: Path, composer: Composer, *, title: str = "A title", citation: str = "Author, A. (2020).",
           summary: str = "A summary.", implications: str = "What to do."):  # type: ignore[no-untyped-def]
    (project / "issues" / "2020-10.yaml").write_text(BASE.format(
        title=title, citation=citation, summary=_indent(summary), implications=_indent(implications)),
        encoding="utf-8")
    return composer.issue("issues/2020-10.yaml")


def _message(composer: Composer, issue) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    cv = composer.compile(issue, None, campaign="2020-10", date="Thu, 01 Oct 2020 08:00:00 +0000")
    html, text = parts(cv.build(Recipient("reader@example.org", "Reader", None, "AAAAAAAAAAAA")))
    return html, text.replace("\r\n", "\n")


def test_a_figure_in_both_parts_and_in_check(project, composer) -> None:  # type: ignore[no-untyped-def]
    issue = _issue(project, composer, summary="![Forest plot of the pooled effects](https://example.org/fig1.png)")
    html, text = _message(composer, issue)
    assert '<img src="https://example.org/fig1.png" alt="Forest plot of the pooled effects"' in html
    assert "!<a" not in html and "[Figure: Forest plot of the pooled effects] https://example.org/fig1.png" in text
    checks = {c.name: c for c in composer.check_all_variants(issue)[(0, 1)]}
    assert checks["image alt text"].ok and checks["image alt text"].message.startswith("1 images")


def test_a_pipe_table_in_both_parts(project, composer) -> None:  # type: ignore[no-untyped-def]
    table = "| Group | n | d |\n|---|--:|--:|\n| Group CBT | 112 | 0.86 |\n| Waitlist | 108 | 0.12 |"
    html, text = _message(composer, _issue(project, composer, summary=table))
    assert html.count('<td style="text-align') == 6 and html.count('<th scope="col"') == 3
    assert "| Group |" not in html
    assert "Group        n     d\n---------  ---  ----\nGroup CBT  112  0.86\nWaitlist   108  0.12" in text
    wide = "| " + " | ".join(f"Column heading {i}" for i in range(6)) + " |\n|" + "---|" * 6 + "\n| " + \
        " | ".join(f"value {i}" for i in range(6)) + " |"
    _, text = _message(composer, _issue(project, composer, summary=wide))
    assert "- Column heading 0: value 0\n  Column heading 1: value 1\n" in text  # too wide: a list


def test_footnotes_close_the_article_in_both_parts(project, composer) -> None:  # type: ignore[no-untyped-def]
    issue = _issue(project, composer, summary="Large effects.[^1]\n\n[^1]: Random-effects model.",
                   implications="Ask early.[^n]\n\n[^n]: As in session one.")
    html, text = _message(composer, issue)
    assert "<sup>1</sup>" in html and "<sup>2</sup>" in html and "[^1]" not in html
    assert html.index("Random-effects model.") > html.index("Ask early.")  # after the implications
    assert "Large effects.¹" in text and "Ask early.²" in text
    assert "Ask early.²\n\nNotes:\n1. Random-effects model.\n2. As in session one.\n" in text


def test_titles_keep_the_authors_case(project, composer) -> None:  # type: ignore[no-untyped-def]
    title = "TNF-α, IL-6 and mRNA-1273: μg doses in BRCA1 carriers"
    _, text = _message(composer, _issue(project, composer, title=title))
    assert f"{title}\n{'=' * len(title)}\n" in text and title.upper() not in text


def test_no_break_spaces_are_kept_and_never_broken(project, composer) -> None:  # type: ignore[no-untyped-def]
    words = "word " * 11
    summary = f"{words}recovery was faster (p&nbsp;<&nbsp;.001, 12\u202fweeks, d\u00a0=\u00a00.5) in groups."
    _, text = _message(composer, _issue(project, composer, summary=summary))
    assert "(p\u00a0<\u00a0.001," in text and "12\u202fweeks," in text and "d\u00a0=\u00a00.5)" in text
    assert not re.search(r"[\u00a0\u202f]\n|\n[\u00a0\u202f]", text)


def test_citations_and_urls_are_never_broken_at_hyphens(project, composer) -> None:  # type: ignore[no-untyped-def]
    url = "https://osf.io/preregistration/a-long-pre-registered-protocol-with-many-hyphens-in-it"
    citation = f"Kleinbub, J. R. (2017). State of the art of interpersonal physiology. Frontiers. {url}"
    _, text = _message(composer, _issue(project, composer, citation=citation))
    assert f"\n{url}\n" in text  # whole, on a line of its own
    assert all(len(ln) <= 78 or not re.search(r"\s", ln.strip()) for ln in text.splitlines())


def test_only_url_lines_pass_78_in_every_message(project, composer) -> None:  # type: ignore[no-untyped-def]
    """`Change your topics: https://…` was 80 in every message: a label and a URL share a line
    only when both fit."""
    issue = composer.issue("issues/2020-10.yaml")
    _, text = _message(composer, issue)
    long = [ln for ln in text.splitlines() if len(ln) > 78]
    assert all(re.fullmatch(r"https://\S+", ln) for ln in long), long
    assert re.search(r"^Change your topics:\nhttps://news\.example\.org/p/\S+$", text, re.MULTILINE)


def test_intro_links_are_numbered_first(project, composer) -> None:  # type: ignore[no-untyped-def]
    src = (project / "issues" / "2020-10.yaml").read_text()
    src = src.replace("intro: |\n", "intro: |\n  See [our method note](https://example.org/method).\n\n", 1)
    (project / "issues" / "2020-10.yaml").write_text(src)
    _, text = _message(composer, composer.issue("issues/2020-10.yaml"))
    assert "our method note\u00a0[1]" in text and "\n[1] https://example.org/method\n" in text


# -- property: the author's words, case and no-break spaces reach the text part -----------------

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZαβγδμΩ0123456789-",
                min_size=1, max_size=14).filter(lambda w: w[0].isalpha() and not w.endswith("-"))
_JOINED = st.lists(_WORD, min_size=1, max_size=3).flatmap(
    lambda ws: st.sampled_from(["\u00a0", "\u202f"]).map(lambda sep: sep.join(ws)))
_TOKENS = st.lists(st.one_of(_WORD, _JOINED), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_TOKENS, citation=_TOKENS, summary=_TOKENS, implications=_TOKENS, intro=_TOKENS)
def test_words_case_and_no_break_spaces_survive(project, composer, title, citation, summary,
                                                implications, intro) -> None:  # type: ignore[no-untyped-def]
    base = composer.issue("issues/2020-10.yaml")
    fields = {"title": " ".join(title)[:300], "citation": " ".join(citation), "summary": " ".join(summary),
              "implications": " ".join(implications)}
    article = replace(base.articles[0], **fields)
    issue = replace(base, intro=" ".join(intro), articles=(article,))
    text = composer.render(issue, (0,)).text
    flowing = " ".join(re.split(r"[ \n]+", text))  # the text with its ordinary line breaks undone
    for value in [*fields.values(), issue.intro]:
        assert value in flowing  # every word, in order, in the author's case, no-break spaces kept
    for line in text.splitlines():
        assert len(line) <= 78 or not re.search(r"\s", line), line
