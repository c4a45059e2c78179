"""A Markdown table in the plain-text part: aligned columns when they fit, else a list."""

from __future__ import annotations

from .plaintext import wrap

GAP = "  "


def layout(rows: list[list[str]], aligns: list[str], width: int) -> list[str]:
    """Lines for a table whose first row is the header; `aligns` per column is 'left', 'right',
    'center' or '' (left). Columns padded to their widest cell, separated by two spaces, a rule
    of dashes under the header, if every line fits in `width`; otherwise one list item per row,
    `header: value` a line, which fits any width (long words excepted)."""
    ncols = max(len(r) for r in rows)
    rows = [r + [""] * (ncols - len(r)) for r in rows]
    aligns = aligns + [""] * (ncols - len(aligns))
    widths = [max(len(r[c]) for r in rows) for c in range(ncols)]
    if sum(widths) + len(GAP) * (ncols - 1) <= width:
        rule = GAP.join("-" * w for w in widths)
        lines = [_row(rows[0], widths, aligns), rule] + [_row(r, widths, aligns) for r in rows[1:]]
        return [ln.rstrip() for ln in lines]
    return _as_list(rows, width)


def _row(cells: list[str], widths: list[int], aligns: list[str]) -> str:
    out = []
    for cell, w, a in zip(cells, widths, aligns):
        out.append(cell.rjust(w) if a == "right" else cell.center(w) if a == "center" else cell.ljust(w))
    return GAP.join(out)


def _as_list(rows: list[list[str]], width: int) -> list[str]:
    header, body = rows[0], rows[1:]
    lines: list[str] = []
    for r in body:
        for c, (name, cell) in enumerate(zip(header, r)):
            text = f"{name}: {cell}" if name else cell
            lines.extend(wrap(text, width, "- " if c == 0 else "  ", "  " if c == 0 else "    "))
    return lines
