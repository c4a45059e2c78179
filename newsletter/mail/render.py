"""Render one variant of an issue: jinja2 → MJML → mjml-python → premailer, and plain text.

Output still holds the per-recipient markers in `PLACEHOLDERS`; `message.personalize` fills them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import traceback
import types
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import jinja2
import mjml
from markupsafe import Markup

from ..content.config import Settings
from ..content.issue import Article, Issue
from ..content.references import BrokenCacheFile, Reference, ReferenceCache, render_reference
from ..content.slugs import article_anchors
from ..content.textfile import display_path
from ..errors import TemplateError
from . import markup, wording
from .mjmllint import lint_template
from .outlook import fit_widths
from .plaintext import LIMIT, wrap
from .tokens import MAX_LENGTH as MAX_TOKEN_LENGTH

GREETING = "__NL_GREETING__"
TOPICS = "__NL_TOPICS__"
UNSUBSCRIBE_URL = "__NL_UNSUBSCRIBE_URL__"
PREFERENCES_URL = "__NL_PREFERENCES_URL__"
PLACEHOLDERS = (GREETING, TOPICS, UNSUBSCRIBE_URL, PREFERENCES_URL)
PLACEHOLDER_RE = re.compile(r"__NL_[A-Z_]+__")

HTML_TEMPLATE = "issue.mjml"
TEXT_TEMPLATE = "issue.txt"
_INLINE_STYLE = re.compile(r'<mj-style\b[^>]*\binline\s*=\s*"inline"[^>]*>(.*?)</mj-style>', re.DOTALL | re.IGNORECASE)
_POSITION = re.compile(r"position (\d+):(\d+)")
_MJML_ROOT = re.compile(r"<mjml(?=[\s>])([^>]*)>")
WIDTH = markup.WIDTH


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """jinja2's compiled templates kept between runs (keyed by template name, checked against
    the source's SHA-1, so an edited template is compiled afresh). Only saves time (~15 ms of a
    command's start-up): a folder that cannot be written just means no cache."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def template_cache(folder: Path) -> jinja2.BytecodeCache | None:
    """The compiled-template cache in `folder` (made 0700, as jinja2 requires), or None if it
    cannot be made. One folder per environment and jinja2 version: the cache key is only the
    template's name, while the compiled code also depends on the environment's options."""
    try:
        for level in reversed([folder, *folder.parents]):
            if not level.is_dir():
                level.mkdir(mode=0o700)
    except OSError:
        return None
    return _TemplateCache(str(folder))


@dataclass(frozen=True)
class Rendered:
    """One variant: the articles (indexes into the issue) and the finished parts."""

    selection: tuple[int, ...]
    subject: str
    html: str
    text: str


class Renderer:
    """Templates compiled and linted once; `render` is then cheap and pure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.templates_dir
        loader = jinja2.FileSystemLoader(str(self.dir))
        opts: dict[str, Any] = {"loader": loader, "undefined": jinja2.StrictUndefined,
                                "keep_trailing_newline": True}
        cache = settings.state_db.parent / "cache" / f"jinja2-{jinja2.__version__}"
        self._html_env = jinja2.Environment(autoescape=True, bytecode_cache=template_cache(cache / "html"), **opts)
        self._text_env = jinja2.Environment(autoescape=False, trim_blocks=False,
                                            bytecode_cache=template_cache(cache / "text"), **opts)
        self._html = self._compile(self._html_env, HTML_TEMPLATE)
        self._text = self._compile(self._text_env, TEXT_TEMPLATE)
        self._lint()
        self.references = ReferenceCache.of(settings.root)
        self._rendered_refs: dict[str, Reference] = {}

    # -- setup ---------------------------------------------------------------------------------
    def _display(self, name: str) -> str:
        return display_path(self.dir / name)

    def _compile(self, env: jinja2.Environment, name: str) -> jinja2.Template:
        try:
            return env.get_template(name)
        except jinja2.TemplateNotFound:
            raise TemplateError(f"{self._display(name)}:1:1: template not found") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self._display(name)}:{exc.lineno}:1: {exc.message}") from None

    def _lint(self) -> None:
        problems = lint_template(self.dir, HTML_TEMPLATE)
        if problems:
            raise TemplateError("\n".join(problems))

    # -- rendering -----------------------------------------------------------------------------
    def render(self, issue: Issue, selection: Sequence[int] | None = None) -> Rendered:
        """One variant (`selection`: indexes of the articles it holds; None = all of them)."""
        n = len(issue.articles)
        sel = tuple(range(n)) if selection is None else tuple(selection)
        anchors = article_anchors(a.title for a in issue.articles)
        web_url = archive_url(self.settings, issue)
        also = [{"title": a.title, "url": f"{web_url}#{anchors[i]}"}
                for i, a in enumerate(issue.articles) if i not in sel]
        base = {"name": self.settings.name, "month_label": issue.month_label, "language": self.settings.language,
                "direction": text_direction(self.settings.language),
                "subject": issue.subject, "web_url": web_url,
                "notice": wording.partial_notice(len(sel), n),
                "postal_address": self.settings.postal_address}
        mjml_src = self._run(self._html, HTML_TEMPLATE, {
            **base,
            "also": also,
            "logo": self.settings.logo,
            "preheader": wording.preheader(issue.intro),
            "preheader_spacer": Markup("&zwnj;&nbsp;" * wording.SPACER_PAIRS),
            "intro_html": Markup(markup.to_html(issue.intro)),
            "articles": [self._html_article(issue.articles[i], anchors[i]) for i in sel],
        })
        html = self._to_html(mjml_src)
        refs = markup.References()  # numbered in reading order: intro, articles, also, footer
        notice = "\n".join(wrap(base["notice"], WIDTH)) if base["notice"] else ""
        intro = markup.to_text(issue.intro, refs)
        text_articles = [self._text_article(issue.articles[i], refs) for i in sel]
        text_also = [_bullet(f"{o['title']} [{refs.number(o['url'])}]") for o in also]
        web_ref = refs.number(web_url)
        url_room = len(self.settings.base_url) + len("/p/") + MAX_TOKEN_LENGTH
        text = self._run(self._text, TEXT_TEMPLATE, {
            **base,
            "notice": notice,
            "intro": intro,
            "contents": [_bullet(issue.articles[i].title) for i in sel] if len(sel) > 1 else [],
            "articles": text_articles,
            "also": text_also,
            "web_ref": web_ref,
            "references": refs.lines(),
            "preferences_line": _footer_line("Change your topics:", PREFERENCES_URL, url_room),
            "unsubscribe_line": _footer_line("Unsubscribe:", UNSUBSCRIBE_URL, url_room),
            "postal_wrapped": "\n".join(wrap(self.settings.postal_address, WIDTH)),
        })
        return Rendered(sel, issue.subject, html, text)

    def _html_article(self, a: Article, anchor: str) -> dict[str, Any]:
        labels = self.settings.taxonomy.labels
        ref = self._reference(a)
        citation = Markup(ref.html) if ref else a.citation
        notes = markup.Notes()
        return {"title": a.title, "anchor": anchor, "citation": citation, "link": a.link,
                "link_label": a.link_label,
                "topic_labels": [labels[t] for t in a.topics],
                "summary_html": Markup(markup.to_html(a.summary, notes)),
                "implications_html": Markup(markup.to_html(a.implications, notes)),
                "notes_html": Markup(markup.notes_html(notes))}

    def _text_article(self, a: Article, refs: markup.References) -> dict[str, Any]:
        labels = self.settings.taxonomy.labels
        ref = self._reference(a)
        citation = ref.text if ref else a.citation
        title = wrap(a.title, WIDTH)  # the author's case: titles carry gene names, units, Greek
        notes = markup.Notes()
        return {
            "title_wrapped": "\n".join(title),
            "title_rule": "=" * max(len(line) for line in title),
            "citation_wrapped": "\n".join(wrap(citation, WIDTH)) if citation else "",
            "topics_wrapped": "\n".join(wrap(", ".join(labels[t] for t in a.topics), WIDTH, "Topics: ")),
            "summary": markup.to_text(a.summary, refs, notes),
            "implications": markup.to_text(a.implications, refs, notes),
            "notes": markup.notes_text(notes.text),
            "link": a.link,
            "link_ref": refs.number(a.link) if a.link else 0,  # numbered after the prose it follows
        }

    def _reference(self, a: Article) -> Reference | None:
        """The APA 7 reference from the DOI's cached record, for an article without a `citation`
        (the DOI itself follows as the template's link). None when there is nothing to fill."""
        if a.citation or not a.doi:
            return None
        try:
            item = self.references.get(a.doi)
        except BrokenCacheFile:
            return None  # `check` reports the file
        if item is None:
            return None
        key = repr(sorted(item.items()))
        if key not in self._rendered_refs:
            self._rendered_refs[key] = render_reference(item, with_doi=False)
        return self._rendered_refs[key]

    def _run(self, template: jinja2.Template, name: str, context: dict[str, Any]) -> str:
        try:
            return template.render(context)
        except jinja2.TemplateError as exc:
            line = _template_line(exc, name)
            raise TemplateError(f"{self._display(name)}:{line}:1: {exc}") from None

    def _to_html(self, mjml_src: str) -> str:
        return mjml_to_html(with_language(mjml_src, self.settings.language), self._display(HTML_TEMPLATE))


def mjml_to_html(mjml_src: str, where: str) -> str:
    """Rendered MJML → finished HTML: mjml-python (no web fonts, no comments), a check that no
    `<mj-…>` element was left unrendered, Outlook's table widths fitted inside their padding
    (`outlook.fit_widths`), then the `mj-style inline="inline"` CSS inlined.
    `where` names the template in errors. Raises TemplateError."""
    inline_css = "\n".join(_INLINE_STYLE.findall(mjml_src))
    mjml_src = _INLINE_STYLE.sub("", mjml_src)
    try:
        html = mjml.mjml2html(mjml_src, disable_comments=True, fonts={})
    except ValueError as exc:
        at = ""
        m = _POSITION.search(str(exc))
        if m:
            b = mjml_src.encode()
            start = int(m.group(1))
            line = b.count(b"\n", 0, start) + 1
            at = f" (rendered MJML line {line})"
        raise TemplateError(f"{where}: MJML error{at}: {exc}") from None
    left = re.search(r"<(mj-[a-z-]+)", html)
    if left:
        raise TemplateError(f"{where}: <{left.group(1)}> was not rendered by MJML (unknown or misplaced element)")
    return inline_css_faithfully(fit_widths(html), inline_css)


# Scripts written right to left (ISO 15924) and languages whose default script is one of them
_RTL_SCRIPTS = {"adlm", "arab", "hebr", "mand", "nkoo", "rohg", "samr", "syrc", "thaa", "yezi"}
_RTL_LANGUAGES = {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "syr", "ug", "ur", "yi"}


def text_direction(language: str) -> str:
    """"rtl" or "ltr" for a BCP 47 tag: by its script subtag if it has one (`az-Arab`), else by
    the language's usual script (`ar`, `he`, `fa`, `ur`)."""
    parts = language.lower().split("-")
    script = next((p for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    rtl = script in _RTL_SCRIPTS if script else parts[0] in _RTL_LANGUAGES
    return "rtl" if rtl else "ltr"


def with_language(mjml_src: str, language: str) -> str:
    """`<mjml lang="…" dir="…">` from the `language` setting where the template leaves them out
    (the shipped template writes `{{ language }}` and `{{ direction }}` itself): MJML puts both on
    <html> and on the body wrapper; without them it writes `lang="und"` and screen readers guess."""
    m = _MJML_ROOT.search(mjml_src)
    if m is None:
        return mjml_src
    attrs = m.group(1)
    if not re.search(r"\blang\s*=", attrs):
        attrs += f' lang="{escape(language)}"'
    if not re.search(r"\bdir\s*=", attrs):
        attrs += f' dir="{text_direction(language)}"'
    return f"{mjml_src[:m.start(1)]}{attrs}{mjml_src[m.end(1):]}"


def archive_url(settings: Settings, issue: Issue) -> str:
    return f"{settings.base_url}/archive/{issue.month}"


def inline_css_faithfully(html: str, css: str) -> str:
    """premailer, configured to leave MJML's output intact and only inline `css`.

    Its defaults would drop the lower-case doctype, strip `!important` from the responsive
    media queries, delete the column classes, rewrite image widths and fetch remote CSS.
    MJML's own <style> blocks are marked `data-premailer="ignore"` so they are kept verbatim.
    """
    if not css.strip():
        return html
    marked = html.replace("<style", '<style data-premailer="ignore"')
    out: str = _premailer().Premailer(
        marked, css_text=css, allow_network=False, keep_style_tags=True, strip_important=False,
        disable_validation=True, remove_classes=False, disable_basic_attributes=["width", "height"],
        include_star_selectors=False, exclude_pseudoclasses=True, cssutils_logging_level=logging.CRITICAL,
        disable_leftover_css=True, cache_css_parsing=True,
    ).transform()
    out = out.replace(' data-premailer="ignore"', "")
    if not out.lstrip().lower().startswith("<!doctype"):
        out = "<!doctype html>\n" + out
    return out


def _premailer() -> Any:
    """premailer, imported on first use (commands that never render do not pay for it). It
    imports `requests` at the top (about half its import time) only to fetch remote stylesheets,
    which it is never allowed to do here (allow_network=False); unless the real module is
    loaded already, an empty stand-in takes its place while premailer is imported."""
    if "premailer" in sys.modules or "requests" in sys.modules:
        import premailer

        return premailer
    stand_in = sys.modules["requests"] = types.ModuleType("requests", "premailer's; never used (no network)")
    try:
        import premailer
    finally:
        if sys.modules.get("requests") is stand_in:
            del sys.modules["requests"]
    return premailer


def _bullet(line: str) -> str:
    return "\n".join(wrap(line, WIDTH, "- ", "  "))


def _footer_line(label: str, marker: str, url_room: int) -> str:
    """`label URL` on one line when the longest URL the marker can become fits in 78 columns,
    else the URL on a line of its own (URLs are the only lines allowed past 78)."""
    return f"{label} {marker}" if len(label) + 1 + url_room <= LIMIT else f"{label}\n{marker}"


def _template_line(exc: BaseException, name: str) -> int:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return int(lineno)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(name) and frame.lineno:
            return frame.lineno
    return 1
