"""headerfields: any text in Subject, display names and the List-Id phrase, at any length, reads
back exactly in Python's email package and in Perl's Email::MIME; refused text is refused."""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from email.header import decode_header, make_header
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.content.headers import HeaderValueError
from newsletter.mail.headerfields import MAX_LINE, MAX_WORD, list_id, mailbox, unstructured

from ..independent import EmailMIME, email_mime  # noqa: F401  (fixture)

BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bqBQ]\?[^?\s]*\?=")
TAIL = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"


def noncharacter(c: str) -> bool:
    return 0xFDD0 <= ord(c) <= 0xFDEF or ord(c) & 0xFFFE == 0xFFFE


def refused(text: str) -> bool:
    """The test's own statement of what a header may not carry: control characters but TAB,
    line and paragraph separators, lone surrogates, noncharacters, bidi overrides and isolates."""
    return any((unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") and c != "\t") or c in BIDI_CONTROLS
               or noncharacter(c) for c in text)


# Every kind of text a reader's name or a subject can hold, with the hard cases made likely, at
# every length from 1 to 500 characters; and the same with one refused character put in.
HARD = ["🧠", "👩🏽‍⚕️", "é", "e\u0301", "שלום", "مرحبا", "日本語", "한국어", "Ωμέγα", "=?", "?=", "_", "\"",
        "\\", ",", "<", ">", "@", "(", ")", ";", ":", ".", " ", "  ", "\t", "\u00a0", "\u200d", "\ufeff",
        "\u3000", "x" * 70, "=?utf-8?q?a?="]
REFUSED = ["\ud800", "\udfff", "\ufdd0", "\U0010fffe", "\x00", "\x1b", "\x7f", "\x85", "\r", "\n", "\u2028",
           "\u2029", "\u202e", "\u2066"]
letters = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                        blacklist_characters=sorted(BIDI_CONTROLS)).filter(lambda c: not noncharacter(c))
pieces = st.one_of(st.sampled_from(HARD), st.text(letters, min_size=1, max_size=12))
short = st.lists(pieces, min_size=1, max_size=40).map("".join)
ok_texts = st.one_of(short, st.builds(lambda s, n: (s * (n // len(s) + 1))[:n], short, st.integers(1, 500)))
bad_texts = st.builds(lambda s, c, i: s[:i] + c + s[i:], ok_texts, st.sampled_from(REFUSED), st.integers(0, 500))
texts = st.one_of(ok_texts, ok_texts, bad_texts).filter(lambda s: 1 <= len(s) <= 501)
CHECK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _lines_ok(head: bytes) -> None:
    for line in head.split(b"\r\n"):
        assert len(line) <= MAX_LINE or (b"<" in line and not ENCODED_WORD.search(line)), line
    for word in ENCODED_WORD.findall(head):
        assert len(word) <= MAX_WORD, word


def _python_mailbox(head: bytes, name: str) -> tuple[str, str]:
    """(display name, address) as Python's email package reads them. The legacy reader
    (getaddresses + decode_header) drops the space between adjacent encoded-words as RFC 2047
    §6.2 requires; Python 3.11's newer parser adds one there (CPython gh-128110), so it is
    asked only about phrases of one encoded-word or none."""
    text = head.decode("utf-8")
    legacy = email.message_from_string(text)
    ((phrase, addr),) = getaddresses([legacy[name]])
    decoded = str(make_header(decode_header(phrase)))
    modern = email.message_from_string(text, policy=email.policy.default)
    if len(ENCODED_WORD.findall(legacy[name].encode())) <= 1:
        box = modern[name].addresses[0]
        assert (box.display_name, box.addr_spec) == (decoded, addr)
    return decoded, addr


@CHECK
@given(texts)
def test_subject_reads_back_exactly_or_is_refused(email_mime: EmailMIME, text: str) -> None:  # noqa: F811
    if refused(text):
        with pytest.raises(HeaderValueError):
            unstructured("Subject", text)
        return
    head = unstructured("Subject", text)
    _lines_ok(head)
    assert head.isascii()
    msg = email.message_from_bytes(head + TAIL, policy=email.policy.default)
    assert str(msg["Subject"]) == text
    assert email_mime.read(head + TAIL).subject == text


def _name(text: str) -> str:
    """A display name as the loaders hand it over: trimmed (of any white space: YAML values are),
    a tab or a run of white space as one space."""
    return re.sub(r"\s{2,}|\t", " ", text).strip()


@CHECK
@given(texts, st.sampled_from(["news@example.org", "josé@example.org", "jo@xn--bcher-kva.example"]))
def test_display_names_read_back_exactly_or_are_refused(email_mime: EmailMIME, text: str,  # noqa: F811
                                                        addr: str) -> None:
    name = _name(text)
    if not name:
        return
    if refused(name):
        with pytest.raises(HeaderValueError):
            mailbox("To", name, addr)
        return
    head = mailbox("From", name, addr) + mailbox("To", name, addr) + list_id(name, "digest.news.example.org")
    _lines_ok(head)
    assert head.isascii() == addr.isascii()  # only an SMTPUTF8 address is raw UTF-8 (RFC 6532)
    assert _python_mailbox(head, "From") == (name, addr)
    assert _python_mailbox(head, "To") == (name, addr)
    lid = head.split(b"List-Id:", 1)[1].replace(b"<digest.", b"<list@digest.")
    assert _python_mailbox(b"To:" + lid, "To") == (name, "list@digest.news.example.org")  # the same phrase
    got = email_mime.read(head + TAIL)
    assert got.from_ == got.to == [(name, addr)]
    assert got.list_id_phrase == name


@pytest.mark.parametrize("text", ["Digest: Dépression 🧠", "é", "Zoë", "שלום עולם", "日本語", "a" * 500,
                                  "Confirm your subscription to Lettre de recherche — Québec — thérapie et pratique",
                                  "Ünïcödé " * 60, "🧠" * 200])
def test_examples_at_every_length(email_mime: EmailMIME, text: str) -> None:  # noqa: F811
    for name, head in (("Subject", unstructured("Subject", text)),
                       ("From", mailbox("From", _name(text), "a@example.org"))):
        _lines_ok(head)
        msg = email.message_from_bytes(head + TAIL, policy=email.policy.default)
        got = email_mime.read(head + TAIL)
        if name == "Subject":
            assert str(msg["Subject"]) == got.subject == text
        else:
            assert _python_mailbox(head, "From") == (_name(text), "a@example.org")
            assert got.from_ == [(_name(text), "a@example.org")]


def test_plain_ascii_stays_readable() -> None:
    assert unstructured("Subject", "Practice Research Digest: October 2020") == \
        b"Subject: Practice Research Digest: October 2020\r\n"
    assert mailbox("From", "Practice Research Digest", "digest@news.example.org") == \
        b"From: Practice Research Digest <digest@news.example.org>\r\n"
    assert mailbox("To", "Dr. Smith, Jr.", "s@example.org") == b'To: "Dr. Smith, Jr." <s@example.org>\r\n'
    assert list_id("Practice Research Digest", "digest.news.example.org") == \
        b"List-Id: Practice Research Digest <digest.news.example.org>\r\n"
    assert mailbox("To", "", "josé@example.org") == "To: josé@example.org\r\n".encode()


def test_text_that_looks_encoded_is_encoded_itself() -> None:
    head = unstructured("Subject", "=?utf-8?q?not_a_word?=")
    assert str(email.message_from_bytes(head + TAIL, policy=email.policy.default)["Subject"]) == \
        "=?utf-8?q?not_a_word?="
