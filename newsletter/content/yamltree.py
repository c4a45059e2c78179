"""Read YAML into a tree of located nodes, refusing everything a content file never needs.

PyYAML's event stream (libyaml when available) is turned into `YNode`s by an explicit stack,
so deep nesting cannot exhaust Python's recursion, aliases (billion laughs) are refused
before they can expand, duplicate keys are reported with both lines, and every value keeps
its line and column for error messages. Plain scalars keep their resolved YAML type so the
schema can refuse `no` or `1.10` where it expects text instead of silently coercing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml import events as ev

from ..errors import InputError, Problem
from .textfile import line_col, read_text
from .yamlhints import INDICATOR_HINT, Note, scalar_notes, syntax_message

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

_RESOLVER = yaml.resolver.Resolver()
_SCALAR_KINDS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "timestamp",
}
# C0/C1 controls (TAB and line ends aside), lone surrogates and Unicode noncharacters: never
# text, whether typed or written as an escape ("\0", "\e", "\uFFFE")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\ud800-\udfff\ufdd0-\ufdef"
                      + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
                      + "]")
MAX_DEPTH = 32
_NESTING_LIMIT = re.compile(r"nesting depth|nest(ing)? level", re.IGNORECASE)  # libyaml's own limit
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"

Value = dict[str, "YNode"] | list["YNode"] | str
@dataclass
class YNode:
    kind: str  # map | seq | str | int | float | bool | null | timestamp
    value: Value
    line: int
    col: int
    key_lines: dict[str, tuple[int, int]] = field(default_factory=dict)
    style: str = ""  # of a scalar: '' plain, "'", '"', '|' or '>'
    notes: tuple[Note, ...] = ()

    def describe(self) -> str:
        if self.kind in ("map", "seq"):
            return "a mapping" if self.kind == "map" else "a list"
        names = {"int": "a number", "float": "a number", "bool": "a boolean",
                 "null": "nothing", "timestamp": "a date", "str": "text"}
        if self.kind == "null":  # `null`, `Null`, `NULL`, `~`: YAML's "no value", not the word
            return f"YAML's null ({self.value!r})" if self.value else "nothing"
        return f"{names[self.kind]} ({self.value!r})"


class Reader:
    """Collects problems for one file; `problem()` records, `fail()` raises all at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.problems: list[Problem] = []
        self.lines: list[str] = []  # the source, when kept (not for a streamed list)
        # the YAML syntax error that stopped parsing, and the first line it involves (where an
        # unclosed bracket or quote started): the lines before it may still be worth checking
        self.syntax_error: tuple[Problem, int] | None = None

    def problem(self, line: int, col: int, fieldpath: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, col, fieldpath, message))

    def warn(self, line: int, col: int, fieldpath: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, col, fieldpath, message, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InputError(self.problems)

    def load(self, max_bytes: int, on_item: Callable[[YNode], None] | None = None) -> YNode | None:
        """Read, decode and parse the file; None (with problems recorded) if impossible.

        With `on_item`, each element of a top-level list is handed over as soon as it is
        complete instead of being kept, so a long subscriber list needs little memory.
        """
        text = self._read_text(max_bytes)
        if text is None or not self._no_controls(text):
            return None
        # libyaml reads UTF-8: given bytes it needs no copy of its own, and the decoded text (up
        # to four bytes a character) need not stay alive while a long list is parsed
        data = text.encode("utf-8")
        if on_item is None:  # a content file: small, kept to see comments and locate text
            self.lines = text.split("\n")
        del text
        return self._parse(data, on_item)

    def _read_text(self, max_bytes: int) -> str | None:
        return read_text(Path(self.path), max_bytes, lambda line, col, message: self.problem(line, col, "", message))

    def parse(self, text: str, on_item: Callable[[YNode], None] | None = None) -> YNode | None:
        # libyaml skips a byte-order mark without counting it: marks index the text without it
        text = text.removeprefix("\ufeff")
        if not self._no_controls(text):
            return None
        if on_item is None:
            self.lines = text.split("\n")
        return self._parse(text, on_item)

    def locate(self, node: YNode, line: int, col: int) -> tuple[int, int]:
        """File line:col (1-based) of 0-based `line`:`col` within a text scalar's value: exact
        in a `|` block and on the first line of a plain or quoted value, else the value's start."""
        if node.style == "|" and self.lines:
            first = node.line  # the line after the indicator, 0-based
            content = [ln for ln in self.lines[first:first + line + 1] if ln.strip()]
            indent = len(content[0]) - len(content[0].lstrip(" ")) if content else 0
            return first + line + 1, indent + col + 1
        if line == 0 and node.style in ("", "'", '"'):
            return node.line, node.col + col + (1 if node.style else 0)
        return node.line, node.col

    def _no_controls(self, text: str) -> bool:
        bad = False
        for m in _CONTROL.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            self.problem(line, col, "", _refused(m.group()))
            bad = True
            if len(self.problems) > 50:
                break
        return not bad

    def _parse(self, source: str | bytes, on_item: Callable[[YNode], None] | None) -> YNode | None:
        try:
            return self._build(source, on_item)
        except yaml.MarkedYAMLError as exc:
            text = source.decode("utf-8") if isinstance(source, bytes) else source
            mark = exc.problem_mark or exc.context_mark
            if mark and _NESTING_LIMIT.search(exc.problem or ""):
                self._too_deep(text, mark.index, mark.line + 1, mark.column + 1)
                return None
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            what = syntax_message(exc, text)
            self.problem(line, col, "", f"YAML syntax error: {what}")
            ctx = exc.context_mark  # e.g. where the unclosed bracket or quote started
            first = min(line, ctx.line + 1) if ctx else line
            self.syntax_error = (self.problems[-1], first)
        except yaml.reader.ReaderError as exc:
            text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
            line, col = line_col(text, exc.position)
            self.problem(line, col, "", f"character U+{exc.character:04X} is not allowed in YAML"
                         if isinstance(exc.character, int) else "unreadable character in YAML")
        except yaml.YAMLError as exc:  # never PyYAML's own multi-line text
            self.problem(1, 1, "", f"YAML could not be read ({type(exc).__name__})")
        return None

    def _too_deep(self, text: str, index: int, line: int, col: int) -> None:
        """Report excessive nesting at the level where MAX_DEPTH is passed.

        libyaml (PyYAML >= 6.0.4) has a nesting limit of its own (1,000 levels) in its scanner,
        which reads ahead of the events while a flow collection may still turn out to be a key:
        its error can come before our check in `_build` has seen level MAX_DEPTH + 1. The text
        before libyaml's mark is within its limit, so building that prefix meets our check at
        the right place; the mark itself is the fallback.
        """
        probe = Reader(self.path)
        try:
            probe._build(text[:index], None)
        except yaml.YAMLError:
            pass  # the prefix ends mid-document; only a depth problem before that end matters
        deep = [p for p in probe.errors if p.message.startswith("document nested too deeply")]
        if deep:
            self.problem(deep[0].line, deep[0].col, "", deep[0].message)
        else:
            self.problem(line, col, "", f"document nested too deeply (over {MAX_DEPTH} levels)")

    def _build(self, source: str | bytes, on_item: Callable[[YNode], None] | None) -> YNode | None:
        root: YNode | None = None
        stack: list[tuple[YNode, list[YNode | str]]] = []  # node, pending key for maps
        docs = 0
        handed = 0  # top-level items given to on_item (they are not kept in the tree)
        controls = tainted = False  # a control character anywhere / in the current list item
        control = _CONTROL.search
        scalar, map_start, seq_start = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
        ends = (ev.MappingEndEvent, ev.SequenceEndEvent)
        resolve, kinds, ynode = _RESOLVER.resolve, _SCALAR_KINDS, YNode
        lines = self.lines
        for e in yaml.parse(source, Loader=_Loader):
            cls = e.__class__
            if cls is scalar:
                mark = e.start_mark
                if e.anchor is not None:
                    self.problem(mark.line + 1, mark.column + 1, "",
                                 f"YAML anchors (&{e.anchor}) are not allowed{INDICATOR_HINT}")
                    return None
                tag = e.tag
                if e.style:  # quoted or block scalar without an explicit tag: text
                    kind = "str" if tag in (None, "!") else kinds.get(tag)
                else:
                    if tag in (None, "!"):
                        tag = resolve(yaml.ScalarNode, e.value, e.implicit)
                    kind = kinds.get(tag)
                if kind is None:
                    local = str(tag).startswith("!") and not str(tag).startswith("!!")  # `!important`
                    self.problem(mark.line + 1, mark.column + 1, "", f"unsupported YAML tag "
                                 f"{_short(tag)}{INDICATOR_HINT if local else ''}")
                    return None
                node = ynode(kind, e.value, mark.line + 1, mark.column + 1)
                if lines and kind in ("str", "null") and (e.style in ("", ">") or e.style is None):
                    node.style = e.style or ""
                    node.notes = scalar_notes(e, kind, lines)
                elif e.style:
                    node.style = e.style
                c = control(e.value)  # written as an escape ("\0", "\e") in a quoted scalar
                if c is not None:
                    self.problem(node.line, node.col, self._where(stack, handed, slot=True),
                                 _refused(c.group()))
                    controls = tainted = True
                if on_item is not None and len(stack) == 1 and stack[0][0].kind == "seq":
                    if not tainted:
                        on_item(node)
                    tainted = False
                    handed += 1
                elif stack:
                    self._attach(stack, node, handed)
                else:
                    root = node
            elif cls in ends:
                done, _ = stack.pop()
                if on_item is not None and len(stack) == 1 and stack[0][0].kind == "seq":
                    if not tainted:
                        on_item(done)
                    tainted = False
                    handed += 1
                elif stack:
                    self._attach(stack, done, handed)
                else:
                    root = done
            elif cls is map_start or cls is seq_start:
                mark = e.start_mark
                line, col = mark.line + 1, mark.column + 1
                if e.anchor is not None:
                    self.problem(line, col, "", f"YAML anchors (&{e.anchor}) are not allowed")
                    return None
                is_map = cls is map_start
                if e.tag not in (None, "!", _MAP_TAG if is_map else _SEQ_TAG):
                    self.problem(line, col, "", f"unsupported YAML tag {_short(e.tag)}")
                    return None
                if len(stack) >= MAX_DEPTH:
                    self.problem(line, col, "", f"document nested too deeply (over {MAX_DEPTH} levels)")
                    return None
                stack.append((ynode("map" if is_map else "seq", {} if is_map else [], line, col), []))
            elif cls is ev.AliasEvent:
                mark = e.start_mark
                self.problem(mark.line + 1, mark.column + 1, "",
                             f"YAML aliases (*name) are not allowed{INDICATOR_HINT}")
                return None
            elif cls is ev.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    self.problem(e.start_mark.line + 1, e.start_mark.column + 1, "",
                                 "only one YAML document per file is allowed (remove '---')")
                    return None
        return None if controls else root

    def _attach(self, stack: list[tuple[YNode, list[YNode | str]]], child: YNode,
                handed: int) -> None:
        node, pending = stack[-1]
        if node.kind == "seq":
            assert isinstance(node.value, list)
            node.value.append(child)
            return
        assert isinstance(node.value, dict)
        if not pending:
            if child.kind in ("map", "seq"):
                self.problem(child.line, child.col, "", "a key must be plain text")
                pending.append("\x00invalid")
                return
            key = str(child.value)
            if key in node.value or key in node.key_lines:
                first = node.key_lines[key][0]
                self.problem(child.line, child.col, _join(self._where(stack, handed), key),
                             f"duplicate key '{key}' (first defined on line {first})")
                pending.append("\x00dup")
                return
            node.key_lines[key] = (child.line, child.col)
            pending.append(key)
        else:
            key = str(pending.pop())
            if not key.startswith("\x00"):
                node.value[key] = child


    @staticmethod
    def _where(stack: list[tuple[YNode, list[YNode | str]]], handed: int, *,
               slot: bool = False) -> str:
        """The field path (`articles[1].topics`) of the innermost open node, for messages.

        A node being built is not yet attached: its key is still pending in the parent mapping,
        and its index in a list is the parent's current length (plus, for the top-level list
        streamed to `on_item`, the number of items handed over). With `slot`, the path goes on
        to the place in the innermost node that the next value will take.
        """
        path = ""
        for i, (parent, pending) in enumerate(stack):
            if i == len(stack) - 1 and not slot:
                break
            if parent.kind == "map":
                if pending:
                    key = str(pending[-1])
                    path = _join(path, "?" if key.startswith("\x00") else key)
            else:
                assert isinstance(parent.value, list)
                path += f"[{len(parent.value) + (handed if i == 0 else 0)}]"
        return path


def _refused(c: str) -> str:
    o = ord(c)
    kind = ("lone surrogate" if 0xD800 <= o <= 0xDFFF else "noncharacter"
            if 0xFDD0 <= o <= 0xFDEF or o & 0xFFFE == 0xFFFE else "control character")
    return f"{kind} U+{o:04X} is not allowed"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def text_of(node: YNode) -> str:
    assert isinstance(node.value, str)
    return node.value


def _short(tag: str | None) -> str:
    return str(tag).replace("tag:yaml.org,2002:", "!!")
