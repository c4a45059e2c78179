"""Small typed accessors over `YNode` trees that record located problems instead of raising."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import yaml

from . import doi as doi_names
from . import prose as markdown
from .yamltree import Reader, YNode

_LINE_BREAKS = ("\n", "\r", "\u2028", "\u2029", "\u0085")
MAX_URL = 2000


def mapping(r: Reader, node: YNode, path: str, required: Iterable[str],
            optional: Iterable[str]) -> dict[str, YNode] | None:
    """Check a mapping's keys: every required key present, no unknown keys."""
    if node.kind != "map":
        r.problem(node.line, node.col, path, f"expected a mapping, got {node.describe()}")
        return None
    assert isinstance(node.value, dict)
    req, opt = list(required), list(optional)
    allowed = set(req) | set(opt)
    for key, (line, col) in node.key_lines.items():
        if key not in allowed:
            hint = _did_you_mean(key, sorted(allowed))
            r.problem(line, col, _join(path, key), f"unknown key '{key}'{hint}")
    for key in req:
        if key not in node.key_lines:
            r.problem(node.line, node.col, path or key, f"missing required key '{key}'")
    return node.value


_QUOTE_HINT = " (put it in quotes if you mean the text)"


def text(r: Reader, node: YNode | None, path: str, *, max_len: int = 100_000,
         required: bool = True, single_line: bool = False, words: bool = False) -> str | None:
    """A string value. Every YAML 1.1/1.2 special scalar (booleans, numbers, dates, `null`,
    `~`, `y`, `0o17`) is refused with a quoting hint, never coerced or dropped. With `words`
    (prose and titles), a same-line comment after a plain value is refused (the text would end
    before it) and list or table lines in a folded (>) block get a warning."""
    if node is None:
        return None
    if words and not _whole(r, node, path):
        return None
    if node.kind != "str":
        if node.kind == "null" and not node.value and not required:
            return None  # an empty value: no value
        hint = _QUOTE_HINT if node.kind not in ("map", "seq") and node.value else ""
        if node.kind == "null" and node.value and not required:
            hint = " (put it in quotes if you mean the text, or leave the key out for none)"
        r.problem(node.line, node.col, path, f"expected text, got {node.describe()}{hint}")
        return None
    for note in node.notes:
        if note.kind == "special":
            r.problem(note.line, note.col, path,
                      f"'{node.value}' is {note.text}, ambiguous as text{_QUOTE_HINT}")
            return None
    value = str(node.value)
    if required and not value.strip():
        r.problem(node.line, node.col, path, "must not be empty")
        return None
    if len(value) > max_len:
        r.problem(node.line, node.col, path, f"is {len(value):,} characters; the limit is {max_len:,}")
        return None
    if single_line and any(c in value.strip() for c in _LINE_BREAKS):
        r.problem(node.line, node.col, path, "must be a single line")
        return None
    return value.strip() if single_line else value


def _whole(r: Reader, node: YNode, path: str) -> bool:
    """False (with the problem recorded) if YAML cut the text short at a comment."""
    ok = True
    for note in node.notes:
        if note.kind == "comment":
            kept = f"the text ends at {str(node.value)!r}" if node.value else "the value is empty"
            r.problem(note.line, note.col, path,
                      f"'{note.text}' is read as a YAML comment, so {kept}; put the whole value in "
                      "quotes (\"...\") or use a '|' block, or put the comment on a line of its own")
            ok = False
        elif note.kind == "folded":
            r.warn(note.line, note.col, path,
                   f"'{note.text}' is Markdown list or table syntax in a folded block ('>'), which "
                   "joins its lines into one paragraph; use '|' to keep the lines")
    return ok


def prose(r: Reader, node: YNode | None, path: str, *, max_len: int) -> str | None:
    """Markdown text (`intro`, `summary`, `implications`): `text` with `words`, then every
    construct outside the supported subset (content/prose.py) located in the file."""
    value = text(r, node, path, max_len=max_len, words=True)
    if value is None or node is None:
        return value
    found = markdown.problems(value)
    for p in found:
        line, col = r.locate(node, p.line, p.col)
        r.problem(line, col, path, p.message)
    return None if found else value


def text_list(r: Reader, node: YNode | None, path: str) -> list[tuple[str, YNode]]:
    """A list of strings (or one string): returns (value, node) pairs for located errors."""
    if node is None:
        return []
    if node.kind == "str":
        return [(str(node.value), node)]
    if node.kind != "seq":
        r.problem(node.line, node.col, path, f"expected a list, got {node.describe()}")
        return []
    out = []
    assert isinstance(node.value, list)
    for i, item in enumerate(node.value):
        v = text(r, item, f"{path}[{i}]", single_line=True, max_len=200)
        if v is not None:
            out.append((v, item))
    return out


def number(r: Reader, node: YNode | None, path: str, default: float, lo: float, hi: float) -> float:
    """A number between lo and hi (YAML 1.1 spellings read as PyYAML reads them), else `default`
    with a located problem."""
    if node is None:
        return default
    if node.kind not in ("int", "float"):
        r.problem(node.line, node.col, path, f"expected a number, got {node.describe()}")
        return default
    # YAML 1.1 numbers include 0x10, 0o17, 1:30 (base 60), .inf and .nan; let PyYAML read them
    scalar = yaml.ScalarNode(f"tag:yaml.org,2002:{node.kind}", str(node.value))
    constructor = yaml.constructor.SafeConstructor()
    read = constructor.construct_yaml_int if node.kind == "int" else constructor.construct_yaml_float
    value = float(read(scalar))
    if not lo <= value <= hi:  # also refuses nan
        r.problem(node.line, node.col, path, f"must be between {lo:g} and {hi:g}, got {value:g}")
        return default
    return value


def http_url(r: Reader, node: YNode | None, path: str, *, https_only: bool = False) -> str | None:
    value = text(r, node, path, single_line=True, max_len=MAX_URL)
    if value is None or node is None:
        return None
    problem = url_problem(value, https_only=https_only)
    if problem:
        r.problem(node.line, node.col, path, problem)
        return None
    return value


def url_problem(value: str, *, https_only: bool = False) -> str | None:
    if any(c.isspace() for c in value) or any(ord(c) < 32 or c in '"<>\\^`{|}' for c in value):
        return f"URL {value!r} contains spaces or characters that must be percent-encoded"
    parts = urlsplit(value)
    allowed = ("https",) if https_only else ("http", "https")
    if parts.scheme.lower() not in allowed:
        return f"URL must start with {' or '.join(s + '://' for s in allowed)}, got {value!r}"
    if not parts.hostname or "." not in parts.hostname:
        return f"URL {value!r} has no valid host name"
    if "@" in parts.netloc:  # https://www.bank.example@evil.example/ shows one host, opens another
        return f"URL {value!r} must not contain a user name or password"
    try:
        _ = parts.port
    except ValueError:
        return f"URL {value!r} has an invalid port"
    return None


def doi(r: Reader, node: YNode | None, path: str) -> str | None:
    """A DOI in any spelling `content.doi` accepts, returned as written without `doi:` or the
    resolver link (see content/doi.py for the syntax and the link)."""
    value = text(r, node, path, single_line=True, max_len=300)
    if value is None or node is None:
        return None
    try:
        return str(doi_names.parse(value))
    except doi_names.DOIError as exc:
        r.problem(node.line, node.col, path, str(exc))
        return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


did_you_mean = _did_you_mean
