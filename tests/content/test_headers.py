"""headers: control characters the email package would let through are refused."""

from __future__ import annotations

import pytest

from newsletter.content.headers import HeaderValueError, check_header_value


@pytest.mark.parametrize("bad", ["a\r\nBcc: x@example.com", "trailing\n", "nul\x00", "esc\x1b[31m",
                                 "vt\x0b", "ff\x0c", "nel\x85", "ls\u2028", "rlo\u202e"])
def test_refused(bad: str) -> None:
    with pytest.raises(HeaderValueError, match="not allowed in a mail header"):
        check_header_value(bad, "subject")


@pytest.mark.parametrize("ok", ["Plain", "Tab\tok", "Zoë Müller 研究所", "emoji 🧠", "a, \"b\" <c>"])
def test_allowed(ok: str) -> None:
    assert check_header_value(ok, "subject") == ok
