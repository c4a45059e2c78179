"""Compare what the author wrote (a `citation`, a `title`) with the registry's record.

Each difference is a `Finding`: which article field it concerns, the message, and the text in
the author's YAML it is about (so it can be located to the line). All are warnings: the
registry is sometimes wrong too, and the author decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .citation import ParsedCitation, parse
from .keys import doi_key
from .names import fold, surname, surnames_match
from .normalize import CSL
from .titles import comparable

SIMILAR_TITLE = 85  # rapidfuzz ratio (0-100) above which a different title reads as a variant
OTHER_WORK = 50  # below this, with the first author wrong too, the DOI names another work
_DASHES = re.compile(r"\s*[-‐‑‒–—]\s*")


@dataclass(frozen=True)
class Finding:
    """One difference: `field` is 'citation', 'title' or 'doi'; `token` the author's text it is
    about (None: the field as a whole)."""

    field: str
    message: str
    token: str | None = None


def describe(item: CSL) -> str:
    """'Flückiger et al. (2020), "Title", Journal' — how a record is named in messages."""
    authors = item.get("author") or []
    who = surname(authors[0]) + (" et al." if len(authors) > 2 else
                                 f" & {surname(authors[1])}" if len(authors) == 2 else "") if authors else ""
    year = _year(item)
    bits = [f"{who} ({year})" if who else str(year or "n.d."), f'"{item.get("title", "")}"']
    if item.get("container-title"):
        bits.append(str(item["container-title"]))
    return ", ".join(bits)


def check_record(item: CSL, doi: str) -> list[Finding]:
    """What the record itself says about citing it: a preprint with a published version, a retraction."""
    custom = item.get("custom", {})
    out = []
    if custom.get("published-version") and doi_key(custom["published-version"]) != doi_key(doi):
        out.append(Finding("doi", f"{doi} is a preprint; the registry links its published version "
                                  f"{custom['published-version']}: cite that instead"))
    if custom.get("retracted-by"):
        by = custom["retracted-by"]
        out.append(Finding("doi", f"the registry records a retraction of {doi}"
                                  + (f" ({by})" if by != "yes" else "")))
    return out


def check_title(title: str, item: CSL) -> list[Finding]:
    """The article's `title` is usually a headline of our own; only a near-copy of the paper's
    title that still differs from it is reported (a typo in the paper's title)."""
    from rapidfuzz import fuzz  # imported on first use: ~10 ms that `render` never needs

    theirs = str(item.get("title", ""))
    a, b = comparable(title), comparable(theirs)
    if not b or a == b or fuzz.ratio(a, b) < SIMILAR_TITLE:
        return []
    return [Finding("title", f"looks like the paper's title but differs from the registry's: \"{theirs}\"")]


def check_citation(citation: str, item: CSL, doi: str) -> list[Finding]:
    """Every difference between a written APA reference and the record (empty when they agree)."""
    from rapidfuzz import fuzz

    journals = [str(item.get(k)) for k in ("container-title", "container-title-short") if item.get(k)]
    journals += item.get("custom", {}).get("journal-names", [])
    p = parse(citation, journals)
    if p.year is None:
        return [Finding("citation", "cannot be read as an APA reference (no '(Year).' after the "
                                    f"authors); the registry has: {describe(item)}")]
    authors = item.get("author") or []
    title_score = fuzz.ratio(comparable(p.title or ""), comparable(str(item.get("title", ""))))
    if p.title and title_score < OTHER_WORK and authors and p.authors and \
            not surnames_match(p.authors[0], authors[0]):
        return [Finding("doi", f"leads to a different work: {describe(item)}")]
    out: list[Finding] = []
    if p.doi and doi_key(p.doi) != doi_key(doi):
        out.append(Finding("citation", f"names DOI {p.doi} but the article's doi is {doi}", p.doi))
    out += _authors(p, authors)
    out += _year_and_issue(p, item)
    if p.title and comparable(p.title) != comparable(str(item.get("title", ""))):
        out.append(Finding("citation", f"title differs from the registry's: \"{item.get('title', '')}\"",
                           _first_word(p.title)))
    if p.journal and journals and not any(_same_journal(p.journal, j) for j in journals):
        out.append(Finding("citation", f"journal '{p.journal}' differs from the registry's "
                                       f"'{item.get('container-title')}'", p.journal))
    return out


def _authors(p: ParsedCitation, authors: list[dict[str, str]]) -> list[Finding]:
    if not authors or not p.authors:
        return []
    out = []
    n, m = len(p.authors), len(authors)
    expected = authors if not p.ellipsis else [*authors[:min(n - 1, m - 1)], authors[-1]]
    if p.et_al:
        listed = ", ".join(surname(a) for a in authors[:20]) + (", …" if m > 20 else "")
        out.append(Finding("citation", f"'et al.' in a reference: APA 7 lists every author up to 20; "
                                       f"the registry has {m}: {listed}", "et al."))
    elif p.ellipsis and m <= 20:
        out.append(Finding("citation", f"'…' in the author list, but the registry has only {m} authors: "
                                       "APA 7 lists all of them", "…"))
    elif n != len(expected) or (p.ellipsis and n != 20):
        missing = [surname(a) for a in expected if not any(surnames_match(w, a) for w in p.authors)]
        extra = [w for w in p.authors if not any(surnames_match(w, a) for a in expected)]
        more = (f"; not in the citation: {', '.join(missing)}" if missing else "") + \
               (f"; not in the registry: {', '.join(extra)}" if extra else "")
        out.append(Finding("citation", f"lists {n} author{'s' if n != 1 else ''}; the registry has {m}{more}",
                           p.authors[0]))
        return out
    reordered = False
    for i, written in enumerate(p.authors[:len(expected)]):
        if surnames_match(written, expected[i]):
            continue
        if any(surnames_match(written, a) for a in expected):
            reordered = True
            continue
        out.append(Finding("citation", f"author {i + 1} '{written}' does not match the registry's "
                                       f"'{surname(expected[i])}'", written))
    if reordered:
        order = ", ".join(surname(a) for a in expected)
        out.append(Finding("citation", f"authors are not in the registry's order ({order})", p.authors[0]))
    return out


def _year_and_issue(p: ParsedCitation, item: CSL) -> list[Finding]:
    years = {int(y) for y in item.get("custom", {}).get("years", {}).values()}
    apa_year = _year(item)
    in_issue = any(item.get(k) for k in ("volume", "issue", "page", "number"))
    out = []
    written = p.year[:4] if p.year and p.year[:4].isdigit() else None
    if (p.online_first or not p.volume) and in_issue:
        out.append(Finding("citation", f"the article has since appeared in an issue: {_source(item)}; "
                                       "APA 7 cites the issue, not the advance online publication",
                           p.year if written and int(written) != apa_year else None))
        return out
    if written is None:
        if apa_year:
            out.append(Finding("citation", f"year '{p.year}': the registry dates it {apa_year}", p.year))
    elif years and int(written) not in years:
        out.append(Finding("citation", f"year {written} does not match the registry ({apa_year})", written))
    if p.volume and item.get("volume") and fold(p.volume) != fold(str(item["volume"])):
        out.append(Finding("citation", f"volume {p.volume} differs from the registry's {item['volume']}",
                           p.volume))
    if item.get("issue") and p.volume:
        if not p.issue:
            out.append(Finding("citation", f"issue number missing: the registry has "
                                           f"{item.get('volume', '')}({item['issue']})", p.volume))
        elif fold(p.issue) != fold(str(item["issue"])):
            out.append(Finding("citation", f"issue {p.issue} differs from the registry's {item['issue']}",
                               p.issue))
    out += _pages(p, item)
    return out


def _pages(p: ParsedCitation, item: CSL) -> list[Finding]:
    theirs = str(item.get("number") or item.get("page") or "")
    if not theirs:
        return []
    label = f"Article {item['number']}" if item.get("number") else _DASHES.sub("–", theirs)
    if not p.pages:
        return [Finding("citation", f"pages missing: the registry has {label}", p.volume)] if p.volume else []
    if _page_range(p.pages) != _page_range(theirs):
        return [Finding("citation", f"pages {p.pages} differ from the registry's {label}", p.pages)]
    return []


def _page_range(pages: str) -> tuple[str, ...]:
    parts = [x.strip().lower() for x in _DASHES.split(pages.strip()) if x.strip()]
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit() and len(parts[1]) < len(parts[0]):
        parts[1] = parts[0][:len(parts[0]) - len(parts[1])] + parts[1]  # 706–11 → 706–711
    return tuple(parts)


def _same_journal(written: str, theirs: str) -> bool:
    a, b = comparable(written), comparable(theirs)
    return a == b or a.removeprefix("the ") == b.removeprefix("the ")


def _year(item: CSL) -> int | None:
    parts = item.get("issued", {}).get("date-parts", [[None]])
    return parts[0][0] if parts and parts[0] else None


def _source(item: CSL) -> str:
    where = str(item.get("container-title", ""))
    if item.get("volume"):
        where += f", {item['volume']}" + (f"({item['issue']})" if item.get("issue") else "")
    pages = f"Article {item['number']}" if item.get("number") else _DASHES.sub("–", str(item.get("page", "")))
    return where + (f", {pages}" if pages else "") + f" ({_year(item)})"


def _first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else text
