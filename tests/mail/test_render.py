"""render: jinja2 → MJML → mjml-python → premailer, and the plain-text part."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.errors import TemplateError
from newsletter.mail.render import PLACEHOLDERS, Renderer, inline_css_faithfully

GOLDEN = Path(__file__).parent.parent / "golden"


def test_html_structure(composer):  # type: ignore[no-untyped-def]
    issue = composer.issue("issues/2020-10.yaml")
    html = composer.render(issue).html
    assert html.startswith("<!doctype html>")
    assert html.count("@media") >= 2
    assert "!important" in html.split("</head>")[0]
    assert len(re.findall(r'class="[^"]*\barticle(?=[\s"])', html)) == 3  # one block per article
    assert html.count("Practice implications") == 3
    assert "mj-column-per-100" in html  # column classes kept for the media queries
    assert "fonts.googleapis" not in html and "<link" not in html  # nothing remote
    assert "<mj-" not in html
    for a in issue.articles:
        assert a.title.replace("'", "&#39;") in html or a.title in html
    for p in PLACEHOLDERS[2:]:
        assert p in html  # filled per recipient later


def test_premailer_is_faithful() -> None:
    html = ('<!doctype html><html><head><style>@media only screen and (min-width:480px)'
            '{.mj-column-per-100{width:100%!important;}}</style></head><body>'
            '<div class="mj-column-per-100 prose"><img src="https://example.org/a.png" width="600" '
            'alt="x" style="width:100%"><a href="https://example.org/">x</a></div></body></html>')
    out = inline_css_faithfully(html, ".prose a { color: #0b5cad; }")
    assert out.startswith("<!doctype html>")
    assert "width:100%!important" in out.replace(" ", "")
    assert 'class="mj-column-per-100 prose"' in out
    assert 'width="600"' in out and "width:100%" in out.replace(" ", "")
    assert re.search(r'<a href="https://example.org/" style="color:\s*#0b5cad', out)


def test_plain_text_golden(composer):  # type: ignore[no-untyped-def]
    issue = composer.issue("issues/2020-10.yaml")
    text = composer.render(issue).text
    golden = (GOLDEN / "2020-10.txt").read_text(encoding="utf-8")
    assert text == golden
    assert all(len(line) <= 78 for line in text.splitlines())


def test_text_lines_short_in_every_variant(composer):  # type: ignore[no-untyped-def]
    from newsletter.content.variants import all_selections

    for path in sorted(Path("issues").glob("*.yaml")):
        issue = composer.issue(path)
        for sel in all_selections(issue):
            text = composer.render(issue, sel).text
            long = [ln for ln in text.splitlines() if len(ln) > 78 and not re.match(r"\[\d+\] ", ln)
                    and not re.fullmatch(r"https://\S+", ln)]  # a URL that does not fit: its own line
            assert not long, (path, sel, long)


HOSTILE = """month: "2020-10"
intro: "Hi <script>alert(1)</script> {{ 7*7 }} [x](javascript:alert(1))"
articles:
  - title: "</mj-text><mj-raw><script>alert(2)</script></mj-raw>"
    citation: "{% for x in range(3) %}loop{% endfor %} <img src=x onerror=alert(3)>"
    url: "https://example.org/a?x=1&y=2"
    topics: [cbt]
    summary: "<iframe src='https://evil.example.com'></iframe> {{ config }}"
    implications: "[click](javascript:alert(4)) <a href='javascript:alert(5)'>x</a>"
"""


def test_hostile_content_is_refused_and_would_render_inert(composer, project):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from newsletter.errors import InputError

    (project / "issues" / "2020-10.yaml").write_text(HOSTILE)
    with pytest.raises(InputError) as e:  # `check` names every piece of raw HTML and bad link
        composer.issue("issues/2020-10.yaml")
    assert "raw HTML is not supported" in str(e.value) and "javascript:alert(4)" in str(e.value)
    # rendering never relies on that check: the same content, unchecked, stays inert
    (project / "issues" / "2020-10.yaml").write_text(HOSTILE.replace("<", "x").replace("javascript:", "https://x"))
    checked = composer.issue("issues/2020-10.yaml")
    hostile = HOSTILE.split("\n")

    def field(key: str) -> str:
        line = next(ln for ln in hostile if ln.strip().startswith(key + ":"))
        return line.split(": ", 1)[1].strip().strip('"')

    article = replace(checked.articles[0], title=field("- title"), citation=field("citation"),
                      summary=field("summary"), implications=field("implications"))
    issue = replace(checked, intro=field("intro"), articles=(article,))
    r = composer.render(issue)
    body = r.html.split("<body", 1)[1]
    assert "<script" not in r.html and "<iframe" not in body and "<mj-raw" not in body
    assert "javascript:" not in re.sub(r"&[a-z#0-9]+;", "", "".join(re.findall(r'href="([^"]*)"', body)))
    assert "onerror=" not in re.sub(r"&lt;img[^&]*&gt;", "", body) or "&lt;img" in body
    assert "{{ 7*7 }}" in r.html and "49" not in r.html.replace("1049", "")
    assert "{% for x in range(3) %}" in r.html
    assert "&lt;script&gt;" in r.html
    assert "https://example.org/a?x=1&amp;y=2" in r.html
    # plain text shows the author's characters literally, never executes or drops them
    assert "{{ 7*7 }}" in r.text and "</mj-text><mj-raw>" in r.text
    assert "javascript:" not in "".join(re.findall(r"^\[\d+\] (.*)$", r.text, re.MULTILINE))


def test_broken_mjml_template_fails_with_name_and_line(settings, project):  # type: ignore[no-untyped-def]
    tpl = project / "templates" / "issue.mjml"
    src = tpl.read_text().replace("<mj-divider ", "<mj-dividerr ", 1)
    tpl.write_text(src)
    line = src.splitlines().index(next(ln for ln in src.splitlines() if "mj-dividerr" in ln)) + 1
    with pytest.raises(TemplateError) as e:
        Renderer(settings)
    assert f"issue.mjml:{line}:" in str(e.value) and "unknown MJML element <mj-dividerr>" in str(e.value)


def test_misplaced_mjml_element(settings, project):  # type: ignore[no-untyped-def]
    tpl = project / "templates" / "issue.mjml"
    src = tpl.read_text().replace("<mj-column>", "<mj-text>misplaced</mj-text><mj-column>", 1)
    tpl.write_text(src)
    with pytest.raises(TemplateError, match=r"<mj-text> cannot be used inside <mj-section>"):
        Renderer(settings)


def test_undefined_variable_names_template_line(settings, project):  # type: ignore[no-untyped-def]
    from newsletter.content.issue import load_issue

    tpl = project / "templates" / "issue.mjml"
    src = tpl.read_text().replace("{{ month_label }}", "{{ subscriber.frist_name }}", 1)
    tpl.write_text(src)
    line = next(i for i, ln in enumerate(src.splitlines(), 1) if "frist_name" in ln)
    issue = load_issue("issues/2020-10.yaml", settings)
    with pytest.raises(TemplateError, match=rf"issue.mjml:{line}:1: 'subscriber' is undefined"):
        Renderer(settings).render(issue)


def test_jinja_syntax_error(settings, project):  # type: ignore[no-untyped-def]
    tpl = project / "templates" / "issue.txt"
    tpl.write_text(tpl.read_text().replace("{%- endfor %}", "", 1))
    with pytest.raises(TemplateError, match=r"issue.txt:\d+:1: Unexpected end of template"):
        Renderer(settings)


SICI = "10.1002/(SICI)1098-2736(199908)36:6<637::AID-TEA4>3.0.CO;2-9"
SICI_URL = "https://doi.org/10.1002/(SICI)1098-2736(199908)36:6%3C637::AID-TEA4%3E3.0.CO;2-9"


@pytest.mark.parametrize("field", [f'doi: "{SICI}"', f'url: "https://doi.org/{SICI}"', f'url: "doi.org/{SICI}"'])
def test_sici_doi_links_correctly_in_html_and_text(composer, project, field: str):  # type: ignore[no-untyped-def]
    """The 1990s Wiley form (< > ; in the suffix) shows as written and links percent-encoded."""
    path = project / "issues" / "2020-10.yaml"
    text = path.read_text()
    first_doi = re.search(r"^    doi: .*$", text, re.MULTILINE)
    assert first_doi
    path.write_text(text.replace(first_doi.group(0), f"    {field}", 1))
    issue = composer.issue(path)
    assert issue.articles[1].doi == SICI and issue.articles[1].link == SICI_URL
    rendered = composer.render(issue)
    assert f'href="{SICI_URL}"' in rendered.html  # the "Read the paper" link
    assert issue.articles[1].link_label == f"https://doi.org/{SICI}"  # as written, for templates
    links = rendered.text.split("\nLinks:\n", 1)[1].splitlines()  # the text part's reference list
    assert any(line.split("] ")[-1].strip() == SICI_URL for line in links), links


@pytest.mark.parametrize("config,template_root,lang,direction", [
    ("", None, "en", "ltr"),  # the default, through the shipped template's {{ language }}
    ("language: fr-CA\n", None, "fr-CA", "ltr"),
    ("language: ar\n", None, "ar", "rtl"),
    ("language: az-Arab\n", None, "az-Arab", "rtl"),  # the script subtag decides
    ("language: he\n", "<mjml>", "he", "rtl"),  # a template that says nothing gets both
    ("language: fr-CA\n", '<mjml lang="de">', "de", "ltr"),  # a template that says it itself wins
])
def test_language_on_html_and_body_wrapper(project, config: str, template_root: str | None, lang: str,  # type: ignore[no-untyped-def]
                                           direction: str):
    from newsletter.content.config import load_settings
    from newsletter.mail.compose import Composer

    (project / "newsletter.yaml").write_text((project / "newsletter.yaml").read_text() + config)
    if template_root is not None:
        tpl = project / "templates" / "issue.mjml"
        tpl.write_text(re.sub(r"(?m)^<mjml[^>]*>", template_root, tpl.read_text(), count=1))
    composer = Composer.load(project, load_settings(project))
    html = composer.render(composer.issue("issues/2020-10.yaml")).html
    tags = re.findall(r"<(html|div)\b([^>]*\blang=[^>]*)>", html)
    assert [(t, re.search(r'lang="([^"]*)"', a).group(1), re.search(r'dir="([^"]*)"', a).group(1))  # type: ignore[union-attr]
            for t, a in tags] == [("html", lang, direction), ("div", lang, direction)]  # <html>, body wrapper
    assert 'lang="und"' not in html
