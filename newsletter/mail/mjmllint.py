"""A small MJML structure linter: MRML (mjml-python) renders invalid MJML without a word.

Checks element names and parent/child nesting of the MJML template source, so the error
names the template line an author can fix.
"""

from __future__ import annotations

from html.parser import HTMLParser

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
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[tuple[int, int, str]] = []

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
        if not self.stack or self.stack[-1] != tag:
            expected = f"</{self.stack[-1]}>" if self.stack else "nothing"
            self._report(f"closing </{tag}> does not match (expected {expected})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def lint(source: str) -> list[tuple[int, int, str]]:
    """Return (line, col, message) for every structural problem in MJML source."""
    p = _Linter()
    p.feed(source)
    p.close()
    for tag in reversed(p.stack):
        p.problems.append((source.count("\n") + 1, 1, f"<{tag}> is never closed"))
    return p.problems
