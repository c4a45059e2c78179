"""Header value hygiene: the email package lets a trailing newline and NUL through."""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, C1 controls, Unicode line/paragraph separators and bidi
# overrides, which have no business in a header and can disguise one, and lone surrogates
# (half of a UTF-16 pair, e.g. from undecodable command-line bytes), which are not characters.
_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_BLANKS = re.compile(r"[ \t]+")


class HeaderValueError(ValueError):
    pass


def check_header_value(value: str, what: str) -> str:
    """`value` unchanged, or HeaderValueError naming the first character no header may carry."""
    m = _BAD.search(value)
    if m:
        c = ord(m.group())
        if 0xD800 <= c <= 0xDFFF:
            raise HeaderValueError(f"{what} contains U+{c:04X}, a lone surrogate (half of a UTF-16 pair), "
                                   "which is not a character")
        raise HeaderValueError(f"{what} contains the character U+{c:04X}, which is not allowed "
                               "in a mail header (line breaks, control characters, bidi overrides)")
    return value


def single_spaced(name: str) -> str:
    """A display name as mail programs read it (RFC 5322 §3.2.2): runs of spaces and tabs as
    one space, none at the ends."""
    return _BLANKS.sub(" ", name).strip(" \t")
