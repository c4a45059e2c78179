"""The references/ folder: file names for any DOI, round trips, located errors, no needless rewrites."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.references.cache import BrokenCacheFile, Fetched, ReferenceCache
from newsletter.content.references.keys import cache_stem, parse_doi
from tests.fake_registry import crossref_record

_suffix = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
                  min_size=1, max_size=250)  # what the issue schema lets through (10.NNNN/\S+)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"10\.[0-9]{4,9}", fullmatch=True), _suffix, _suffix)
def test_every_doi_has_a_safe_distinct_file_name(prefix: str, a: str, b: str) -> None:
    stems = [cache_stem(f"{prefix}/{s}") for s in (a, b)]
    for stem in stems:
        assert len(stem.parts) == 2 and stem.parts[0] == prefix
        name = stem.parts[1]
        assert len(name.encode()) <= 190 and name not in (".", "..") and not name.startswith(".")
        assert not set(name) & set('/\\:*?"<>|') and not name.endswith((".", " "))
        assert name.isascii() and name.isprintable()
    if a.lower() != b.lower():
        assert stems[0] != stems[1]
    assert cache_stem(f"{prefix}/{a}") == cache_stem(f"{prefix.upper()}/{a.upper()}") or a.upper().lower() != a.lower()


def test_readable_names_for_ordinary_dois() -> None:
    assert cache_stem("10.1037/PST0000172") == PurePosixPath("10.1037/pst0000172")
    assert cache_stem("10.1080/10503307.2020.1817603") == PurePosixPath("10.1080/10503307.2020.1817603")
    assert str(cache_stem("10.1002/(SICI)1097-4679(199802)54:2<169::AID-JCLP5>3.0.CO;2-R")) == \
        "10.1002/(sici)1097-4679(199802)54%3A2%3C169%3A%3Aaid-jclp5%3E3.0.co%3B2-r"


@pytest.mark.parametrize(("text", "doi"), [
    ("10.1037/pst0000172", "10.1037/pst0000172"), ("doi:10.1037/pst0000172", "10.1037/pst0000172"),
    ("https://doi.org/10.1037/pst0000172", "10.1037/pst0000172"), (" https://dx.doi.org/10.1/a%3Cb ", None),
    ("https://doi.org/10.1002/a%3Cb", "10.1002/a<b"), ("10.12/x", None), ("pst0000172", None),
])
def test_parse_doi(text: str, doi: str | None) -> None:
    assert parse_doi(text) == doi


def fetched(doi: str = "10.1037/pst0000172") -> Fetched:
    body = crossref_record(doi)
    return Fetched(doi, "crossref", "Crossref", f"https://api.crossref.org/works/{doi}", 200, "application/json", body)


def test_store_then_get_and_no_rewrite_when_unchanged(tmp_path: Path) -> None:
    cache = ReferenceCache(tmp_path / "references")
    item, changed = cache.store(fetched())
    assert changed and cache.get("10.1037/PST0000172") == item
    raw = cache.raw_path_for("10.1037/pst0000172")
    stamp = raw.stat().st_mtime_ns
    body = fetched().body
    body["message"]["indexed"] = {"date-parts": [[2027, 1, 1]]}  # Crossref's daily bookkeeping
    again = Fetched("10.1037/pst0000172", "crossref", "Crossref", "u", 200, "application/json", body)
    assert cache.store(again) == (item, False) and raw.stat().st_mtime_ns == stamp
    body["message"]["volume"] = "56"
    assert cache.store(again)[1] is True and cache.get("10.1037/pst0000172")["volume"] == "56"
    assert not list((tmp_path / "references").rglob(".tmp-*"))


def test_a_hand_edit_cannot_put_markup_into_a_page(tmp_path: Path) -> None:
    cache = ReferenceCache(tmp_path)
    path = cache.path_for("10.1037/pst0000172")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"DOI": "10.1037/pst0000172", "type": "article-journal",
                                "title": "<script>x</script>Edited <b>title</b>"}), "utf-8")
    assert cache.get("10.1037/pst0000172")["title"] == "Edited title"


@pytest.mark.parametrize(("content", "where", "reason"), [
    ('{"DOI": "10.1037/pst0000172",\n  "title": }', (2, 12), "is not valid JSON (Expecting value)"),
    ('{"DOI": "10.1037/other"}', (1, 1), "is not the cached record of 10.1037/pst0000172 (its DOI is '10.1037/other')"),
    ("[1, 2]", (1, 1), "is not the cached record of 10.1037/pst0000172 (its DOI is None)"),
])
def test_broken_files_are_located(tmp_path: Path, content: str, where: tuple[int, int], reason: str) -> None:
    cache = ReferenceCache(tmp_path)
    path = cache.path_for("10.1037/pst0000172")
    path.parent.mkdir(parents=True)
    path.write_text(content, "utf-8")
    with pytest.raises(BrokenCacheFile) as exc:
        cache.get("10.1037/pst0000172")
    assert (exc.value.line, exc.value.col) == where and exc.value.reason.startswith(reason)
