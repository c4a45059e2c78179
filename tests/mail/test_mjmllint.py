"""mjmllint: MRML validates nothing, so structure is checked with template line numbers."""

from __future__ import annotations

from pathlib import Path

from newsletter.mail.mjmllint import lint, lint_template


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


def test_includes_are_linted_in_place_and_comments_ignored(tmp_path: Path) -> None:
    (tmp_path / "main.mjml").write_text(
        '{#- a comment naming <mj-body> is no element -#}\n<mjml><mj-head>\n  {% include "head.mjml" %}\n'
        "</mj-head><mj-body>{%- include 'body.mjml' %}</mj-body></mjml>\n", encoding="utf-8")
    (tmp_path / "head.mjml").write_text("{# inside <mj-head> #}\n<mj-style></mj-style>\n<mj-section />\n",
                                        encoding="utf-8")
    (tmp_path / "body.mjml").write_text("<mj-section><mj-column></mj-column></mj-section>\n</mj-body>",
                                        encoding="utf-8")
    problems = [p.removeprefix(f"{tmp_path}/") for p in lint_template(tmp_path, "main.mjml")]
    assert problems == ["head.mjml:3:1: <mj-section> cannot be used inside <mj-head>",
                        "body.mjml:2:1: closing </mj-body> does not match (expected nothing)"]
    (tmp_path / "body.mjml").unlink()
    assert [p.split(": ", 1)[1] for p in lint_template(tmp_path, "main.mjml")] == [
        "<mj-section> cannot be used inside <mj-head>",
        "cannot read included template 'body.mjml' (No such file or directory)"]


def test_the_shipped_templates_and_their_pieces_lint_clean() -> None:
    folder = Path(__file__).parent.parent.parent / "templates"
    assert lint_template(folder, "issue.mjml") == [] and lint_template(folder, "confirm.mjml") == []
