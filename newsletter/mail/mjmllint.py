"""A small MJML structure linter: MRML (mjml-python) renders invalid MJML without a word.

Checks element names and parent/child nesting of the MJML template source, so the error
names the template line an author can fix. A jinja2 `{% include "…" %}` is followed: the
included template is checked as if its elements stood where the include does, and its own
problems name its own file and line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from ..content.textfile import display_path

_INCLUDE = re.compile(r"""\{%-?\s*include\s+["']([^"']+)["']""")
_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
MAX_DEPTH = 10  # nested includes followed

_CONTENT = {"mj-text", "mj-image", "mj-button", "mj-divider", "mj-spacer", "mj-table", "mj-social",
            "mj-navbar", "mj-accordion", "mj-carousel", "mj-raw"}
_CHILDREN: dict[str, set[str]] = {
    "mjml": {"mj-head", "mj-body"},
    "mj-head": {"mj-attributes", "mj-breakpoint", "mj-font", "mj-preview", "mj-style", "mj-title",
                "mj-raw"},
    "mj-body": {"mj-section", "mj-wrapper", "mj-hero", "mj-raw"},
    "mj-wrapper": {"mj-section", "mj-hero", "mj-raw"},
    "mj-section": {"mj-column", "mj-group", "mj-raw"},
    "mj-group": {"mj-column", "mj-raw"},
    "mj-column": _CONTENT,
    "mj-hero": _CONTENT,
    "mj-social": {"mj-social-element", "mj-raw"},
    "mj-navbar": {"mj-navbar-link", "mj-raw"},
    "mj-accordion": {"mj-accordion-element", "mj-raw"},
    "mj-accordion-element": {"mj-accordion-title", "mj-accordion-text"},
    "mj-carousel": {"mj-carousel-image"},
    "mj-attributes": {"mj-all", "mj-class", *(
        ["mj-section", "mj-column", "mj-group", "mj-wrapper", "mj-hero", "mj-body"]), *_CONTENT},
}
_LEAF = {"mj-image", "mj-divider", "mj-spacer", "mj-breakpoint", "mj-font", "mj-all", "mj-class",
         "mj-carousel-image"}
# Elements whose content is HTML or text, not MJML.
_ENDING = {"mj-text", "mj-button", "mj-table", "mj-raw", "mj-style", "mj-title", "mj-preview",
           "mj-navbar-link", "mj-accordion-title", "mj-accordion-text", "mj-social-element"}
_KNOWN = set(_CHILDREN) | _LEAF | _ENDING | _CONTENT | {
    c for children in _CHILDREN.values() for c in children}


class _Linter(HTMLParser):
    def __init__(self, inside: Sequence[str] = ()) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = list(inside)
        self.floor = len(self.stack)  # the includer's elements: not ours to close
        self.problems: list[tuple[int, int, str]] = []
        self.includes: list[tuple[str, tuple[str, ...], int, int]] = []  # (name, stack there, line, col)

    def handle_data(self, data: str) -> None:
        line, col = self.getpos()
        for m in _INCLUDE.finditer(data):
            before = data[:m.start()]
            at = (line + before.count("\n"), (m.start() - before.rfind("\n") if "\n" in before else col + m.start() + 1))
            self.includes.append((m.group(1), tuple(self.stack), *at))

    def _report(self, message: str) -> None:
        line, col = self.getpos()
        self.problems.append((line, col + 1, message))

    def _in_ending(self) -> bool:
        return bool(self.stack) and self.stack[-1] in _ENDING

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, closes=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, closes=True)

    def _open(self, tag: str, closes: bool) -> None:
        is_mj = tag == "mjml" or tag.startswith("mj-")
        if self._in_ending():
            if is_mj:
                self._report(f"<{tag}> cannot appear inside <{self.stack[-1]}>")
            return
        if not is_mj:
            parent = self.stack[-1] if self.stack else "the document"
            self._report(f"HTML element <{tag}> directly inside <{parent}>; put it in an <mj-text>")
            return
        if tag not in _KNOWN:
            self._report(f"unknown MJML element <{tag}>")
        elif not self.stack:
            if tag != "mjml":
                self._report(f"the root element must be <mjml>, not <{tag}>")
        else:
            parent = self.stack[-1]
            allowed = _CHILDREN.get(parent, set())
            if tag not in allowed:
                self._report(f"<{tag}> cannot be used inside <{parent}>")
        if not closes:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        is_mj = tag == "mjml" or tag.startswith("mj-")
        if not is_mj:
            return
        if len(self.stack) <= self.floor or self.stack[-1] != tag:
            expected = f"</{self.stack[-1]}>" if len(self.stack) > self.floor else "nothing"
            self._report(f"closing </{tag}> does not match (expected {expected})")
            if tag in self.stack[self.floor:]:
                while len(self.stack) > self.floor and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def lint(source: str) -> list[tuple[int, int, str]]:
    """Return (line, col, message) for every structural problem in MJML source."""
    return _lint(source)[0]


def _lint(source: str, inside: Sequence[str] = ()) -> tuple[list[tuple[int, int, str]],
                                                            list[tuple[str, tuple[str, ...], int, int]]]:
    p = _Linter(inside)
    # a jinja2 comment may name elements ("included inside <mj-head>"): blanked, lines kept
    p.feed(_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), source))
    p.close()
    for tag in reversed(p.stack[p.floor:]):
        p.problems.append((source.count("\n") + 1, 1, f"<{tag}> is never closed"))
    return p.problems, p.includes


def lint_template(folder: Path, name: str) -> list[str]:
    """Every structural problem of template `name` in `folder` and of the templates it includes,
    as `path:line:col: message` lines (an include that cannot be read is one problem at its
    line; a missing main template raises FileNotFoundError)."""
    out: list[str] = []
    _lint_file(folder, name, (), out, 0)
    return out


def _lint_file(folder: Path, name: str, inside: tuple[str, ...], out: list[str], depth: int) -> None:
    path = folder / name
    source = path.read_text(encoding="utf-8")
    problems, includes = _lint(source, inside)
    out += [f"{display_path(path)}:{line}:{col}: {msg}" for line, col, msg in problems]
    for child, stack, line, col in includes:
        if depth >= MAX_DEPTH:
            out.append(f"{display_path(path)}:{line}:{col}: includes nested deeper than {MAX_DEPTH}")
            continue
        try:
            _lint_file(folder, child, stack, out, depth + 1)
        except OSError as exc:
            out.append(f"{display_path(path)}:{line}:{col}: cannot read included template {child!r} "
                       f"({exc.strerror})")
        except UnicodeDecodeError:
            out.append(f"{display_path(path)}:{line}:{col}: included template {child!r} is not UTF-8")
