"""The few sentences the tool writes itself: the greeting, the partial-copy notice, the preheader.

Shared by the HTML and the plain-text part so both say exactly the same words.
"""

from __future__ import annotations

from . import markup

_NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_HONORIFICS = {"dr", "prof", "mr", "mrs", "ms", "mx", "miss", "sir", "dame", "rev", "fr"}
PREHEADER_LIMIT = 140  # characters: the longest inbox snippet shown (Apple Mail, Outlook)
SPACER_PAIRS = 90  # "&zwnj;&nbsp;" pairs after the preheader, so no body text runs into the snippet


def number_word(n: int) -> str:
    """0–10 as words ("three"), larger numbers as digits."""
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


def partial_notice(held: int, total: int) -> str:
    """What a copy with only some of the month's articles says at the top ("This copy has two of
    this month's three articles, the ones on your topics. The other one is listed at the end,
    under “Also this month”."); "" for a full copy."""
    if held >= total:
        return ""
    others = total - held
    which = "the one on your topics" if held == 1 else "the ones on your topics"
    rest = ("The other one is listed" if others == 1 else f"The other {number_word(others)} are listed")
    return (f"This copy has {number_word(held)} of this month's {number_word(total)} articles, {which}. "
            f"{rest} at the end, under \u201cAlso this month\u201d.")


def first_name(name: str) -> str:
    """The word a greeting uses: the first word of `name` that is not a title ("Dr. Ana Lee" →
    "Ana"); "" when there is none. Names written family name first are greeted by it."""
    words = name.split()
    while words and words[0].rstrip(".").casefold() in _HONORIFICS and len(words) > 1:
        words = words[1:]
    return words[0].strip(",") if words else ""


def greeting(name: str) -> str:
    """"Hello Ana," for a subscriber with a name, "" (no greeting at all) without one."""
    first = first_name(name)
    return f"Hello {first}," if first else ""


def preheader(intro: str, limit: int = PREHEADER_LIMIT) -> str:
    """The inbox snippet: the intro as one line of plain text, cut at a word within `limit`."""
    plain = markup.to_plain(intro)
    if len(plain) <= limit:
        return plain
    return plain[:limit].rsplit(" ", 1)[0] + "…"
