"""What registries send → one normalised CSL-JSON item per DOI (what the cache keeps).

Input: a Crossref `/works` message (Crossref's own field and type names) or a CSL-JSON item
from doi.org content negotiation (DataCite, mEDRA, or Crossref again). Output: a CSL-JSON item
(CSL 1.0.2 variables) with plain-text strings, CSL types, split name parts, the year APA 7
wants in `issued`, an article number in `number`, `status` "Advance online publication" for an
online-first article, and what the checks need in `custom`: every known year, the journal's
other names, a preprint's published version, a retraction. `normalize(normalize(x)) == normalize(x)`,
so a hand-edited cache file is made safe again on reading.
"""

from __future__ import annotations

import re
from typing import Any

from .keys import doi_key
from .markup import plain_text
from .names import csl_name
from .titles import capitalize_subtitle, drop_trailing_period, proper_nouns, sentence_case

CSL = dict[str, Any]
ONLINE_FIRST = "Advance online publication"
MAX_TEXT = 2000
MAX_NAMES = 5000

CROSSREF_TYPES = {
    "journal-article": "article-journal", "proceedings-article": "paper-conference",
    "book-chapter": "chapter", "book-section": "chapter", "book-part": "chapter",
    "book-track": "chapter", "book": "book", "monograph": "book", "edited-book": "book",
    "reference-book": "book", "book-set": "book", "book-series": "book", "posted-content": "article",
    "dissertation": "thesis", "report": "report", "report-component": "report",
    "report-series": "report", "dataset": "dataset", "database": "dataset",
    "reference-entry": "entry-encyclopedia", "peer-review": "review", "standard": "standard",
    "journal-issue": "periodical", "journal-volume": "periodical", "journal": "periodical",
    "proceedings": "book", "proceedings-series": "book", "component": "document",
    "grant": "document", "other": "document",
}
CSL_TYPES = frozenset({
    "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book",
    "broadcast", "chapter", "classic", "collection", "dataset", "document", "entry",
    "entry-dictionary", "entry-encyclopedia", "event", "figure", "graphic", "hearing", "interview",
    "legal_case", "legislation", "manuscript", "map", "motion_picture", "musical_score", "pamphlet",
    "paper-conference", "patent", "performance", "periodical", "personal_communication", "post",
    "post-weblog", "regulation", "report", "review", "review-book", "software", "song", "speech",
    "standard", "thesis", "treaty", "webpage",
})
_RANGE = re.compile(r"^\s*([A-Za-z]*\d+[A-Za-z]?)\s*[-‐‑‒–—―]+\s*([A-Za-z]*\d+[A-Za-z]?)\s*$")
_SERIAL = frozenset({"article-journal", "article-magazine", "article-newspaper"})


def normalize(record: dict[str, Any], *, registry: str = "crossref", agency: str = "Crossref") -> CSL:
    """One registry record → a normalised CSL-JSON item (see the module doc).

    `record` is a Crossref message or a CSL-JSON item; unknown or malformed fields are dropped,
    never raised on. Raises ValueError only when the record has no DOI.
    """
    doi = text(record.get("DOI") or record.get("doi"))
    if not doi:
        raise ValueError("the record has no DOI")
    old: dict[str, Any] = _dict(record.get("custom"))
    out: CSL = {"id": doi_key(doi), "DOI": doi, "type": csl_type(record.get("type"))}
    keep = proper_nouns(plain_text(text(record.get("abstract"), 20_000)))
    title = _title(record, keep)
    if title:
        out["title"] = title
    containers = [t for t in (text(v) for v in _list(record.get("container-title"))) if t]
    shorts = [t for t in (text(v) for v in _list(record.get("short-container-title")
                                                 or record.get("container-title-short"))) if t]
    if containers:
        out["container-title"] = containers[0]
    if shorts:
        out["container-title-short"] = shorts[0]
    for role in ("author", "editor"):
        people = [n for n in (csl_name(_plain_name(p)) for p in _list(record.get(role))[:MAX_NAMES]
                             if isinstance(p, dict)) if n]
        if people:
            out[role] = people
    for key in ("volume", "issue", "publisher", "publisher-place", "edition", "genre"):
        value = text(record.get(key), 200)
        if value:
            out[key] = value
    if not out.get("publisher-place") and text(record.get("publisher-location")):
        out["publisher-place"] = text(record.get("publisher-location"), 200)
    _pages(record, out)
    years = _years(record, old)
    _issued(record, out, years)
    custom: dict[str, Any] = {"registry": text(old.get("registry")) or registry,
                              "agency": text(old.get("agency")) or agency, "years": years}
    names = set(containers + shorts) | {text(n) for n in _list(old.get("journal-names")) if text(n)}
    if len(names) > 1:
        custom["journal-names"] = sorted(names)
    original = text(old.get("original-title")) or _raw_title(record)
    if original and original != title:
        custom["original-title"] = original
    _relations(record, old, out, custom)
    out["custom"] = custom
    return out


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """A registry value (string, list of strings, number) → plain text ('' if none)."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str | int | float) and str(v).strip()), "")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return ""
    return plain_text(str(value))[:limit]


def csl_type(value: Any) -> str:
    name = str(value or "").strip()
    if name in CSL_TYPES:
        return name
    return CROSSREF_TYPES.get(name, "document")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([value] if value else [])


def _plain_name(person: dict[str, Any]) -> dict[str, Any]:
    return {k: text(v, 300) for k, v in person.items()
            if k in ("given", "family", "suffix", "name", "literal", "non-dropping-particle",
                     "dropping-particle")}


def _raw_title(record: dict[str, Any]) -> str:
    title = drop_trailing_period(text(record.get("title")))
    subtitle = drop_trailing_period(text(record.get("subtitle")))
    if subtitle and subtitle.casefold() not in title.casefold():
        title = f"{title}: {subtitle}" if title else subtitle
    return title


def _title(record: dict[str, Any], keep: set[str]) -> str:
    return capitalize_subtitle(sentence_case(_raw_title(record), keep))


def _pages(record: dict[str, Any], out: CSL) -> None:
    page = text(record.get("page"), 100)
    number = text(record.get("article-number") or record.get("number"), 100)
    m = _RANGE.match(page)
    if page and number and (page == number or (m and m.group(1) == "1")):
        page = ""  # Elsevier/Frontiers repeat the article number, or count an e-article's pages
    if page and not number and not m and re.fullmatch(r"e\d{3,}", page):
        number, page = page, ""  # PLOS-style e-locator deposited as a page
    if page:
        out["page"] = f"{m.group(1)}-{m.group(2)}" if m else page
    if number:
        out["number"] = number


def _date(value: Any) -> list[int]:
    if not isinstance(value, dict):
        return []
    parts = value.get("date-parts")
    if not (isinstance(parts, list) and parts and isinstance(parts[0], list)):
        return []
    out = []
    for p in parts[0][:3]:
        try:
            out.append(int(p))
        except (TypeError, ValueError):
            break
    return out if out and 1000 <= out[0] <= 3000 else []


def _years(record: dict[str, Any], old: dict[str, Any]) -> dict[str, int]:
    """Every year the registry gives (print, online, issue, issued, posted); an item normalised
    before keeps its own (its `issued` is already the APA year, not the registry's)."""
    if isinstance(old.get("years"), dict):
        return {str(k): v for k, v in old["years"].items()
                if isinstance(v, int) and not isinstance(v, bool) and 1000 <= v <= 3000}
    journal_issue = _dict(record.get("journal-issue"))
    found = {
        "print": _date(record.get("published-print")),
        "online": _date(record.get("published-online")),
        "issue": _date(journal_issue.get("published-print")) or _date(journal_issue.get("published-online")),
        "issued": _date(record.get("issued")),
        "posted": _date(record.get("posted")),
    }
    return {k: v[0] for k, v in found.items() if v}


def _issued(record: dict[str, Any], out: CSL, years: dict[str, int]) -> None:
    """APA 7 §9.43/10.1: the year of the issue for an article in an issue, else the online year
    with "Advance online publication" (kept when a normalised item is normalised again)."""
    in_issue = any(k in out for k in ("volume", "issue", "page", "number"))
    date = (_date(record.get("published-print")) or _date(record.get("issued"))) if in_issue else \
        (_date(record.get("published-online")) or _date(record.get("issued")))
    if date:
        out["issued"] = {"date-parts": [date[:1]]}
    status = text(record.get("status"), 200)
    if out["type"] in _SERIAL and not in_issue and date:
        status = ONLINE_FIRST
    elif status == ONLINE_FIRST and in_issue:
        status = ""
    if status:
        out["status"] = status


def _relations(record: dict[str, Any], old: dict[str, Any], out: CSL, custom: dict[str, Any]) -> None:
    published = text(old.get("published-version"))
    relation = _dict(record.get("relation"))
    for rel in _list(relation.get("is-preprint-of")):
        if isinstance(rel, dict) and rel.get("id-type") == "doi" and text(rel.get("id")):
            published = text(rel.get("id"))
            break
    if published:
        custom["published-version"] = published
    if record.get("type") == "posted-content" or out["type"] == "article":
        if text(record.get("subtype")) == "preprint" or published:
            out.setdefault("genre", "Preprint")
        institution = [text(i.get("name")) for i in _list(record.get("institution")) if isinstance(i, dict)]
        where = text(record.get("group-title")) or next((i for i in institution if i), "")
        if where and "publisher" not in out:
            out["publisher"] = where
    retraction = text(old.get("retracted-by"))
    for update in _list(record.get("updated-by")):
        if isinstance(update, dict) and str(update.get("type", "")).lower() == "retraction":
            retraction = text(update.get("DOI") or update.get("doi")) or "yes"
    if retraction:
        custom["retracted-by"] = retraction
