"""Header value hygiene: the email package lets a trailing newline and NUL through."""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, C1 controls, and Unicode line/paragraph separators and bidi
# overrides, which have no business in a header and can disguise one.
_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class HeaderValueError(ValueError):
    pass


def check_header_value(value: str, what: str) -> str:
    m = _BAD.search(value)
    if m:
        raise HeaderValueError(f"{what} contains the character U+{ord(m.group()):04X}, which is not allowed "
                               "in a mail header (line breaks, control characters, bidi overrides)")
    return value
