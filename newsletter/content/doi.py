"""DOI names as authors write them, and the https://doi.org/ link to each.

Syntax (ANSI/NISO Z39.84, DOI Handbook §2): `10.<registrant>/<suffix>`. The registrant code is
digits (four or more in practice), optionally followed by dot-separated sub-elements
(`10.1000.10/…`). The suffix is any printable characters except white space, `<>;()#?` and
non-ASCII included: Wiley's SICI-style DOIs of the 1990s read
`10.1002/(SICI)1098-2736(199908)36:6<637::AID-TEA4>3.0.CO;2-9`. DOIs are compared without regard
to case; the form the author wrote is kept for display.

Accepted spellings: the bare DOI, `doi:…` / `DOI: …`, and the resolver links `https://doi.org/…`,
`http://dx.doi.org/…`, with or without the scheme (`doi.org/…`, `dx.doi.org/…`). A link is
percent-decoded once (`%3C` → `<`); a bare DOI is taken literally (its `%` is a character).

The link (`url`) follows the DOI Handbook's "Encoding rules for URL presentation": `%`, `"`,
`#`, space and `?` must be percent-encoded, `< > { } ^ [ ] ` | \\ +` should be, non-ASCII is
UTF-8 percent-encoded, and a `/./` or `/../` keeps one slash encoded so browsers do not fold it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

RESOLVER = "https://doi.org/"
_SPELLINGS = re.compile(r"^(?:(?P<link>(?:https?://)?(?:dx\.|www\.)?doi\.org/)|doi:\s*)", re.IGNORECASE)
_SYNTAX = re.compile(r"(?P<prefix>10\.\d{4,}(?:\.\d+)*)/(?P<suffix>.+)", re.DOTALL)
# quote() never encodes letters, digits and "_.-~"; these are the rest of printable ASCII that
# the Handbook leaves as they are (its table encodes % " # space ? < > { } ^ [ ] ` | \ +)
_KEEP = "!$&'()*,/:;=@"
EXAMPLE = "10.1037/pst0000123"


class DOIError(ValueError):
    """Not a DOI; the message says why, for the author."""


@dataclass(frozen=True)
class DOI:
    """A DOI name: `prefix` (`10.1037`) and `suffix` (`pst0000172`), as written."""

    prefix: str
    suffix: str

    def __str__(self) -> str:
        return f"{self.prefix}/{self.suffix}"

    @property
    def key(self) -> str:
        """The DOI for comparisons: DOIs are case-insensitive (DOI Handbook §2.4)."""
        return str(self).casefold()

    @property
    def url(self) -> str:
        """The resolver link, percent-encoded as the DOI Handbook requires and recommends."""
        path = quote(str(self), safe=_KEEP)
        return RESOLVER + re.sub(r"/(\.\.?)/", r"/\1%2F", path)

    @property
    def display_url(self) -> str:
        """The link as people read it: `https://doi.org/` and the DOI as written (Crossref's
        display guidelines); for text, never for an href."""
        return RESOLVER + str(self)


def parse(text: str) -> DOI:
    """A DOI from any accepted spelling; raises DOIError with the reason."""
    value = text.strip()
    m = _SPELLINGS.match(value)
    if m:
        value = value[m.end():]
        if m.group("link"):
            try:
                value = unquote(value, errors="strict")
            except UnicodeDecodeError:
                raise DOIError(f"'{text.strip()}' is not a DOI link: its %-escapes are not UTF-8") from None
    found = _SYNTAX.fullmatch(value)
    if not found:
        raise DOIError(f"'{text.strip()}' is not a DOI (expected the form 10.NNNN/suffix, e.g. {EXAMPLE})")
    suffix = found.group("suffix")
    for c in suffix:
        if c.isspace():
            raise DOIError(f"'{text.strip()}' is not a DOI: a DOI has no spaces")
        if not c.isprintable():
            raise DOIError(f"'{text.strip()}' is not a DOI: U+{ord(c):04X} is not a printable character")
    return DOI(found.group("prefix"), suffix)


def is_resolver_link(text: str) -> bool:
    """Whether `text` is written as a doi.org / dx.doi.org link (with or without the scheme)."""
    m = _SPELLINGS.match(text.strip())
    return bool(m and m.group("link"))


def url(doi: str) -> str:
    """The https://doi.org/ link of a DOI written as `parse` accepts it."""
    return parse(doi).url


__all__ = ["DOI", "RESOLVER", "DOIError", "is_resolver_link", "parse", "url"]
