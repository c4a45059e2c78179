"""After a YAML syntax error: check the lines before it, so one typo does not hide every other
problem of the file.

The longest prefix of the file that ends before the first line the error involves (where an
unclosed bracket or quote started) and parses on its own is checked with the file's own schema.
What the cut itself may have broken is not reported: the nodes still open at the cut (the
mapping or list being written and its last value) may be missing keys, items or text that the
rest of the file holds. The syntax error then says how far the check went, or that nothing could
be checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .yamltree import Reader, YNode

MAX_TRIES = 200  # cuts tried, one line earlier each time, before giving up


def check_before_syntax_error(r: Reader, check: Callable[[Reader, YNode], object]) -> None:
    """If `r` stopped at a syntax error, run `check` (the file's schema, recording problems on
    the reader it is given) on the lines before it and add what it finds to `r`; the syntax
    error's message then ends with how many lines were checked. Does nothing otherwise.
    Needs the source the reader keeps of a content file (`Reader.lines`)."""
    if r.syntax_error is None:
        return
    error, first_line = r.syntax_error
    tree, kept = _parsable_prefix(r.path, r.lines, first_line - 1)
    if tree is not None:
        probe = Reader(r.path)
        check(probe, tree)
        open_nodes = _open_positions(tree)
        r.problems += [p for p in probe.problems if (p.line, p.col) not in open_nodes and p.line <= kept]
    note = (f"; only lines 1-{kept} could be checked" if tree is not None
            else "; nothing else in the file could be checked")
    i = r.problems.index(error)
    r.problems[i] = dataclasses.replace(error, message=error.message + note)
    r.syntax_error = (r.problems[i], first_line)
    r.problems.sort(key=lambda p: (p.line, p.col))  # in file order, the syntax error last


def _parsable_prefix(name: str, source: list[str], lines: int) -> tuple[YNode | None, int]:
    """The tree of the first `lines` lines of `source`, or of fewer when those do not parse (the
    cut may fall inside a quoted or flow value); (None, 0) when no prefix holds any value."""
    kept = source[:max(lines, 0)]
    for n in range(len(kept), max(len(kept) - MAX_TRIES, 0), -1):
        probe = Reader(name)
        tree = probe.parse("\n".join(kept[:n]) + "\n")
        if probe.syntax_error is None and tree is not None and tree.kind in ("map", "seq"):
            return tree, n
        if probe.problems and probe.syntax_error is None:
            break  # refused for another reason (an anchor, a tag): that reason is not ours to report
    return None, 0


def _open_positions(tree: YNode) -> set[tuple[int, int]]:
    """Where the nodes still open at the end of the prefix start: the root, its last value, that
    value's last value, and so on down to the last scalar."""
    out = set()
    node: YNode | None = tree
    while node is not None:
        out.add((node.line, node.col))
        if node.kind == "map" and isinstance(node.value, dict) and node.value:
            node = list(node.value.values())[-1]
        elif node.kind == "seq" and isinstance(node.value, list) and node.value:
            node = node.value[-1]
        else:
            node = None
    return out
