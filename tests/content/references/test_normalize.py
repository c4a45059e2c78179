"""Registry records → normalised CSL-JSON: real records, the awkward cases, idempotence."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.references.normalize import ONLINE_FIRST, normalize
from tests.fake_registry import crossref_record, datacite_item


def message(doi: str) -> dict[str, Any]:
    return copy.deepcopy(crossref_record(doi)["message"])


def test_apa_record_drops_the_trailing_period_and_takes_the_issue_year() -> None:
    item = normalize(message("10.1037/cou0000424"))
    assert item["title"] == ("Assessing the alliance–outcome association adjusted for patient characteristics "
                             "and treatment processes: A meta-analytic summary of direct comparisons")
    assert item["type"] == "article-journal"
    assert item["issued"] == {"date-parts": [[2020]]}
    assert (item["volume"], item["issue"], item["page"]) == ("67", "6", "706-711")
    assert "status" not in item
    assert item["custom"]["years"] == {"print": 2020, "online": 2020, "issue": 2020, "issued": 2020}
    assert item["author"][1] == {"family": "Del Re", "given": "A. C."}  # capitalised: part of the surname


def test_online_first_takes_the_online_year_and_says_so() -> None:
    m = message("10.1080/10503307.2020.1817603")
    for key in ("volume", "issue", "page", "published-print", "journal-issue"):
        m.pop(key)
    item = normalize(m)
    assert item["issued"] == {"date-parts": [[2020]]}
    assert item["status"] == ONLINE_FIRST
    in_issue = normalize(message("10.1080/10503307.2020.1817603"))  # the same paper once in an issue
    assert in_issue["issued"] == {"date-parts": [[2021]]} and "status" not in in_issue
    assert in_issue["custom"]["years"]["online"] == 2020


def test_title_case_becomes_sentence_case_and_the_original_is_kept() -> None:
    item = normalize(message("10.1007/s12671-020-01425-3"))
    assert item["title"] == ("Mindfulness and empathy among counseling and psychotherapy professionals: "
                             "A systematic review and meta-analysis")
    assert item["custom"]["original-title"].startswith("Mindfulness and Empathy Among")
    frontiers = normalize(message("10.3389/fpsyg.2019.00347"))
    assert frontiers["title"].startswith("How does therapy harm? A model of adverse process")


@pytest.mark.parametrize(("doi", "number", "page"), [
    ("10.1186/s12888-020-02682-1", "313", None),  # BMC: article-number, no page
    ("10.1016/j.cpr.2019.101810", "101810", None),  # Elsevier: the number repeated as page
    ("10.3389/fpsyg.2019.00347", "347", None),
    ("10.1037/pst0000172", None, "316-340"),
])
def test_article_numbers(doi: str, number: str | None, page: str | None) -> None:
    item = normalize(message(doi))
    assert item.get("number") == number and item.get("page") == page


def test_datacite_csl_with_an_organisation_author() -> None:
    item = normalize(datacite_item("10.14454/fxws-0523"), registry="doi.org", agency="DataCite")
    assert item["type"] == "report" and item["author"] == [{"literal": "DataCite Metadata Working Group"}]
    assert item["custom"]["agency"] == "DataCite" and item["issued"] == {"date-parts": [[2021]]}


AWKWARD: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("list titles and a subtitle", {"title": ["First", "Second"], "subtitle": ["A study."]},
     {"title": "First: A study"}),
    ("a lower-case subtitle is capitalised", {"title": ["Experiences: a qualitative metasynthesis"]},
     {"title": "Experiences: A qualitative metasynthesis"}),
    ("JATS italics and entities", {"title": ["Effects of <jats:italic>r</jats:italic> &amp; <i>d</i>."]},
     {"title": "Effects of r & d"}),
    ("MathML keeps its text, drops the TeX annotation",
     {"title": [("<mml:math><mml:msup><mml:mi>χ</mml:mi><mml:mn>2</mml:mn></mml:msup>"
                "<mml:annotation encoding='application/x-tex'>\\chi^2</mml:annotation></mml:math> tests")]},
     {"title": "χ2 tests"}),
    ("superscript digits", {"title": ["Scores of 10<sup>3</sup> people"]}, {"title": "Scores of 10³ people"}),
    ("hostile markup is text, scripts are dropped",
     {"title": ["<script>alert(1)</script>Safe &lt;img src=x onerror=alert(1)&gt;"]},
     {"title": "Safe <img src=x onerror=alert(1)>"}),
    ("bidi override and soft hyphen removed", {"title": ["Thera\u00adpy \u202eevil"]}, {"title": "Therapy evil"}),
    ("organisation author", {"author": [{"name": "OPD Task Force", "sequence": "first"}]},
     {"author": [{"literal": "OPD Task Force"}]}),
    ("particle in the family name", {"author": [{"given": "Jan", "family": "van der Berg"}]},
     {"author": [{"family": "Berg", "given": "Jan", "non-dropping-particle": "van der"}]}),
    ("particle at the end of the given name", {"author": [{"given": "Ludwig van", "family": "Beethoven"}]},
     {"author": [{"family": "Beethoven", "given": "Ludwig", "non-dropping-particle": "van"}]}),
    ("suffix inside the family name", {"author": [{"given": "Ralph", "family": "Smith Jr."}]},
     {"author": [{"family": "Smith", "given": "Ralph", "suffix": "Jr."}]}),
    ("upper-case names", {"author": [{"given": "CHRISTOPH", "family": "FLÜCKIGER"}]},
     {"author": [{"family": "Flückiger", "given": "Christoph"}]}),
    ("e-locator deposited as a page", {"page": "e0234567"}, {"number": "e0234567"}),
    ("en-dash page range", {"page": "12–19"}, {"page": "12-19"}),
    ("a retraction notice names the paper", {"updated-by": [{"type": "retraction", "DOI": "10.5555/r"}]},
     {"custom.retracted-by": "10.5555/r"}),
    ("malformed fields are dropped, not raised on",
     {"author": "nobody", "title": 5, "issued": {"date-parts": [[None]]}, "volume": ["7"], "page": None},
     {"title": "5", "volume": "7"}),
]


@pytest.mark.parametrize(("why", "fields", "expected"), AWKWARD, ids=[c[0] for c in AWKWARD])
def test_awkward_records(why: str, fields: dict[str, Any], expected: dict[str, Any]) -> None:
    record = {"DOI": "10.5555/awkward", "type": "journal-article", "title": ["T"],
              "published-print": {"date-parts": [[2021, 5]]}, "volume": "1", **fields}
    item = normalize(record)
    for key, value in expected.items():
        got = item["custom"][key[7:]] if key.startswith("custom.") else item.get(key)
        assert got == value, (why, item)


def test_preprint_with_a_published_version() -> None:
    item = normalize({"DOI": "10.31234/osf.io/abcde", "type": "posted-content", "subtype": "preprint",
                      "title": ["A preprint"], "group-title": "PsyArXiv", "posted": {"date-parts": [[2020, 1, 2]]},
                      "issued": {"date-parts": [[2020, 1, 2]]},
                      "relation": {"is-preprint-of": [{"id-type": "doi", "id": "10.1037/pst0000172",
                                                       "asserted-by": "subject"}]}})
    assert item["type"] == "article" and item["genre"] == "Preprint" and item["publisher"] == "PsyArXiv"
    assert item["custom"]["published-version"] == "10.1037/pst0000172"


def test_a_record_without_doi_is_refused() -> None:
    with pytest.raises(ValueError, match="no DOI"):
        normalize({"title": ["x"]})


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_person = st.fixed_dictionaries({}, optional={"given": _text, "family": _text, "name": _text, "suffix": _text})
_date = st.fixed_dictionaries({"date-parts": st.lists(st.lists(st.integers(0, 3000) | st.none(), max_size=3),
                                                       min_size=1, max_size=1)})
_record = st.fixed_dictionaries(
    {"DOI": st.just("10.5555/prop"), "type": st.sampled_from(["journal-article", "posted-content", "book",
                                                               "article-journal", "weird", ""])},
    optional={"title": st.lists(_text, max_size=2) | _text, "subtitle": st.lists(_text, max_size=1),
              "container-title": st.lists(_text, max_size=2), "author": st.lists(_person, max_size=4),
              "volume": _text, "issue": _text, "page": _text, "article-number": _text,
              "published-print": _date, "published-online": _date, "issued": _date, "abstract": _text})


@settings(max_examples=150, deadline=None)
@given(_record)
def test_normalising_twice_changes_nothing(record: dict[str, Any]) -> None:
    once = normalize(record)
    assert normalize(once) == once
    for value in (once.get("title", ""), once.get("container-title", "")):
        assert "<" not in value or "<" in "".join(str(v) for v in record.values())  # no markup is made up
