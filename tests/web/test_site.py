"""The public archive: index, issue pages with article anchors, topic pages, Atom feeds (checked
with feedparser), scholarly metadata, and `newsletter site build` giving the same bytes as `serve`."""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import feedparser
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from newsletter.content.config import Settings
from newsletter.content.references import ReferenceCache, normalize
from newsletter.content.slugs import article_anchors
from newsletter.mail.compose import Composer, now_header
from newsletter.store.ledger import Ledger
from newsletter.web.public.app import create_app
from newsletter.web.public.site import Site
from tests.fake_registry import crossref_record

ORIGIN = "https://news.example.org"


def publish(settings: Settings, *months: str) -> None:
    ledger = Ledger(settings.state_db)
    for m in months:
        ledger.start_campaign(m, "hash", now_header(), force=False)
    ledger.close()


@pytest.fixture
def client(project: Path, settings: Settings, composer: Composer) -> Iterator[TestClient]:
    app = create_app(settings, project / "subscribers.example.yaml", composer=composer)
    with TestClient(app, base_url=ORIGIN) as c:
        yield c


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.alternates: list[dict[str, str]] = []
        self.headings: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            assert a["id"] not in self.ids, f"duplicate id {a['id']}"
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "link" and a.get("rel") == "alternate":
            self.alternates.append(a)
        if tag in ("h1", "h2"):
            self.headings.append(tag)


def parse(html: str) -> Links:
    p = Links()
    p.feed(html)
    return p


def test_only_sent_issues_are_public(client: TestClient, settings: Settings) -> None:
    assert client.get("/archive/2020-10").status_code == 404
    assert "October 2020" not in client.get("/archive/").text
    assert feedparser.parse(client.get("/feed.atom").content).entries == []
    publish(settings, "2020-10")
    assert client.get("/archive/2020-10").status_code == 200
    assert client.get("/archive/2020-12").status_code == 404  # still a draft


@pytest.mark.parametrize("path", ["/archive/2020-13", "/archive/2099-01", "/archive/..%2Fnewsletter",
                                  "/archive/2020-10.yaml", "/archive/latest", "/topics/no-such-topic",
                                  "/topics/no-such-topic/feed.atom", "/topics/CBT", "/feed.rss"])
def test_unknown_pages(client: TestClient, settings: Settings, path: str) -> None:
    publish(settings, "2020-10", "2099-01")
    assert client.get(path).status_code == 404


def test_issue_page_is_a_web_page_not_the_e_mail(client: TestClient, settings: Settings, composer: Composer) -> None:
    publish(settings, "2020-10")
    r = client.get("/archive/2020-10")
    issue = composer.issue("issues/2020-10.yaml")
    page = parse(r.text)
    for a, anchor in zip(issue.articles, article_anchors(a.title for a in issue.articles)):
        assert anchor in page.ids and f"#{anchor}" in page.hrefs  # stable anchors, linked from "In this issue"
        assert a.title.replace("'", "&#39;") in r.text
    assert "Hello" not in r.text and "__NL_" not in r.text and "/u/" not in r.text and "Unsubscribe" not in r.text
    assert "/subscribe" in page.hrefs and page.headings.count("h1") == 1
    assert {"rel": "alternate", "type": "application/atom+xml", "title": "Practice Research Digest: every issue",
            "href": f"{ORIGIN}/feed.atom"} in page.alternates
    assert r.headers["cache-control"].startswith("public") and "noindex" not in r.headers.get("x-robots-tag", "")
    assert "style-src 'self'" in r.headers["content-security-policy"] and "unsafe-inline" not in r.text
    assert 'href="/site.css"' in r.text and client.get("/site.css").headers["content-type"].startswith("text/css")


def test_scholarly_metadata(client: TestClient, settings: Settings) -> None:
    publish(settings, "2020-10", "2020-12")
    text = client.get("/archive/2020-12").text
    doc = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.DOTALL).group(1))  # type: ignore[union-attr]
    papers = [g for g in doc["@graph"] if g["@type"] == "ScholarlyArticle"]
    assert papers, doc
    p = next(p for p in papers if p["name"].startswith("How does therapy harm?"))
    assert p["identifier"]["propertyID"] == "DOI" and p["sameAs"] == f"https://doi.org/{p['identifier']['value']}"
    assert p["isPartOf"]["name"] == "Frontiers in Psychology" and p["datePublished"] == "2019"
    assert p["author"][0] == {"@type": "Person", "name": "Curran, J.", "familyName": "Curran", "givenName": "J."}
    assert p["subjectOf"]["url"].startswith(f"{ORIGIN}/archive/2020-12#")
    coins = re.findall(r'<span class="Z3988" title="([^"]+)"></span>', text)
    assert len(coins) == len(papers) and all("rft_id=info%3Adoi%2F10." in c or "rft_id=http" in c for c in coins)


def _paper_metadata(client: TestClient, doi: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    text = client.get("/archive/2020-12").text
    doc = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.DOTALL).group(1))  # type: ignore[union-attr]
    [paper] = [g for g in doc["@graph"] if g.get("@id") == f"https://doi.org/{doi}"]
    [span] = [parse_qs(html.unescape(c)) for c in re.findall(r'<span class="Z3988" title="([^"]+)"></span>', text)
              if quote(doi, safe="") in c]
    return paper, span


def test_scholarly_metadata_prefers_the_cached_record(client: TestClient, settings: Settings) -> None:
    """With the DOI's record in references/ (as `check --online` leaves it), the page's metadata is
    the registry's: every author with given names, the full title, an issue number the citation
    lacks; a cache file written later replaces the citation's parts without a restart; a broken
    one falls back to the citation."""
    publish(settings, "2020-12")
    doi = "10.3389/fpsyg.2019.00347"
    before, _ = _paper_metadata(client, doi)
    assert before["name"].startswith("How does therapy harm?") and before["author"][0]["name"] == "Curran, J."

    cache = ReferenceCache.of(settings.root)
    record = crossref_record(doi)["message"]
    item = normalize({**record, "issue": "7"})
    path = cache.path_for(doi)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(item), encoding="utf-8")
    paper, span = _paper_metadata(client, doi)
    assert paper["name"] == item["title"] and paper["datePublished"] == "2019"
    assert [a["name"] for a in paper["author"]] == ["Curran, Jo", "Parry, Glenys D.", "Hardy, Gillian E.",
                                                    "Darling, Jennifer", "Mason, Ann-Marie", "Chambers, Eleni"]
    assert paper["author"][0] == {"@type": "Person", "name": "Curran, Jo", "familyName": "Curran", "givenName": "Jo"}
    assert (paper["isPartOf"]["name"], paper["volumeNumber"], paper["issueNumber"], paper["pageStart"]) == (
        "Frontiers in Psychology", "10", "7", "347")
    assert span["rft.atitle"] == [item["title"]] and span["rft.issue"] == ["7"]
    assert span["rft.au"][:2] == ["Curran, Jo", "Parry, Glenys D."] and f"info:doi/{doi}" in span["rft_id"]

    path.write_text("{ not json", encoding="utf-8")
    broken, _ = _paper_metadata(client, doi)
    assert broken == before


def test_index_and_topics(client: TestClient, settings: Settings, composer: Composer) -> None:
    publish(settings, "2020-10", "2021-04")
    index = client.get("/archive/").text
    assert index.index("April 2021") < index.index("October 2020")  # newest first
    assert client.get("/").text == index and client.get("/archive").status_code == 200
    topics = client.get("/topics/").text
    assert len(re.findall(r'href="/topics/[a-z0-9-]+"', topics)) == len(settings.taxonomy.labels)
    empathy = client.get("/topics/empathy")
    april = composer.issue("issues/2021-04.yaml")
    october = composer.issue("issues/2020-10.yaml")
    expected = [a.title for a in april.articles if "empathy" in a.topics] + \
               [a.title for a in october.articles if "empathy" in a.topics]
    found = re.findall(r"<h2><a href=\"/archive/[^\"]+\">([^<]+)</a></h2>", empathy.text)
    assert [t.replace("&#39;", "'") for t in found] == expected and len(expected) >= 2
    assert f"{ORIGIN}/topics/empathy/feed.atom" in [a["href"] for a in parse(empathy.text).alternates]
    assert "No article on this topic" in client.get("/topics/placebo").text


def test_feeds_are_valid_atom_with_stable_ids(client: TestClient, settings: Settings) -> None:
    publish(settings, "2020-10", "2021-04")
    r = client.get("/feed.atom")
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(r.content)
    assert not feed.bozo and feed.version == "atom10"
    assert [e.id for e in feed.entries] == [f"{ORIGIN}/archive/2021-04", f"{ORIGIN}/archive/2020-10"]
    assert feed.feed.id == f"{ORIGIN}/feed.atom" and feed.feed.author_detail.name == settings.name
    assert {(link.rel, link.href) for link in feed.feed.links} == {("alternate", f"{ORIGIN}/archive/"),
                                                                   ("self", f"{ORIGIN}/feed.atom")}
    first = feed.entries[0]
    assert first.content[0].type == "text/html" and "Practice implications" in first.content[0].value
    assert first.published_parsed and first.updated == feed.feed.updated
    for e in feed.entries:
        assert all(h.startswith(ORIGIN) for h in re.findall(r'href="([^"]+)"', e.content[0].value)
                   if not h.startswith("https://doi.org/"))
    topic = feedparser.parse(client.get("/topics/empathy/feed.atom").content)
    assert not topic.bozo and topic.version == "atom10" and len(topic.entries) >= 2
    ids = [e.id for e in topic.entries]
    assert ids[0] == "tag:news.example.org,2021-04-01:archive/2021-04/2" and len(set(ids)) == len(ids)
    assert all(re.fullmatch(rf"{ORIGIN}/archive/\d{{4}}-\d\d#[a-z0-9-]+", e.link) for e in topic.entries)
    assert {t.term for t in topic.entries[0].tags} >= {"empathy"}
    assert client.get("/feed.atom").content == r.content  # the same archive gives the same feed
    empty = feedparser.parse(client.get("/topics/placebo/feed.atom").content)
    assert not empty.bozo and empty.entries == []


def test_anchor_of_an_edited_title_changes_but_the_feed_id_does_not(project: Path, settings: Settings) -> None:
    publish(settings, "2021-04")
    site = Site(settings)
    pub = {"2021-04": 1618000000.0}
    before = feedparser.parse(site.render("/topics/empathy/feed.atom", pub).body).entries[0]  # type: ignore[union-attr]
    path = project / "issues/2021-04.yaml"
    path.write_text(path.read_text().replace("Does Mindfulness Lead", "Does Mindfulness Really Lead"))
    after = feedparser.parse(site.render("/topics/empathy/feed.atom", pub).body).entries[0]  # type: ignore[union-attr]
    assert before.id == after.id and before.link != after.link


def test_site_build_writes_what_serve_serves(project: Path, settings: Settings, client: TestClient,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli import main

    publish(settings, "2020-10", "2020-12")
    out = project / "public"
    assert main(["site", "build", "--out", str(out)]) == 0
    assert "wrote 80 files (2 issue(s)" in capsys.readouterr().out
    for path, file in [("/archive/", "archive/index.html"), ("/", "index.html"), ("/archive/2020-10",
                       "archive/2020-10.html"), ("/topics/", "topics/index.html"), ("/topics/cbt", "topics/cbt.html"),
                       ("/feed.atom", "feed.atom"), ("/topics/cbt/feed.atom", "topics/cbt/feed.atom"),
                       ("/site.css", "site.css")]:
        assert (out / file).read_bytes() == client.get(path).content, path
    assert not (out / "archive/2021-04.html").exists()  # a draft
    assert sorted(p.name for p in out.iterdir()) == ["archive", "favicon.ico", "feed.atom", "index.html", "site.css",
                                                         "topics"]


def test_site_build_without_state(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli import main

    assert main(["site", "build", "--out", str(project / "public")]) == 0
    assert "no issue is public yet" in capsys.readouterr().err
    assert not (project / "state").exists()  # building never creates the database


def test_base_url_with_a_path(project: Path, settings: Settings, composer: Composer) -> None:
    prefixed = replace(settings, base_url="https://example.org/digest")
    publish(settings, "2020-10")
    with TestClient(create_app(prefixed, project / "subscribers.example.yaml", composer=composer),
                    base_url="https://example.org") as c:
        page = c.get("/digest/archive/2020-10").text
        assert 'href="/digest/site.css"' in page and 'href="/digest/topics/' in page
        feed = feedparser.parse(c.get("/digest/topics/empathy/feed.atom").content)
        assert feed.entries[0].id.startswith("tag:example.org,2020-10-01:digest/archive/2020-10/")
        assert feed.entries[0].link.startswith("https://example.org/digest/archive/2020-10#")
        assert c.get("/digest/subscribe").status_code == 200
        assert 'action="/digest/subscribe"' in c.get("/digest/subscribe").text


def test_drafts_option(project: Path, settings: Settings, composer: Composer) -> None:
    app = create_app(settings, project / "subscribers.example.yaml", composer=composer, archive_drafts=True)
    with TestClient(app, base_url=ORIGIN) as c:
        assert c.get("/archive/2020-12").status_code == 200


def test_a_broken_issue_file_is_left_out(client: TestClient, settings: Settings, project: Path) -> None:
    publish(settings, "2020-10", "2020-12")
    (project / "issues/2020-12.yaml").write_text("month: [")
    assert client.get("/archive/2020-12").status_code == 404
    assert client.get("/archive/2020-10").status_code == 200
