"""The compiled-template cache (state/cache/jinja2-VERSION/): reused between runs, never stale,
never a reason to fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from newsletter.content.config import load_settings
from newsletter.mail.compose import Composer
from newsletter.mail.render import HTML_TEMPLATE, TEXT_TEMPLATE, Renderer

ISSUES = ["issues/2020-10.yaml", "issues/2020-12.yaml", "issues/2021-04.yaml"]


def _cache(project: Path) -> Path:
    return project / "state" / "cache" / f"jinja2-{jinja2.__version__}"


def _every_variant(composer: Composer) -> list[tuple[str, str]]:
    out = []
    for path in ISSUES:
        issue = composer.issue(path)
        for sel in [None, *((i,) for i in range(len(issue.articles)))]:
            r = composer.render(issue, sel)
            out.append((r.html, r.text))
    return out


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the templates jinja2 compiles from source from now on."""
    seen: list[str] = []
    real = jinja2.Environment.compile

    def spy(self: jinja2.Environment, source: str, name: str | None = None,  # type: ignore[no-untyped-def]
            filename: str | None = None, raw: bool = False, defer_init: bool = False):
        seen.append(str(name))
        return real(self, source, name, filename, raw, defer_init)  # type: ignore[call-overload]

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    return seen


def test_second_run_loads_compiled_templates_and_renders_the_same(project: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _compiles(monkeypatch)
    cold = _every_variant(Composer.load(project))
    assert {HTML_TEMPLATE, TEXT_TEMPLATE} <= set(compiled)  # and the partials they include
    entries = list(_cache(project).glob("*/__jinja2_*.cache"))
    assert len(entries) == len(compiled)
    for env in ("html", "text"):
        assert list((_cache(project) / env).glob("__jinja2_*.cache"))
    for level in (project / "state" / "cache", _cache(project), _cache(project) / "html"):
        assert level.stat().st_mode & 0o077 == 0, level  # jinja2 refuses a folder others can write

    compiled.clear()
    warm = _every_variant(Composer.load(project))
    assert compiled == []  # both came from the cache
    assert warm == cold


@pytest.mark.parametrize("template", [HTML_TEMPLATE, TEXT_TEMPLATE])
def test_an_edited_template_is_compiled_again(project: Path, template: str) -> None:
    Composer.load(project)  # fills the cache
    path = project / "templates" / template
    src = path.read_text()
    marker = "Cache check 7f3a"
    if template == TEXT_TEMPLATE:
        path.write_text(src.rstrip("\n") + f"\n{marker}\n")
    else:
        assert "</mj-body>" in src
        path.write_text(src.replace("</mj-body>", f"<mj-section><mj-column><mj-text>{marker}"
                                                  "</mj-text></mj-column></mj-section></mj-body>", 1))
    composer = Composer.load(project)
    r = composer.render(composer.issue(ISSUES[0]))
    assert marker in (r.text if template == TEXT_TEMPLATE else r.html)


def test_an_edited_template_with_an_error_is_still_reported(project: Path) -> None:
    Composer.load(project)
    path = project / "templates" / TEXT_TEMPLATE
    path.write_text(path.read_text() + "\n{% if %}\n")
    from newsletter.errors import TemplateError

    with pytest.raises(TemplateError, match=r"issue\.txt:\d+:1: "):
        Composer.load(project)


@pytest.mark.parametrize("damage", ["cache is a file", "entry is a folder", "entry is garbage"])
def test_a_cache_that_cannot_be_used_changes_nothing(project: Path, damage: str) -> None:
    expected = _every_variant(Composer.load(project))
    cache = _cache(project)
    entries = sorted(cache.glob("*/__jinja2_*.cache"))
    if damage == "cache is a file":
        for e in entries:
            e.unlink()
        for d in sorted(cache.iterdir()):
            d.rmdir()
        cache.rmdir()
        cache.write_text("not a folder\n")
    else:
        for e in entries:
            e.unlink()
            if damage == "entry is a folder":
                e.mkdir()  # the rename onto it fails; reading it fails: both are skipped
            else:
                e.write_bytes(b"j2\x00garbage")
    assert _every_variant(Composer.load(project)) == expected
    assert _every_variant(Composer.load(project)) == expected


def test_a_state_folder_that_cannot_be_made_changes_nothing(project: Path) -> None:
    expected = _every_variant(Composer.load(project))
    settings = load_settings(project)
    blocked = project / "blocked"
    blocked.write_text("a file where a folder should be\n")
    from dataclasses import replace

    other = replace(settings, state_db=blocked / "state" / "newsletter.sqlite3")
    r = Renderer(other)
    composer = Composer.load(project)
    assert r.render(composer.issue(ISSUES[0])).text == expected[0][1]


def test_render_path_leaves_out_what_check_and_render_do_not_need(project: Path) -> None:
    """Start-up of `check` / `render` (bench/ item 6) is mostly imports: the sending, storage,
    network and fuzzy-matching stacks are not loaded on the way to the first render, and
    `newsletter --help` loads none of the content stack."""
    code = ("import sys\nfrom pathlib import Path\nfrom newsletter.cli.main import main\n"
            "from newsletter.mail.compose import Composer\n"
            "c = Composer.load(Path.cwd())\nc.render(c.issue('issues/2020-10.yaml'))\n"
            "print('\\n'.join(sorted(sys.modules)))\n")
    loaded = _modules(project, code)
    heavy = {"asyncio", "aiosmtplib", "sqlite3", "requests", "rapidfuzz", "email_validator", "newsletter.store",
             "newsletter.delivery", "newsletter.web", "newsletter.content.references.check", "citeproc"}
    assert loaded & heavy == set()
    assert "premailer" in loaded  # rendering did happen

    help_code = ("import sys, contextlib, io\nfrom newsletter.cli.main import main\n"
                 "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
                 "    main(['--help'])\n"
                 "print('\\n'.join(sorted(sys.modules)))\n")
    assert _modules(project, help_code) & {"yaml", "jinja2", "markdown_it", "mjml", "newsletter.content"} == set()


def _modules(project: Path, code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after `code` (which prints them)."""
    return set(subprocess.run([sys.executable, "-c", code], cwd=project, check=True, capture_output=True,
                              text=True).stdout.split())
