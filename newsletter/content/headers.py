"""Header value hygiene: the email package lets a trailing newline and NUL through."""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, C1 controls, Unicode line/paragraph separators and bidi
# overrides, which have no business in a header and can disguise one; lone surrogates (half of
# a UTF-16 pair, e.g. from undecodable command-line bytes) and noncharacters, which are not text.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(chr(p << 16 | 0xFFFE) + chr(p << 16 | 0xFFFF) for p in range(17))
_BAD = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
                  + _NONCHARACTERS + "]")
_BLANKS = re.compile(r"\s{2,}|\t")


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
        if 0xFDD0 <= c <= 0xFDEF or c & 0xFFFE == 0xFFFE:
            raise HeaderValueError(f"{what} contains U+{c:04X}, a Unicode noncharacter, which is not text")
        raise HeaderValueError(f"{what} contains the character U+{c:04X}, which is not allowed "
                               "in a mail header (line breaks, control characters, bidi overrides)")
    return value


def single_spaced(name: str) -> str:
    """A display name as mail programs read it (RFC 5322 §3.2.2): a tab or a run of white space
    as one space, none at the ends; a single no-break or ideographic space is kept."""
    return _BLANKS.sub(" ", name).strip()
