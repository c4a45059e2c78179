"""doi: the full DOI syntax in every spelling authors use, and the doi.org link percent-encoded
as the DOI Handbook asks (table of real-world DOI shapes)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from newsletter.content.doi import DOIError, is_resolver_link, parse

SICI = "10.1002/(SICI)1098-2736(199908)36:6<637::AID-TEA4>3.0.CO;2-9"
SICI_URL = "https://doi.org/10.1002/(SICI)1098-2736(199908)36:6%3C637::AID-TEA4%3E3.0.CO;2-9"

# (as written by an author, the DOI as displayed, the link)
SHAPES = [
    # Wiley's SICI form of the 1990s: < > ; ( ) :
    (SICI, SICI, SICI_URL),
    # APA journals, old and new style
    ("10.1037/0022-006X.68.3.438", "10.1037/0022-006X.68.3.438", "https://doi.org/10.1037/0022-006X.68.3.438"),
    ("doi:10.1037/pst0000172", "10.1037/pst0000172", "https://doi.org/10.1037/pst0000172"),
    # Elsevier PII form: S0…, parentheses
    ("https://doi.org/10.1016/S0140-6736(17)32802-7", "10.1016/S0140-6736(17)32802-7",
     "https://doi.org/10.1016/S0140-6736(17)32802-7"),
    ("http://dx.doi.org/10.1016/j.cpr.2019.101810", "10.1016/j.cpr.2019.101810",
     "https://doi.org/10.1016/j.cpr.2019.101810"),
    # Wiley, Nature, BMC and Frontiers, with the scheme left out or a DOI: label
    ("doi.org/10.1002/cpp.2465", "10.1002/cpp.2465", "https://doi.org/10.1002/cpp.2465"),
    ("dx.doi.org/10.1038/s41746-019-0188-8", "10.1038/s41746-019-0188-8",
     "https://doi.org/10.1038/s41746-019-0188-8"),
    ("DOI: 10.1186/s12888-020-02682-1", "10.1186/s12888-020-02682-1", "https://doi.org/10.1186/s12888-020-02682-1"),
    # a link already percent-encoded by the publisher reads back to the same DOI
    ("https://doi.org/10.1002/%28SICI%291098-2736%28199908%2936%3A6%3C637%3A%3AAID-TEA4%3E3.0.CO%3B2-9",
     SICI, SICI_URL),
    # the DOI Handbook's own examples: # ? must be encoded; registrant sub-elements; Unicode
    ("10.1000/456#789?x", "10.1000/456#789?x", "https://doi.org/10.1000/456%23789%3Fx"),
    ("10.1000.10/123456", "10.1000.10/123456", "https://doi.org/10.1000.10/123456"),
    ("10.1000/ΑΒΓ+{x}[y]|z\\w^`", "10.1000/ΑΒΓ+{x}[y]|z\\w^`",
     "https://doi.org/10.1000/%CE%91%CE%92%CE%93%2B%7Bx%7D%5By%5D%7Cz%5Cw%5E%60"),
    ("10.1000/a/./b/../c%d\"e", "10.1000/a/./b/../c%d\"e", "https://doi.org/10.1000/a/.%2Fb/..%2Fc%25d%22e"),
]


@pytest.mark.parametrize("written,doi,url", SHAPES)
def test_real_world_shapes(written: str, doi: str, url: str) -> None:
    d = parse(written)
    assert str(d) == doi
    assert d.url == url
    assert d.display_url == "https://doi.org/" + doi
    assert unquote(urlsplit(d.url).path[1:]) == doi  # the resolver reads back exactly the DOI
    assert parse(d.url) == d  # and our own link is accepted as input


@pytest.mark.parametrize("bad,why", [
    ("10.1002/cpp 2465", "no spaces"), ("10.12/abc", "expected the form 10.NNNN/suffix"), ("11.1002/x", "expected"),
    ("10.1002/", "expected"), ("10.1002", "expected"), ("https://example.org/10.1002/x", "expected"),
    ("10.1002/a\u200bb", "U+200B"), ("doi.org/10.1002/%FF", "not UTF-8"), ("", "expected"),
])
def test_refused(bad: str, why: str) -> None:
    with pytest.raises(DOIError, match=why.replace("+", r"\+")):
        parse(bad)


def test_case_insensitive_identity() -> None:
    assert parse("10.1037/PST0000172").key == parse("doi:10.1037/pst0000172").key


def test_resolver_link_spellings() -> None:
    for text in ("https://doi.org/10.1/x", "doi.org/10.1/x", "DX.DOI.ORG/10.1/x", "https://www.doi.org/10.1/x"):
        assert is_resolver_link(text)
    for text in ("10.1037/x", "doi:10.1/x", "https://example.org/doi.org/10.1/x"):
        assert not is_resolver_link(text)
