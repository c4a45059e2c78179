"""The one APA parser (`citation.parse`) and the paper's parts built from it or from the DOI's
cached record (`work`), as the archive's scholarly metadata uses them. (These cases were the
archive's own parser's tests until the two parsers became one.)"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from newsletter.content.references.citation import parse
from newsletter.content.references.normalize import normalize
from newsletter.content.references.work import Author, Work, from_citation, from_record, work_of
from tests.fake_registry import crossref_record

COOPER = ("Cooper, D., Yap, K., O'Brien, M., et al. (2020). Mindfulness and empathy among counseling and "
          "psychotherapy professionals: A systematic review and meta-analysis. Mindfulness, 11, 2243–2257.")
CURRAN = ("Curran, J., & Mason, A.-M. (2019). How does therapy harm? A model of adverse process. Frontiers in "
          "Psychology, 10, 347.")


@pytest.mark.parametrize(("text", "names", "parts"), [
    (COOPER, ["Cooper, D.", "Yap, K.", "O'Brien, M."],
     ("2020", ("Mindfulness and empathy among counseling and psychotherapy professionals: A systematic review and "
      "meta-analysis"), "Mindfulness", "11", None, "2243–2257")),
    (CURRAN, ["Curran, J.", "Mason, A.-M."],
     ("2019", "How does therapy harm? A model of adverse process", "Frontiers in Psychology", "10", None, "347")),
    ("Smith, J. (2019, March 26). Is CBT effective? Journal of Things, 29(3), e12.", ["Smith, J."],
     ("2019", "Is CBT effective?", "Journal of Things", "29", "3", "e12")),
    ("Smith, J. (2019). Surveys of U.S. adults. Journal of Counseling Psychology. Advance online publication.",
     ["Smith, J."], ("2019", "Surveys of U.S. adults", "Journal of Counseling Psychology", None, None, None)),
    ("van der Berg, L., Smith, J., Jr., & World Health Organization. (2021a). A title. Journal, 3(2), 1-9.",
     ["van der Berg, L.", "Smith, J., Jr.", "World Health Organization"],
     ("2021a", "A title", "Journal", "3", "2", "1-9")),
    ("no year in here at all", [], (None, None, None, None, None, None)),
])
def test_parse(text: str, names: list[str], parts: tuple[str | None, ...]) -> None:
    p = parse(text)
    assert p.names == names
    assert len(p.authors) == len(p.names)  # a surname per full name, in the same order
    assert (p.year, p.title, p.journal, p.volume, p.issue, p.pages) == parts


@pytest.mark.parametrize(("text", "expected"), [
    (COOPER, Work((Author("Cooper", "D."), Author("Yap", "K."), Author("O'Brien", "M.")), "2020",
                  "Mindfulness and empathy among counseling and psychotherapy professionals: A systematic review "
                  "and meta-analysis", "Mindfulness", "11", "", "2243–2257", "citation")),
    ("Smith, J. (2019, March 26). Is CBT effective? Journal of Things, 29(3), e12.",
     Work((Author("Smith", "J."),), "2019", "Is CBT effective?", "Journal of Things", "29", "3", "e12", "citation")),
    ("World Health Organization. (n.d.). Mental health atlas. WHO Press, 2, 10-20.",
     Work((Author("World Health Organization", group=True),), "", "Mental health atlas", "WHO Press", "2", "",
          "10–20", "citation")),
    ("no year in here at all", Work()),
    ("", Work()),
    (None, Work()),
])
def test_work_from_citation(text: str | None, expected: Work) -> None:
    assert from_citation(text) == expected


def test_pages() -> None:
    assert (Work(pages="2243–2257").first_page, Work(pages="2243–2257").last_page) == ("2243", "2257")
    assert (Work(pages="e12").first_page, Work(pages="e12").last_page) == ("e12", "")
    assert (Work().first_page, Work().last_page) == ("", "")


def test_the_cached_record_is_preferred_to_the_citation() -> None:
    """The registry's record is the source of truth: every author (where the citation says "et
    al."), the issue number the citation left out, given names, the paper's full title."""
    item = normalize(crossref_record("10.1007/s12671-020-01425-3")["message"])
    work = work_of(COOPER, item)
    assert work == from_record(item) and work.source == "registry"
    assert [a.name for a in work.authors] == ["Cooper, David", "Yap, Keong", "O’Brien, Maureen", "Scott, India"]
    assert (work.year, work.journal, work.volume, work.issue, work.first_page, work.last_page) == (
        "2020", "Mindfulness", "11", "10", "2243", "2257")
    assert work_of(COOPER, None) == from_citation(COOPER)


def test_record_names_numbers_and_groups() -> None:
    item = normalize({"DOI": "10.1234/x", "type": "journal-article", "title": "A study",
                      "container-title": ["J"], "volume": "4", "article-number": "e0123", "page": "1-12",
                      "published-print": {"date-parts": [[2021, 5]]},
                      "author": [{"given": "Ludwig van", "family": "Beethoven"},
                                 {"given": "John", "family": "Smith", "suffix": "Jr."},
                                 {"name": "The Collaboration"}]})
    work = from_record(item)
    assert work.authors == (Author("van Beethoven", "Ludwig"), Author("Smith", "John, Jr."),
                            Author("The Collaboration", group=True))
    assert (work.year, work.pages, work.first_page) == ("2021", "e0123", "e0123")
    assert from_record(normalize({"DOI": "10.1234/y"})) == Work(source="registry")


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_parsing_never_fails(text: str) -> None:
    p = parse(text)
    assert len(p.names) == len(p.authors)
    from_citation(text)
