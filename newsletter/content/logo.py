"""The optional `logo:` of newsletter.yaml: an image at the top of every message.

    logo:
      url: https://news.example.org/logo.png   # https only; the same URL for every reader
      alt: Practice Research Digest            # required: what the image says, for screen
                                               # readers and for clients that block images
      width: 180                               # optional, in pixels (16-552; default 160)

Mail clients fetch the image when the reader opens the message, so it must be a fixed URL:
one that differs per reader would be a tracking pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import schema
from .yamltree import Reader, YNode

DEFAULT_WIDTH = 160
MAX_WIDTH = 552  # the 600px message less its side padding


@dataclass(frozen=True)
class Logo:
    url: str  # absolute https URL
    alt: str  # one line, never empty
    width: int  # pixels; the height follows the image's proportions


def parse_logo(r: Reader, node: YNode) -> Logo | None:
    """The `logo:` mapping; problems (located) are recorded on `r` and give None."""
    m = schema.mapping(r, node, "logo", ["url", "alt"], ["width"])
    if m is None:
        return None
    url = schema.http_url(r, m.get("url"), "logo.url", https_only=True)
    alt = schema.text(r, m.get("alt"), "logo.alt", single_line=True, max_len=200)
    width = DEFAULT_WIDTH
    wnode = m.get("width")
    if wnode is not None:
        try:
            width = int(str(wnode.value)) if wnode.kind == "int" else 0
        except ValueError:  # YAML 1.1 octal/hex/sexagesimal forms
            width = 0
        if not 16 <= width <= MAX_WIDTH:
            got = str(wnode.value) if wnode.kind == "int" else wnode.describe()
            r.problem(wnode.line, wnode.col, "logo.width",
                      f"expected a whole number of pixels from 16 to {MAX_WIDTH}, got {got}")
            return None
    if url is None or alt is None:
        return None
    return Logo(url, alt, width)
