"""compose: variants rendered once, content hash follows what was rendered."""

from __future__ import annotations

from newsletter.mail.compose import Composer


def test_render_is_cached_per_variant(composer) -> None:  # type: ignore[no-untyped-def]
    issue = composer.issue("issues/2020-10.yaml")
    assert composer.render(issue, (0,)) is composer.render(issue, (0,))
    assert composer.render(issue, (0,)) is not composer.render(issue, (1,))


def test_content_hash_tracks_templates_and_issue(project) -> None:  # type: ignore[no-untyped-def]
    def h() -> str:
        c = Composer.load(project)
        return c.content_hash(c.issue("issues/2020-10.yaml"))

    first = h()
    assert h() == first
    tpl = project / "templates" / "issue.txt"
    tpl.write_text(tpl.read_text().replace("PRACTICE IMPLICATIONS", "IMPLICATIONS FOR PRACTICE"))
    second = h()
    assert second != first
    issue = project / "issues" / "2020-10.yaml"
    issue.write_text(issue.read_text().replace("month: \"2020-10\"", "month: \"2020-10\"\nsubject: New"))
    assert h() != second
