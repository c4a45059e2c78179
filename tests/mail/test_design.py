"""What a reader meets: headings, the preheader and its spacer, the contents list and anchors,
"Read the paper", the partial-copy notice with its "Also this month" links, greeting, logo."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from newsletter.content.slugs import article_anchors
from newsletter.content.variants import all_selections
from newsletter.mail.compose import SAMPLE_SID, Composer, now_header, parts
from newsletter.mail.message import Recipient
from newsletter.mail.wording import SPACER_PAIRS, first_name, partial_notice, preheader

from ..conftest import add_config


class Outline(HTMLParser):
    """Headings, ids, links and the text of the body in reading order (hidden text included, as
    inbox snippets include it)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._heading: str | None = None
        self._href: str | None = None
        self._buf: list[str] = []
        self._in_body = self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._in_body |= tag == "body"
        self._in_style = tag in ("style", "title")
        if a.get("id"):
            self.ids.append(a["id"] or "")
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._buf = tag, []
        if tag == "a":
            self._href, self._link = a.get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        if tag == self._heading:
            self.headings.append((tag, " ".join("".join(self._buf).split())))
            self._heading = None
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._link).split())))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._in_body and not self._in_style:
            self.text.append(data)
            if self._heading:
                self._buf.append(data)
            if self._href is not None:
                self._link.append(data)


def outline(html: str) -> Outline:
    o = Outline()
    o.feed(html)
    return o


def message(composer: Composer, path: str, sel: tuple[int, ...] | None = None,
            name: str = "Ana Researcher") -> tuple[str, str]:
    issue = composer.issue(path)
    cv = composer.compile(issue, sel, campaign=issue.month, date=now_header())
    html, text = parts(cv.build(Recipient("ana@example.org", name, None, SAMPLE_SID)))
    return html, text.replace("\r\n", "\n")


def test_headings_outline_every_variant(composer: Composer) -> None:
    for path in sorted(Path("issues").glob("*.yaml")):
        issue = composer.issue(path)
        for sel in all_selections(issue):
            o = outline(composer.render(issue, sel).html)
            h1 = [t for h, t in o.headings if h == "h1"]
            assert h1 == [f"{composer.settings.name} {issue.month_label}"]
            h2 = [t for h, t in o.headings if h == "h2"]
            titles = [issue.articles[i].title for i in sel]
            assert [t for t in h2 if t in titles] == titles  # one h2 per article, in order
            assert ("In this issue" in h2) == (len(sel) > 1)
            assert ("Also this month" in h2) == (len(sel) < len(issue.articles))
            assert [t for h, t in o.headings if h == "h3"] == ["Practice implications"] * len(sel)


def test_preheader_is_the_whole_snippet(composer: Composer) -> None:
    """The snippet clients show is the first body text: the preheader, then only invisible
    spacer characters for longer than any client shows, so nothing runs on into it."""
    issue = composer.issue("issues/2020-12.yaml")
    html, _ = message(composer, "issues/2020-12.yaml")
    text = "".join(outline(html).text)
    want = preheader(issue.intro)
    assert text.lstrip().startswith(want)
    after = text.lstrip()[len(want):]
    spacer = re.match(r"[\s\u200c\u00a0]*", after)
    assert spacer and spacer.end() >= 2 * SPACER_PAIRS >= 150
    assert after[spacer.end():].lstrip().startswith(composer.settings.name)
    # hidden by display/visibility/size/opacity, never by a colour close to the background
    hidden = re.findall(r'<div style="(display:none[^"]*)">', html)
    assert len(hidden) == 2 and all("color" not in style for style in hidden)
    assert "mso-hide:all" in hidden[0] and "opacity:0" in hidden[0]


def test_contents_link_to_the_articles(composer: Composer) -> None:
    issue = composer.issue("issues/2020-12.yaml")
    html, text = message(composer, "issues/2020-12.yaml")
    o = outline(html)
    anchors = article_anchors(a.title for a in issue.articles)
    assert [h for h, _ in o.links if h.startswith("#")] == [f"#{a}" for a in anchors]
    assert set(anchors) <= set(o.ids)
    assert "In this issue:\n" + "\n".join(f"- {a.title}" for a in issue.articles) in text


def test_read_the_paper_per_linked_article(composer: Composer) -> None:
    for path in sorted(Path("issues").glob("*.yaml")):
        issue = composer.issue(path)
        html, text = message(composer, str(path))
        ctas = [h for h, label in outline(html).links if label == "Read the paper →"]
        assert ctas == [a.link for a in issue.articles if a.link]
        assert text.count("Read the paper [") == len(ctas)


@pytest.mark.parametrize("sel, held", [((0, 2), "two"), ((1,), "one")])
def test_partial_copy_says_what_it_holds(composer: Composer, sel: tuple[int, ...], held: str) -> None:
    issue = composer.issue("issues/2020-12.yaml")
    html, text = message(composer, "issues/2020-12.yaml", sel)
    notice = partial_notice(len(sel), 3)
    assert notice.startswith(f"This copy has {held} of this month's three articles")
    assert notice in " ".join(text.split()) and notice in " ".join("".join(outline(html).text).split())
    web = f"{composer.settings.base_url}/archive/2020-12"
    anchors = article_anchors(a.title for a in issue.articles)
    others = [i for i in range(3) if i not in sel]
    also = [(h, t) for h, t in outline(html).links if h.startswith(web + "#")]
    assert also == [(f"{web}#{anchors[i]}", issue.articles[i].title) for i in others]
    for i in others:  # the text part links each one too
        assert f"{web}#{anchors[i]}" in text and issue.articles[i].title in text


def test_full_copy_has_no_notice(composer: Composer) -> None:
    html, text = message(composer, "issues/2021-04.yaml")
    assert "This copy has" not in html and "This copy has" not in text and "Also this month" not in text


def test_the_web_version_has_the_anchors_the_links_point_to(composer: Composer) -> None:
    """A partial copy links to {base_url}/archive/YYYY-MM#slug: the full e-mail carries those ids
    too (that the archive page does is tests/content/test_slugs.py)."""
    issue = composer.issue("issues/2020-10.yaml")
    full = outline(composer.render(issue).html).ids
    for sel in all_selections(issue):
        for href, _ in outline(composer.render(issue, sel).html).links:
            if "/archive/2020-10#" in href:
                assert href.split("#", 1)[1] in full


@pytest.mark.parametrize("name, greeting", [
    ("Ana Researcher", "Hello Ana,"), ("Dr. Chloé Dubois", "Hello Chloé,"), ("Ben", "Hello Ben,"),
    ("  ", None), ("", None),
])
def test_greeting_by_first_name_or_none(composer: Composer, name: str, greeting: str | None) -> None:
    html, text = message(composer, "issues/2021-04.yaml", name=name)
    if greeting:
        assert f"=====\n\n{greeting}\n\nApril looks" in text
        assert f">{greeting}</p>" in html
    else:
        assert "=====\n\nApril looks" in text and "Hello" not in html


def test_first_name() -> None:
    assert first_name("Prof Ada Lovelace") == "Ada"
    assert first_name("Dr.") == "Dr."  # a title alone is still what we have
    assert first_name("Zoë Müller-Lüdenscheidt") == "Zoë"


def test_logo(composer: Composer, project: Path) -> None:
    html, _ = message(composer, "issues/2021-04.yaml")
    assert "<img" not in html
    add_config(project, 'logo: {url: "https://news.example.org/logo.png", alt: "Practice Research Digest", '
                        "width: 180}")
    logo = Composer.load(project)
    html, _ = message(logo, "issues/2021-04.yaml")
    imgs = re.findall(r"<img [^>]*>", html)
    assert len(imgs) == 1 and 'src="https://news.example.org/logo.png"' in imgs[0]
    assert 'alt="Practice Research Digest"' in imgs[0] and 'width="180"' in imgs[0]


def test_summaries_get_short_paragraphs(composer: Composer) -> None:
    issue = composer.issue("issues/2020-12.yaml")
    html = composer.render(issue).html
    for a in issue.articles:
        assert len(a.summary.split()) > 120 and "\n\n" not in a.summary.strip()  # one block each
    paragraphs = [p for p in re.findall(r"<p[^>]*>(.*?)</p>", html, re.DOTALL)]
    words = [len(re.sub(r"<[^>]+>", " ", p).split()) for p in paragraphs]
    assert max(words) <= 80 and len(paragraphs) >= 3 * 3
