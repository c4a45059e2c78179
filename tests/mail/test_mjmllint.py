"""mjmllint: MRML validates nothing, so structure is checked with template line numbers."""

from __future__ import annotations

from pathlib import Path

from newsletter.mail.mjmllint import lint


def test_shipped_template_is_clean() -> None:
    assert lint((Path(__file__).parent.parent.parent / "templates" / "issue.mjml").read_text()) == []


def test_problems_are_located() -> None:
    src = ("<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-textt>x</mj-textt>\n"
           "<mj-text><mj-image/></mj-text>\n<p>loose</p>\n</mj-column>\n<mj-text>y</mj-text>\n"
           "</mj-section>\n<mj-navbar></mj-navbar>\n</mj-body>\n</mjml>")
    msgs = [(line, m) for line, _, m in lint(src)]
    assert (5, "unknown MJML element <mj-textt>") in msgs
    assert (6, "<mj-image> cannot appear inside <mj-text>") in msgs
    assert (7, "HTML element <p> directly inside <mj-column>; put it in an <mj-text>") in msgs
    assert (9, "<mj-text> cannot be used inside <mj-section>") in msgs
    assert (11, "<mj-navbar> cannot be used inside <mj-body>") in msgs


def test_unclosed_and_mismatched() -> None:
    msgs = [m for _, _, m in lint("<mjml><mj-body><mj-section></mj-body></mjml>")]
    assert any("does not match" in m for m in msgs)
    assert any("never closed" in m for m in lint("<mjml><mj-body>")[-1][2:])
