"""Author-written citations and titles against registry records: one row per kind of mistake."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from newsletter.content.references.citation import parse
from newsletter.content.references.compare import check_citation, check_record, check_title
from newsletter.content.references.normalize import normalize
from tests.fake_registry import crossref_record

PST = ("Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance in adult "
       "psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316–340.")


def record(doi: str, **changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(crossref_record(doi)["message"])
    m.update(changes)
    return normalize(m)


def findings(citation: str, doi: str = "10.1037/pst0000172", **changes: Any) -> list[tuple[str | None, str]]:
    return [(f.token, f.message) for f in check_citation(citation, record(doi, **changes), doi)]


@pytest.mark.parametrize("citation", [
    PST,
    PST.replace("Flückiger", "Fluckiger"),  # accents
    PST.replace("316–340", "316-340"),  # hyphen for the en dash
    PST.replace("316–340", "316–40"),  # abbreviated range
    PST.replace("The alliance in adult psychotherapy", "The Alliance in Adult Psychotherapy"),  # case
    PST.replace("psychotherapy: A meta", "psychotherapy — a meta"),  # punctuation
    PST + " https://doi.org/10.1037/pst0000172",
    PST.replace("(2018)", "(2018, May 24)"),
], ids=["exact", "accents", "hyphen", "abbreviated-pages", "title-case", "punctuation", "with-doi", "date"])
def test_a_correct_citation_has_no_findings(citation: str) -> None:
    assert findings(citation) == []


CASES = [
    ("wrong year", PST.replace("(2018)", "(2017)"),
     [("2017", "year 2017 does not match the registry (2018)")]),
    ("misspelled second author", PST.replace("Del Re", "Del Rey"),
     [("Del Rey", "author 2 'Del Rey' does not match the registry's 'Del Re'")]),
    ("authors swapped", PST.replace("Wampold, B. E., & Horvath, A. O.", "Horvath, A. O., & Wampold, B. E."),
     [("Flückiger", "authors are not in the registry's order (Flückiger, Del Re, Wampold, Horvath)")]),
    ("an author missing", PST.replace("Wampold, B. E., & ", "& ").replace("A. C., &", "A. C.,"),
     [("Flückiger", "lists 3 authors; the registry has 4; not in the citation: Wampold")]),
    ("et al.", PST.replace("Wampold, B. E., & Horvath, A. O.", "et al."),
     [("et al.", ("'et al.' in a reference: APA 7 lists every author up to 20; the registry has 4: "
                 "Flückiger, Del Re, Wampold, Horvath"))]),
    ("wrong journal", PST.replace("Psychotherapy, 55", "Psychotherapy Research, 55"),
     [("Psychotherapy Research", "journal 'Psychotherapy Research' differs from the registry's 'Psychotherapy'")]),
    ("wrong volume", PST.replace("55(4)", "56(4)"), [("56", "volume 56 differs from the registry's 55")]),
    ("wrong issue", PST.replace("55(4)", "55(3)"), [("3", "issue 3 differs from the registry's 4")]),
    ("issue missing", PST.replace("55(4)", "55"), [("55", "issue number missing: the registry has 55(4)")]),
    ("wrong pages", PST.replace("316–340", "316–341"),
     [("316–341", "pages 316–341 differ from the registry's 316–340")]),
    ("title typo", PST.replace("meta-analytic", "meta-analytical"),
     [("The", 'title differs from the registry\'s: "The alliance in adult psychotherapy: A meta-analytic synthesis"')]),
    ("another DOI in the text", PST + " https://doi.org/10.1037/pst0000173",
     [("10.1037/pst0000173", "names DOI 10.1037/pst0000173 but the article's doi is 10.1037/pst0000172")]),
    ("wrong year and misspelled second author", PST.replace("(2018)", "(2019)").replace("Del Re", "Dell Re"),
     [("Dell Re", "author 2 'Dell Re' does not match the registry's 'Del Re'"),
      ("2019", "year 2019 does not match the registry (2018)")]),
]


@pytest.mark.parametrize(("why", "citation", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_mistake_is_one_finding(why: str, citation: str, expected: list[tuple[str, str]]) -> None:
    assert findings(citation) == expected


def test_any_registry_year_is_accepted_and_an_issue_since_is_hinted() -> None:
    written = ("Flückiger, C., Del Re, A. C., Wlodasch, D., Horvath, A. O., Solomonov, N., & Wampold, B. E. "
               "(2020, March 26). Assessing the alliance–outcome association adjusted for patient characteristics "
               "and treatment processes: A meta-analytic summary of direct comparisons. Journal of Counseling "
               "Psychology. Advance online publication.")  # issues/2021-04.yaml, as the author wrote it
    assert findings(written, "10.1037/cou0000424") == [(None, (
        "the article has since appeared in an issue: Journal of Counseling Psychology, 67(6), 706–711 (2020); "
        "APA 7 cites the issue, not the advance online publication"))]
    online_year = ("Janis, R. A., Burlingame, G. M., Svien, H., Jensen, J., & Lundgreen, R. (2020). Group therapy "
                   "for mood disorders: A meta-analysis. Psychotherapy Research. Advance online publication.")
    [(token, message)] = findings(online_year, "10.1080/10503307.2020.1817603")
    assert token == "2020" and "Psychotherapy Research, 31(3), 342–358 (2021)" in message
    printed = online_year.replace("(2020)", "(2021)").replace(
        "Research. Advance online publication.", "Research, 31(3), 342–358.")
    assert findings(printed, "10.1080/10503307.2020.1817603") == []
    assert findings(printed.replace("(2021)", "(2020)"), "10.1080/10503307.2020.1817603") == []  # online year


def test_particles_and_apostrophes() -> None:
    people = [{"given": "Ludwig", "family": "van Beethoven"}, {"given": "Maureen", "family": "O’Brien"}]
    base = "{} & {} (2018). The alliance in adult psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316–340."
    for a, b in [("van Beethoven, L.,", "O'Brien, M."), ("Beethoven, L. van,", "OBrien, M."),
                 ("Van Beethoven, L.,", "O’Brien, M.")]:
        assert findings(base.format(a, b), author=people) == [], (a, b)
    assert findings(base.format("van Bethoven, L.,", "O'Brien, M."), author=people)[0][0] == "van Bethoven"


def test_ellipsis_rules() -> None:
    nine = ("Gloster, A. T., Rinner, M. T., Ioannou, M., Villanueva, J., Block, V. J., Ferrari, G., ... & Karekla, "
            "M. (2020). Treating treatment non-responders: A meta-analysis of randomized controlled psychotherapy "
            "trials. Clinical Psychology Review, 75, 101810.")  # the fixture issue, APA 6 style
    assert findings(nine, "10.1016/j.cpr.2019.101810") == [
        ("…", "'…' in the author list, but the registry has only 9 authors: APA 7 lists all of them")]
    people = [{"given": "A.", "family": f"Author{i:02d}"} for i in range(1, 26)]
    listed = ", ".join(f"Author{i:02d}, A." for i in range(1, 20)) + ", … Author25, A."
    apa = f"{listed} (2018). The alliance in adult psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316–340."
    assert findings(apa, author=people) == []
    assert findings(apa.replace("Author07", "Autor07"), author=people)[0][0] == "Autor07"


def test_article_numbers() -> None:
    bmc = ("McPherson, S., Wicks, C., & Tercelli, I. (2020). Patient experiences of psychological therapy for "
           "depression: A qualitative metasynthesis. BMC Psychiatry, 20(1), Article 313.")
    assert findings(bmc, "10.1186/s12888-020-02682-1") == []
    assert findings(bmc.replace("Article 313", "313"), "10.1186/s12888-020-02682-1") == []
    assert findings(bmc.replace("Article 313", "Article 314"), "10.1186/s12888-020-02682-1") == [
        ("314", "pages 314 differ from the registry's Article 313")]


def test_a_doi_for_another_work_is_one_finding() -> None:
    other = ("Cooper, D., Yap, K., O'Brien, M., & Scott, I. (2020). Mindfulness and empathy among counseling and "
             "psychotherapy professionals: A systematic review and meta-analysis. Mindfulness, 11(10), 2243–2257.")
    [(token, message)] = findings(other)
    assert token is None and message.startswith('leads to a different work: Flückiger et al. (2018), "The alliance')


def test_unreadable_citation() -> None:
    [(_, message)] = findings("Some notes about the alliance paper")
    assert message.startswith("cannot be read as an APA reference")


def test_headline_titles_are_not_reported_but_near_copies_are() -> None:
    item = record("10.1037/pst0000172")
    assert check_title("Why the Alliance Still Matters", item) == []
    assert check_title("The alliance in adult psychotherapy: A meta-analytic synthesis", item) == []
    [f] = check_title("The alliance in adult psychotherapy: A meta-anaytic synthesis", item)
    assert f.field == "title" and "differs from the registry's" in f.message


def test_preprints_and_retractions() -> None:
    preprint = normalize({"DOI": "10.31234/osf.io/abcde", "type": "posted-content", "subtype": "preprint",
                          "title": ["x"], "relation": {"is-preprint-of": [{"id-type": "doi", "id": "10.1037/pst0000172"}]}})
    [f] = check_record(preprint, "10.31234/osf.io/abcde")
    assert f.field == "doi" and "published version 10.1037/pst0000172: cite that instead" in f.message
    retracted = record("10.1037/pst0000172", **{"updated-by": [{"type": "retraction", "DOI": "10.1037/x"}]})
    [f] = check_record(retracted, "10.1037/pst0000172")
    assert f.message == "the registry records a retraction of 10.1037/pst0000172 (10.1037/x)"


def test_parse_keeps_a_title_with_full_stops_when_the_journal_is_known() -> None:
    p = parse("World Health Organization. (2019). Trends in the U.S. population. Psychology, Health & Medicine, "
              "3(2), 1–10.", ["Psychology, Health & Medicine"])
    assert (p.authors, p.title, p.journal, p.volume, p.issue, p.pages) == (
        ["World Health Organization"], "Trends in the U.S. population", "Psychology, Health & Medicine", "3", "2",
        "1–10")


RECORDS = ["10.1037/cou0000424", "10.1037/pst0000172", "10.1080/10503307.2020.1817603", "10.1007/s12671-020-01425-3",
           "10.1186/s12888-020-02682-1", "10.1016/j.cpr.2019.101810", "10.3389/fpsyg.2019.00347",
           "10.1038/s41746-019-0188-8"]


@pytest.mark.parametrize("doi", RECORDS)
def test_the_rendered_reference_passes_its_own_check(doi: str) -> None:
    from newsletter.content.references.apa import render

    item = record(doi)
    assert check_citation(render(item, with_doi=False).text, item, doi) == []
    assert check_citation(render(item).text, item, doi) == []


_family = st.text(st.characters(categories=("Lu", "Ll"), codec="utf-8"), min_size=2, max_size=12).map(str.title).filter(
    lambda f: f not in ("Jr", "Sr", "Ii", "Iii", "Iv"))  # a surname spelled like a suffix is ambiguous
_given = st.text(st.characters(categories=("Lu",), codec="utf-8"), min_size=1, max_size=2)
_words = st.lists(st.text(st.characters(categories=("Ll",), codec="utf-8"), min_size=1, max_size=9),
                  min_size=1, max_size=12)


@hsettings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_given, _family, st.sampled_from(["", "van", "de", "Del"])), min_size=1, max_size=25),
       _words, _words, st.integers(1900, 2030), st.sampled_from(["", "4"]), st.booleans())
def test_any_rendered_reference_passes_its_own_check(people: list[tuple[str, str, str]], title: list[str],
                                                     subtitle: list[str], year: int, issue: str,
                                                     question: bool) -> None:
    """APA text made from a record reads back as that record: whatever the names, particles,
    number of authors (the 21+ ellipsis form included) and title punctuation."""
    from newsletter.content.references.apa import render

    authors = [{"given": ". ".join(g) + ".", "family": f"{p} {f}".strip()} for g, f, p in people]
    text = " ".join(title).capitalize() + ("?" if question else ":") + " " + " ".join(subtitle)
    item = record("10.1037/pst0000172", author=authors, title=[text], issue=issue or None,
                  **{"published-print": {"date-parts": [[year]]}, "published-online": None,
                     "journal-issue": None})
    assert check_citation(render(item, with_doi=False).text, item, "10.1037/pst0000172") == []
