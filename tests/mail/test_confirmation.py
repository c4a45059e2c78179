"""The signup confirmation message meets the issue's e-mail rules (issue 14): `lang`, headings,
the preheader and its spacer, the dark palette's metas and styles, the 46 px button class, the
greeting by first name, text ≡ HTML — from the same shared template pieces as an issue. (The
browser checks, axe-core, contrast and touch target, are in test_accessibility.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.errors import TemplateError
from newsletter.mail.compose import SAMPLE_SID, Composer, now_header, parts
from newsletter.mail.confirmation import BUTTON, HEADING, PREHEADER, ConfirmationMail
from newsletter.mail.message import Recipient
from newsletter.mail.wording import SPACER_PAIRS

from .test_design import message, outline

URL = "https://news.example.org/confirm/abc.def"


def confirmation(composer: Composer, name: str = "Ana Researcher",
                 topics: frozenset[str] | None = frozenset({"alliance"})) -> tuple[str, str]:
    """(HTML part, text part with LF line ends) of a confirmation message to `name`."""
    mail = ConfirmationMail.compile(composer.settings)
    raw = mail.build(Recipient("ana@example.org", name, None, SAMPLE_SID), topics, URL, date=now_header())
    html, text = parts(raw)
    return html, text.replace("\r\n", "\n")


def test_lang_and_headings(composer: Composer) -> None:
    html, text = confirmation(composer)
    assert re.search(r'<html [^>]*lang="en"[^>]*dir="ltr"', html)
    assert outline(html).headings == [("h1", composer.settings.name), ("h2", HEADING)]
    assert text.startswith(f"{composer.settings.name}\n{HEADING}\n{'=' * len(HEADING)}\n")


def test_preheader_is_the_whole_snippet(composer: Composer) -> None:
    html, _ = confirmation(composer)
    text = "".join(outline(html).text).lstrip()
    assert text.startswith(PREHEADER)
    spacer = re.match(r"[\s\u200c\u00a0]*", text[len(PREHEADER):])
    assert spacer and spacer.end() >= 2 * SPACER_PAIRS
    assert text[len(PREHEADER) + spacer.end():].lstrip().startswith(composer.settings.name)
    hidden = re.findall(r'<div style="(display:none[^"]*)">', html)
    assert len(hidden) == 2 and all("color" not in style for style in hidden)
    assert "mso-hide:all" in hidden[0] and "opacity:0" in hidden[0]


def test_the_head_is_the_issues_head(composer: Composer) -> None:
    """Colour-scheme metas, prefers-color-scheme and [data-ogsc] rules: the same block, byte for
    byte, in both messages (one shared template, not a copy)."""
    conf, _ = confirmation(composer)
    issue, _ = message(composer, "issues/2020-12.yaml")

    def dark(html: str) -> str:
        styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.DOTALL)
        [block] = [s for s in styles if "prefers-color-scheme: dark" in s]
        return block

    assert dark(conf) == dark(issue) and "[data-ogsc] .nl-card" in dark(conf)
    for html in (conf, issue):
        assert '<meta name="color-scheme" content="light dark">' in html
        assert '<meta name="supported-color-schemes" content="light dark">' in html
    button = re.search(r'<td [^>]*class="nl-cta".*?<a href="([^"]+)"[^>]*style="([^"]+)"[^>]*>\s*'
                       + re.escape(BUTTON), conf, re.DOTALL)
    assert button and button.group(1) == URL
    assert "line-height:24px" in button.group(2) and "padding:11px 22px" in button.group(2)


@pytest.mark.parametrize(("name", "greeting"), [("Ana Researcher", "Hello Ana,"), ("Dr. Chloé Dubois", "Hello Chloé,"),
                                                 ("", None)])
def test_greeting_by_first_name_or_none(composer: Composer, name: str, greeting: str | None) -> None:
    html, text = confirmation(composer, name)
    if greeting:
        assert f"=====\n\n{greeting}\n\nPlease confirm" in text and f">{greeting}</p>" in html
    else:
        assert "=====\n\nPlease confirm" in text and "Hello" not in html


def test_text_says_what_the_html_says(composer: Composer) -> None:
    html, text = confirmation(composer, topics=None)
    words = " ".join(text.split())
    body = " ".join("".join(outline(html).text).replace("\u200c", "").split())
    for sentence in ("Please confirm that you want to receive", "You chose every topic.", BUTTON,
                     "The link works for 48 hours.", composer.settings.postal_address):
        assert sentence in words and sentence in body
    assert URL in text and f'href="{URL}"' in html


def test_a_broken_shared_piece_is_located(project: Path, composer: Composer) -> None:
    """The MJML linter follows `{% include %}`: a fault in the shared head names its own file
    and line, for the confirmation and for an issue alike."""
    head = project / "templates" / "_head.mjml"
    source = head.read_text(encoding="utf-8")
    line = source[:source.index("<mj-attributes>")].count("\n") + 1
    head.write_text(source.replace("<mj-attributes>", "<mj-column />\n    <mj-attributes>", 1), encoding="utf-8")
    where = rf"templates/_head\.mjml:{line}:5: <mj-column> cannot be used inside <mj-head>"
    with pytest.raises(TemplateError, match=where):
        ConfirmationMail.compile(composer.settings)
    with pytest.raises(TemplateError, match=where):
        Composer.load(project)


@pytest.mark.parametrize("language, direction", [("fr-CA", "ltr"), ("he", "rtl"), ("ar-EG", "rtl")])
def test_language_setting_reaches_the_confirmation(project: Path, language: str, direction: str) -> None:
    """The `language` setting (issue 12) marks the confirmation as it marks an issue."""
    from tests.conftest import add_config

    add_config(project, f"language: {language}\n")
    html, _ = confirmation(Composer.load(project))
    assert re.search(rf'<html [^>]*lang="{language}"[^>]*dir="{direction}"', html)
