"""outlook: the fixed widths Outlook for Windows reads (the `<!--[if mso]>` ghost tables and the
markup around them) fit inside their containers, in every variant, as the official MJML
compiler computes them."""

from __future__ import annotations

from pathlib import Path

import mjml
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.variants import all_selections
from newsletter.mail.outlook import Element, fit_widths, overflows, parse

# MJML → the pixel widths (tag, px) of Outlook's view, in document order, as the official MJML
# compiler (mjml 4.15.3, run once by hand: `mjml --config.minify false`) writes them. mjml-python
# ignores every padding in these; `fit_widths` must arrive at the official numbers.
OFFICIAL = [
    ("section padding", '<mj-section padding="0 24px"><mj-column><mj-text>x</mj-text></mj-column></mj-section>',
     [("table", 600), ("table", 600), ("td", 552)]),
    ("divider padding", '<mj-section padding="0"><mj-column><mj-divider padding="0 24px"/></mj-column></mj-section>',
     [("table", 600), ("table", 600), ("td", 600), ("table", 552), ("table", 552)]),
    ("section, column and divider padding",
     ('<mj-section padding="0 24px"><mj-column padding="0 16px"><mj-divider padding="0 10px"/></mj-column>'
     '</mj-section>'),
     [("table", 600), ("table", 600), ("td", 552), ("table", 500), ("table", 500)]),
    ("two columns", ('<mj-section padding="0 20px"><mj-column><mj-text>a</mj-text></mj-column><mj-column>'
     '<mj-text>b</mj-text></mj-column></mj-section>'),
     [("table", 600), ("table", 600), ("td", 280), ("td", 280)]),
    ("image", ('<mj-section padding="0 24px"><mj-column><mj-image src="https://example.org/a.png" alt="a"/>'
     '</mj-column></mj-section>'),
     [("table", 600), ("table", 600), ("td", 552), ("td", 502), ("img", 502)]),
    ("column border", ('<mj-section padding="0 24px"><mj-column border-left="4px solid #d69e2e" padding="12px 0">'
     '<mj-divider padding="0 16px"/></mj-column></mj-section>'),
     [("table", 600), ("table", 600), ("td", 552), ("table", 516), ("table", 516)]),
    ("uneven columns and padding", ('<mj-section padding="0 10px 0 30px"><mj-column width="25%"><mj-text>a'
     '</mj-text></mj-column><mj-column width="75%"><mj-divider padding="0 5px"/></mj-column></mj-section>'),
     [("table", 600), ("table", 600), ("td", 140), ("td", 420), ("table", 410), ("table", 410)]),
    # official MJML leaves the wrapper's inner cell at 600px inside its 560px of room; we cut it
    ("wrapper padding", ('<mj-wrapper padding="0 20px"><mj-section padding="0 10px"><mj-column><mj-divider '
     'padding="0"/></mj-column></mj-section></mj-wrapper>'),
     [("table", 600), ("table", 600), ("td", 560), ("table", 560), ("table", 560), ("td", 540),
      ("table", 540), ("table", 540)]),
]


def compile_mjml(body: str) -> str:
    return mjml.mjml2html(f'<mjml><mj-body width="600px">{body}</mj-body></mjml>', disable_comments=True,
                          fonts={})


def px_widths(html: str) -> list[tuple[str, float]]:
    """Every pixel width below <body> in Outlook's view: a `width` attribute, then a CSS width."""
    out: list[tuple[str, float]] = []

    def walk(el: Element) -> None:
        for child in el.children:
            for value in (child.attrs.get("width", ""), child.style.get("width", "")):
                if value.removesuffix("px").isdigit() and child.tag != "body":
                    out.append((child.tag, float(value.removesuffix("px"))))
            walk(child)

    walk(parse(html))
    return out


@pytest.mark.parametrize("name, body, official", OFFICIAL, ids=[c[0] for c in OFFICIAL])
def test_fitted_widths_are_the_official_compilers(name: str, body: str,
                                                  official: list[tuple[str, int]]) -> None:
    raw = compile_mjml(body)
    assert overflows(raw), "mjml-python's own output overflows (else this case tests nothing)"
    fitted = fit_widths(raw)
    assert px_widths(fitted) == [(tag, float(px)) for tag, px in official]
    assert overflows(fitted) == []
    assert fit_widths(fitted) == fitted  # idempotent


def test_every_variant_of_every_example_fits(composer) -> None:  # type: ignore[no-untyped-def]
    """Parses the MSO tables of each rendered variant: no width exceeds its container's room."""
    checked = 0
    for path in sorted(Path("issues").glob("*.yaml")):
        issue = composer.issue(path)
        for sel in all_selections(issue):
            html = composer.render(issue, sel).html
            assert "<!--[if mso | IE]><table" in html
            assert overflows(html) == [], (path.name, sel)
            widths = px_widths(html)
            assert max(w for _, w in widths) == 600
            assert ("table", 552) in widths  # dividers: the 24px side padding is subtracted
            checked += 1
    assert checked == 7 + 7 + 3


def test_the_template_needs_the_fix(composer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Without fit_widths the example issues overflow in Outlook (the failure this guards)."""
    from newsletter.mail import render

    monkeypatch.setattr(render, "fit_widths", lambda html: html)
    html = composer.render(composer.issue("issues/2020-10.yaml")).html
    assert any(o.width == 600 and o.room == 552 for o in overflows(html))


def test_only_outlooks_view_counts() -> None:
    hidden = ('<body><table width="300"><tr><td><!--[if !mso]><!--><table width="900"><tr><td>x</td></tr>'
              '</table><!--<![endif]--><!-- <table width="900"> --></td></tr></table></body>')
    assert overflows(hidden) == []
    shown = '<body><table width="300"><tr><td><!--[if mso]><table width="900"><![endif]--></td></tr></table></body>'
    assert [str(o) for o in overflows(shown)] == ["<table> at offset 46: width 900px in 300px of room"]
    assert 'width="300"' in fit_widths(shown).split("<!--[if mso]>")[1]


def test_mso_padding_alt_and_cellpadding_count() -> None:
    html = ('<body><table width="200" cellpadding="10"><tr><td style="padding:0;mso-padding-alt:0 20px">'
            '<table width="150"><tr><td>x</td></tr></table></td></tr></table></body>')
    # 200 - 2 * 10 (cellpadding) - 2 * 20 (Outlook's padding) = 140
    assert [o.room for o in overflows(html)] == [140]


@settings(max_examples=40, deadline=None)
@given(section=st.integers(0, 60), column=st.integers(0, 40), divider=st.integers(0, 40),
       border=st.integers(0, 8))
def test_any_paddings_fit(section: int, column: int, divider: int, border: int) -> None:
    body = (f'<mj-section padding="0 {section}px"><mj-column padding="0 {column}px" '
            f'border-left="{border}px solid #000"><mj-divider padding="0 {divider}px"/><mj-text>x</mj-text>'
            '</mj-column></mj-section>')
    fitted = fit_widths(compile_mjml(body))
    assert overflows(fitted) == []
    column_width = 600 - 2 * section
    divider_width = column_width - 2 * column - border - 2 * divider
    assert ("td", column_width) in px_widths(fitted)
    assert px_widths(fitted)[-1] == ("table", max(0, divider_width))
