"""APA 7 rendering by citeproc-py with the shipped style and locale."""

from __future__ import annotations

import copy
import re
from typing import Any

from newsletter.content.references.apa import render
from newsletter.content.references.normalize import normalize
from tests.fake_registry import crossref_record, datacite_item


def item(doi: str, **changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(crossref_record(doi)["message"])
    m.update(changes)
    return normalize(m)


def test_journal_article_text_and_html() -> None:
    ref = render(item("10.1037/cou0000424"))
    assert ref.text == (
        "Flückiger, C., Del Re, A. C., Wlodasch, D., Horvath, A. O., Solomonov, N., & Wampold, B. E. (2020). "
        "Assessing the alliance–outcome association adjusted for patient characteristics and treatment "
        "processes: A meta-analytic summary of direct comparisons. Journal of Counseling Psychology, 67(6), "
        "706–711. https://doi.org/10.1037/cou0000424")
    assert "<i>Journal of Counseling Psychology</i>, <i>67</i>(6), 706–711." in ref.html
    assert "&amp; Wampold" in ref.html


def test_without_the_doi_link_the_reference_ends_with_the_source() -> None:
    ref = render(item("10.1037/pst0000172"), with_doi=False)
    assert ref.text.endswith("Psychotherapy, 55(4), 316–340.") and "doi.org" not in ref.text


def test_article_number_and_online_first() -> None:
    assert "BMC Psychiatry, 20(1), Article 313." in render(item("10.1186/s12888-020-02682-1")).text
    online = item("10.1080/10503307.2020.1817603", volume=None, issue=None, page=None,
                  **{"published-print": None, "journal-issue": None})
    text = render(online).text
    assert "(2020). Group therapy for mood disorders: A meta-analysis. Psychotherapy Research. " \
           "Advance online publication. https://doi.org/10.1080/10503307.2020.1817603" in text


def test_twenty_authors_then_ellipsis_and_the_last() -> None:
    people = [{"given": "Ann", "family": f"Author{i:02d}"} for i in range(1, 26)]
    text = render(item("10.1037/pst0000172", author=people)).text
    assert "Author19, A., … Author25, A. (2018)" in text and "Author20" not in text
    twenty = render(item("10.1037/pst0000172", author=people[:20])).text
    assert "Author19, A., & Author20, A. (2018)" in twenty and "…" not in twenty


def test_particles_suffixes_and_organisations() -> None:
    people = [{"given": "Ludwig", "family": "van Beethoven"}, {"given": "Ralph", "family": "Smith Jr."},
              {"name": "OPD Task Force"}]
    text = render(item("10.1037/pst0000172", author=people)).text
    assert text.startswith("van Beethoven, L., Smith, R., Jr., & OPD Task Force. (2018).")


def test_datacite_report() -> None:
    ref = render(normalize(datacite_item("10.14454/fxws-0523"), registry="doi.org", agency="DataCite"))
    assert ref.text.startswith("DataCite Metadata Working Group. (2021). DataCite metadata schema for the "
                               "publication and citation of research data")  # sentence case, brand kept
    assert ref.text.endswith("https://doi.org/10.14454/FXWS-0523")


def test_registry_markup_never_reaches_the_html() -> None:
    hostile = item("10.1037/pst0000172", title=['<img src=x onerror="alert(1)"> &lt;script&gt;x&lt;/script&gt;'],
                   author=[{"name": "<b>Evil</b> & Co"}])
    ref = render(hostile)
    tags = re.findall(r"<[^>]*>", ref.html)
    assert set(tags) <= {"<i>", "</i>"}, tags
    assert "&lt;script&gt;" in ref.html and "Evil &amp; Co" in ref.html
