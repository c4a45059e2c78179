"""The header fields that carry human text, as wire bytes: RFC 2047 encoded-words, RFC 5322 folding.

Subject (unstructured), the display names of From, Reply-To and To, and the List-Id phrase
(RFC 2919) may hold any text: accents, emoji, combining marks, right-to-left scripts, CJK, at
any length. Text that is plain printable ASCII is written as it is and folded at its spaces;
anything else is written as UTF-8 encoded-words of at most 75 characters (RFC 2047 §2), each
holding whole characters (§5), one per line after the first, so every line stays within 76
characters and decoders, which drop the white space between adjacent encoded-words (§6.2),
give back exactly the text, spaces included. Addresses are never encoded (§5): a non-ASCII
local part is written as raw UTF-8 (RFC 6532), for SMTPUTF8 delivery only.

Why not `email.policy`: Python 3.11's folder encodes a value short enough for one line as an
ASCII header *source* (UnicodeEncodeError on a short accented subject), may move the space
between two encoded-words into the folding white space where decoders drop it (CPython
gh-144156, fixed upstream in 2026), and collapses runs of spaces in display names.
"""

from __future__ import annotations

import base64
import re

from ..content.headers import check_header_value

MAX_LINE = 76  # RFC 2047 §2: a line holding an encoded-word is at most 76 characters
MAX_WORD = 75  # RFC 2047 §2: an encoded-word is at most 75 characters
_MAX_PLAIN_WORD = 60  # a longer word is encoded, so that it can be split and every line fits in 76
_PLAIN_TEXT = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")  # single spaces, none at the ends
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# RFC 2047 §5 (3): the characters a 'Q' encoded-word in a phrase may carry as themselves; the
# strictest of the three contexts, so the same words are valid in Subject and in phrases.
_Q_LITERAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_BYTE = [chr(b) if b in _Q_LITERAL else "_" if b == 0x20 else f"={b:02X}" for b in range(256)]
_Q_PREFIX, _B_PREFIX, _SUFFIX = "=?utf-8?q?", "=?utf-8?b?", "?="


def unstructured(name: str, value: str) -> bytes:
    """`Name: value` + CRLF for an unstructured field (Subject), folded to lines of at most
    76 characters. Raises `content.headers.HeaderValueError` for control characters, line
    breaks, bidi overrides and lone surrogates."""
    if not value:
        return f"{name}:\r\n".encode()
    if _PLAIN_TEXT.fullmatch(value) and _short_words(value):
        return _fold(f"{name}:", value.split(" "))
    check_header_value(value, name)
    return _fold(f"{name}:", _encoded_words(value, MAX_LINE - len(name) - 2))


def phrase_words(text: str, first_budget: int) -> list[str]:
    """An RFC 5322 phrase (a display name, the List-Id phrase) as the words to fold: plain
    atoms, one quoted-string, or encoded-words. `first_budget` is the room on the first line."""
    if _ATOMS.fullmatch(text) and _short_words(text):
        return text.split(" ")
    if _PLAIN_TEXT.fullmatch(text) and "=?" not in text:
        quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if len(quoted) <= min(first_budget, _MAX_PLAIN_WORD):
            return [quoted]
    check_header_value(text, "the name")
    return _encoded_words(text, first_budget)


def mailbox(name: str, display_name: str, addr: str) -> bytes:
    """`Name: display name <addr>` + CRLF (From, Reply-To, To); just the address when there is
    no display name. `addr` must already be valid (A-label domain); a non-ASCII local part is
    written as UTF-8 (RFC 6532)."""
    if not display_name:
        return f"{name}: {addr}\r\n".encode()
    return _fold(f"{name}:", [*phrase_words(display_name, MAX_LINE - len(name) - 2), f"<{addr}>"])


def list_id(phrase: str, list_label: str) -> bytes:
    """`List-Id: phrase <list-label>` + CRLF (RFC 2919 §2)."""
    return _fold("List-Id:", [*phrase_words(phrase, MAX_LINE - len("List-Id: ")), f"<{list_label}>"])


def _short_words(text: str) -> bool:
    """No word that could be taken for an encoded-word, none too long to fit on a line."""
    return "=?" not in text and max(map(len, text.split(" "))) <= _MAX_PLAIN_WORD


def _fold(head: str, words: list[str]) -> bytes:
    """Join `words` with single spaces, breaking before a space where a line would pass 76
    octets. Unfolding (removing each CRLF) gives back `head` + " " + the words joined by spaces."""
    first = head.encode("ascii")
    lines = [first]
    for word in words:
        w = word.encode("utf-8")
        if len(lines[-1]) + 1 + len(w) > MAX_LINE and lines != [first]:
            lines.append(b"")
        lines[-1] += b" " + w
    return b"\r\n".join(lines) + b"\r\n"


def _encoded_words(text: str, first_budget: int) -> list[str]:
    """`text` as UTF-8 encoded-words, Q or B (whichever is shorter), each of whole characters,
    the first fitting `first_budget`, the others MAX_WORD."""
    data = text.encode("utf-8")
    use_q = _q_size(data) <= _b_size(len(data))
    prefix = _Q_PREFIX if use_q else _B_PREFIX
    room = min(first_budget, MAX_WORD) - len(prefix) - len(_SUFFIX)
    words: list[str] = []
    chunk = bytearray()
    q_size = 0  # encoded size of `chunk` in Q
    for ch in text:
        b = ch.encode("utf-8")
        step = _q_size(b)
        if chunk and (q_size + step if use_q else _b_size(len(chunk) + len(b))) > room:
            words.append(_word(prefix, bytes(chunk), use_q))
            chunk.clear()
            q_size = 0
            room = MAX_WORD - len(prefix) - len(_SUFFIX)
        chunk += b
        q_size += step
    words.append(_word(prefix, bytes(chunk), use_q))
    return words


def _q_size(data: bytes) -> int:
    return sum(len(_Q_BYTE[b]) for b in data)


def _b_size(n: int) -> int:
    return 4 * -(-n // 3)


def _word(prefix: str, chunk: bytes, use_q: bool) -> str:
    body = "".join(_Q_BYTE[b] for b in chunk) if use_q else base64.b64encode(chunk).decode("ascii")
    return prefix + body + _SUFFIX


__all__ = ["MAX_LINE", "MAX_WORD", "list_id", "mailbox", "phrase_words", "unstructured"]
