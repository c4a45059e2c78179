"""Scholarly metadata for the papers an issue page summarises, so reference managers pick them
up: schema.org `ScholarlyArticle` items as JSON-LD, and one COinS span (OpenURL 1.0 ContextObject
in a `span.Z3988`, which Zotero reads, several per page) per paper. Both carry the DOI, which is
what Zotero and others resolve first; the other fields come from the paper's parts
(`content.references.work`: the DOI's cached registry record, else the author's citation) and
are left out when that source does not give them.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from markupsafe import Markup

from ...content.config import Settings
from ...content.references.work import Author
from .archive import ArticleView, IssueView


def _author(au: Author) -> dict[str, str]:
    if au.group:
        return {"@type": "Organization", "name": au.name}
    out = {"@type": "Person", "name": au.name, "familyName": au.family}
    if au.given:
        out["givenName"] = au.given
    return out


def _paper(a: ArticleView, page_url: str) -> dict[str, object]:
    p = a.paper
    item: dict[str, object] = {"@type": "ScholarlyArticle", "name": p.title or a.title}
    if a.doi:
        item["@id"] = f"https://doi.org/{a.doi}"
        item["sameAs"] = f"https://doi.org/{a.doi}"
        item["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI", "value": a.doi}
    elif a.link:
        item["url"] = a.link
    if p.authors:
        item["author"] = [_author(au) for au in p.authors]
    if p.year:
        item["datePublished"] = p.year
    if p.journal:
        item["isPartOf"] = {"@type": "Periodical", "name": p.journal}
    if p.volume:
        item["volumeNumber"] = p.volume
    if p.issue:
        item["issueNumber"] = p.issue
    if p.first_page:
        item["pageStart"] = p.first_page
    if p.last_page:
        item["pageEnd"] = p.last_page
    if a.citation:
        item["description"] = a.citation
    item["subjectOf"] = {"@type": "WebPageElement", "name": a.title, "url": f"{page_url}#{a.anchor}"}
    return item


def json_ld(settings: Settings, issue: IssueView) -> Markup:
    """The page's JSON-LD, safe inside <script type="application/ld+json"> ("<" escaped)."""
    page_url = f"{settings.base_url}/archive/{issue.month}"
    doc = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "@id": page_url, "url": page_url, "name": issue.subject,
         "isPartOf": {"@type": "Periodical", "name": settings.name, "url": f"{settings.base_url}/archive/"},
         "mentions": [{"@id": f"https://doi.org/{a.doi}"} for a in issue.articles if a.doi]},
        *[_paper(a, page_url) for a in issue.articles if a.doi or a.link or a.paper.title]]}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def coins(a: ArticleView) -> str:
    """The `title` of a COinS span (the template escapes it) for the paper; '' when there is
    nothing to identify it by (no DOI, no link, no title in the reference)."""
    if not (a.doi or a.link or a.paper.title):
        return ""
    p = a.paper
    pairs = [("ctx_ver", "Z39.88-2004"), ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal"),
             ("rft.genre", "article"), ("rft.atitle", p.title or a.title)]
    if a.doi:
        pairs.append(("rft_id", f"info:doi/{a.doi}"))
    if a.link:
        pairs.append(("rft_id", a.link))
    for key, value in (("rft.jtitle", p.journal), ("rft.date", p.year), ("rft.volume", p.volume),
                       ("rft.issue", p.issue), ("rft.spage", p.first_page), ("rft.epage", p.last_page)):
        if value:
            pairs.append((key, value))
    pairs += [("rft.au", au.name) for au in p.authors]
    return urlencode(pairs)


__all__ = ["coins", "json_ld"]
