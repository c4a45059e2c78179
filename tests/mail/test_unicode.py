"""Any language, any address: arbitrary Unicode in the site name, the From name, the subject, a
reader's name and an article title goes from the author's files to finished message bytes that
Python's email package and Perl's Email::MIME both read back exactly, or is refused with a
located error. Never a traceback."""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import getaddresses
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from newsletter.content.subscribers import load_subscribers
from newsletter.errors import InputError
from newsletter.mail import wording
from newsletter.mail.compose import Composer, parts, recipient_of

from ..independent import EmailMIME, email_mime  # noqa: F401  (fixture)
from .test_headerfields import ENCODED_WORD, HARD, REFUSED, noncharacter

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = set("\n\r\u2028\u2029\x85")
SENDER = "digest@news.example.org"


def yaml_quoted(value: str) -> str:
    """A YAML double-quoted scalar holding exactly `value`: printable characters as themselves,
    everything else as an escape (so lone surrogates and controls reach the reader as written)."""
    out = []
    for c in value:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif c.isprintable() and not 0xD800 <= o <= 0xDFFF:
            out.append(c)
        else:
            out.append(f"\\x{o:02X}" if o < 0x100 else f"\\u{o:04X}" if o < 0x10000 else f"\\U{o:08X}")
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Field:
    """One text field of the author's files and the rules it is read by."""

    limit: int
    header: bool  # carried in a header: bidi overrides refused, spaces single
    required: bool = True

    def expect(self, raw: str) -> str | None:
        """What the loaders make of `raw`, or None when they must refuse it."""
        if any(unicodedata.category(c) == "Cs" for c in raw) or len(raw) > self.limit:
            return None
        if any((unicodedata.category(c) == "Cc" and c not in "\t\n\r") or noncharacter(c) for c in raw):
            return None  # a control character or noncharacter, written as an escape
        value = raw.strip()
        if any(c in LINE_BREAKS for c in value) or (self.required and not value):
            return None
        if self.header:
            if any(c in BIDI for c in value):
                return None
            value = re.sub(r"\s{2,}|\t", " ", value).strip()
        return value


SITE, SUBJECT, READER, TITLE = Field(100, True), Field(200, False), Field(200, True, False), Field(300, False)
FROM = Field(300 - len(f" <{SENDER}>"), True, False)  # the name in `from: name <address>`


def expect_subject(raw: str) -> str | None:
    value = SUBJECT.expect(raw)
    return None if value is None or any(c in BIDI for c in value) else value


def expect_from(raw: str) -> str | None:
    """`from:` is the whole `name <address>`; the name is what stands before the `<`."""
    whole = Field(300, False).expect(f"{raw} <{SENDER}>")
    if whole is None or any(c in BIDI for c in whole):
        return None
    name = whole[: -len(f"<{SENDER}>")]
    if "<" in name or ">" in name:
        return None
    return re.sub(r"\s{2,}|\t", " ", name.strip().strip('"')).strip()


def _repeat(text: str, n: int) -> str:
    return (text * (n // len(text) + 1))[:n]


letters = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                        blacklist_characters=sorted(BIDI)).filter(lambda c: not noncharacter(c))
short = st.lists(st.one_of(st.sampled_from(HARD), st.text(letters, min_size=1, max_size=10)),
                 min_size=1, max_size=25).map("".join)


def fitting(limit: int) -> st.SearchStrategy[str]:
    """Text of 1 to `limit` characters that a field may hold (or blank, which some refuse)."""
    return st.one_of(short, st.builds(_repeat, short, st.integers(1, limit))).map(lambda t: t[:limit])


def refusable(limit: int) -> st.SearchStrategy[str]:
    """Text with a refused character in it, or longer than the field's limit (up to 500)."""
    spoilt = st.builds(lambda t, c, i: t[:i] + c + t[i:], fitting(limit), st.sampled_from(REFUSED),
                       st.integers(0, limit))
    return st.one_of(spoilt, st.builds(_repeat, short, st.integers(limit + 1, max(limit + 1, 500))))


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, str | None]:
    """The five texts; most examples spoil one of them (or none) so that every kind of refusal
    and a good share of finished messages are both seen."""
    limits = {"site": SITE.limit, "sender": FROM.limit, "subject": SUBJECT.limit, "reader": READER.limit,
              "title": TITLE.limit}
    spoilt = draw(st.sampled_from([None, None, None, *limits]))
    out: dict[str, str | None] = {k: draw(refusable(n) if k == spoilt else fitting(n)) for k, n in limits.items()}
    if spoilt != "subject" and draw(st.booleans()):
        out["subject"] = None  # the default subject: "<site name>: October 2020"
    return out


ADDRESSES = ["reader@example.org", "josé@example.org", "jürgen@bücher.example", "r@xn--strae-oqa.de"]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def _html_text(html: str) -> list[str]:
    p = _Text()
    p.feed(html)
    return p.chunks


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _write_site(project: Path, site: str, sender: str, subject: str | None, reader: str, title: str,
                addr: str) -> None:
    cfg = project / "newsletter.yaml"
    text = cfg.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name: .*$", lambda _: f"name: {yaml_quoted(site)}", text, count=1)
    text = re.sub(r"(?m)^from: .*$", lambda _: f"from: {yaml_quoted(f'{sender} <{SENDER}>')}", text, count=1)
    cfg.write_text(text, encoding="utf-8")
    issue = (Path(__file__).parent.parent / "fixtures" / "site" / "issues" / "2020-10.yaml").read_text("utf-8")
    if subject is not None:
        issue = issue.replace('month: "2020-10"\n', f'month: "2020-10"\nsubject: {yaml_quoted(subject)}\n', 1)
    issue = re.sub(r'(?m)^  - title: .*$', lambda _: f"  - title: {yaml_quoted(title)}", issue, count=1)
    (project / "issues" / "2020-10.yaml").write_text(issue, encoding="utf-8")
    (project / "subscribers.yaml").write_text(f"- email: {addr}\n  name: {yaml_quoted(reader)}\n", "utf-8")


def _located(err: InputError, *paths: str) -> None:
    assert err.problems, str(err)
    for p in err.problems:
        assert p.line >= 1 and p.col >= 1 and p.path in paths, p
        assert str(p).startswith(f"{p.path}:{p.line}:{p.col}:")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(texts=inputs(), addr=st.sampled_from(ADDRESSES))
def test_any_text_reaches_every_reader_intact(project: Path, email_mime: EmailMIME,  # noqa: F811
                                              texts: dict[str, str | None], addr: str) -> None:
    site, sender, subject, reader, title = (texts[k] for k in ("site", "sender", "subject", "reader", "title"))
    assert site is not None and sender is not None and reader is not None and title is not None
    _write_site(project, site, sender, subject, reader, title, addr)
    want_site, want_from, want_reader, want_title = (SITE.expect(site), expect_from(sender),
                                                     READER.expect(reader), TITLE.expect(title))
    try:
        composer = Composer.load(project)
    except InputError as err:
        assert want_site is None or want_from is None, err
        _located(err, "newsletter.yaml")
        event("refused: newsletter.yaml")
        return
    assert want_site is not None and want_from is not None
    want_subject = expect_subject(subject) if subject is not None else f"{want_site}: October 2020"
    try:
        issue = composer.issue("issues/2020-10.yaml")
    except InputError as err:
        assert want_subject is None or want_title is None, err
        _located(err, "issues/2020-10.yaml")
        event("refused: issue")
        return
    assert want_subject is not None and want_title is not None
    try:
        (sub,), _ = load_subscribers(project / "subscribers.yaml", composer.settings)
    except InputError as err:
        assert want_reader is None, err
        _located(err, "subscribers.yaml")
        event("refused: subscribers")
        return
    assert want_reader is not None
    raw = composer.compile(issue, None, campaign="2020-10", date="Thu, 01 Oct 2020 08:00:00 +0000").build(
        recipient_of(sub, "AAAAAAAAAAAA", None))

    event("delivered" + (" (SMTPUTF8)" if sub.smtputf8 else ""))
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert len(line) <= 78 or (b"<" in line and not ENCODED_WORD.search(line)), line
    assert head.isascii() == sub.email.isascii()  # raw UTF-8 only for an SMTPUTF8 reader (RFC 6532)
    text_form = raw.decode("utf-8")
    msg = email.message_from_string(text_form, policy=email.policy.default)
    assert not msg.defects and str(msg["Subject"]) == want_subject
    legacy = email.message_from_string(text_form)

    def boxes(name: str, value: str | None = None) -> tuple[str, str]:
        ((phrase, a),) = getaddresses([value or legacy[name]])
        return str(make_header(decode_header(phrase))), a

    assert boxes("From") == (want_from, SENDER)
    assert boxes("To") == (want_reader, sub.email)
    assert boxes("", legacy["List-Id"].replace("<digest.", "<x@digest.")) == (want_site, "x@digest.news.example.org")
    html, text = parts(raw)
    assert want_title in _html_text(html) and _squeeze(want_title) in _squeeze(text)  # text: wrapped
    greeting = wording.greeting(want_reader)  # "Hello <first name>," or none
    assert not greeting or (greeting in _html_text(html) and greeting in text)

    perl = email_mime.read(raw)
    assert perl.subject == want_subject
    assert perl.from_ == [(want_from, SENDER)] and perl.to == [(want_reader, sub.email)]
    assert perl.list_id_phrase == want_site
    assert perl.part("text/plain").replace("\r\n", "\n") == text.replace("\r\n", "\n")
    assert perl.part("text/html").replace("\r\n", "\n") == html.replace("\r\n", "\n")


def test_the_issues_failing_inputs_through_the_command_line(project: Path, email_mime: EmailMIME) -> None:  # noqa: F811
    """An accented short subject and a French site name: check, render, send-test and send all work
    (they all crashed with UnicodeEncodeError); a command-line address of undecodable bytes is a
    clear error."""
    import mailbox
    import os
    import subprocess
    import sys

    from ..cli.test_cli import assert_clean, cli

    cfg = project / "newsletter.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("name: Practice Research Digest",
                                                           'name: "Réseau de recherche sur la pratique"'), "utf-8")
    issue = project / "issues" / "2020-10.yaml"
    issue.write_text(issue.read_text("utf-8").replace('month: "2020-10"\n',
                                                      'month: "2020-10"\nsubject: "Digest: Dépression 🧠"\n'), "utf-8")
    (project / "subscribers.yaml").write_text("- {email: josé@example.org, name: José Ñandú}\n"
                                              "- {email: ana@example.org, name: Ana}\n", "utf-8")
    for args in (["check", "--subscribers", "subscribers.yaml"], ["render", "issues/2020-10.yaml"],
                 ["send-test", "issues/2020-10.yaml", "--to", "auteur@example.org"],
                 ["send", "issues/2020-10.yaml", "--quiet"]):
        result = cli(project, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert_clean(result)
    sent = [m.as_bytes() for m in mailbox.Maildir(project / "outbox", create=False)]
    assert len(sent) == 3  # the test copy, José and Ana
    for raw in sent + [(project / "out" / "2020-10.eml").read_bytes()]:
        got = email_mime.read(raw)
        assert got.subject in ("Digest: Dépression 🧠", "[TEST] Digest: Dépression 🧠")
        assert got.list_id_phrase == "Réseau de recherche sur la pratique"
        assert str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"]) == got.subject
    bad = subprocess.run([sys.executable, "-m", "newsletter.cli", "send-test", "issues/2020-10.yaml", "--to",
                          os.fsdecode(b"\xffauteur@example.org")], cwd=project, capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "--to: address contains U+DCFF, a lone surrogate" in bad.stderr


def test_the_signup_confirmation_carries_a_long_non_ascii_name_intact(project: Path,
                                                                      email_mime: EmailMIME) -> None:  # noqa: F811
    """The double opt-in message has the same human-text headers (Subject with the site's name,
    From, To) and goes through the same encoder."""
    from newsletter.content.config import load_settings
    from newsletter.mail.confirmation import ConfirmationMail
    from newsletter.mail.message import Recipient

    name = "Lettre de recherche — Québec — thérapie et pratique"  # Python's folder loses a space here
    cfg = project / "newsletter.yaml"
    cfg.write_text(re.sub(r"(?m)^name: .*$", lambda _: f"name: {yaml_quoted(name)}", cfg.read_text("utf-8")),
                   "utf-8")
    settings = load_settings(project)
    reader = Recipient("josé@example.org", "José Ñandú de la Cruz y Fernández", None, "AAAAAAAAAAAA", True)
    raw = ConfirmationMail.compile(settings).build(reader, None, "https://news.example.org/confirm/x",
                                                   date="Thu, 01 Oct 2020 08:00:00 +0000")
    subject = f"Confirm your subscription to {settings.name}"
    for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        assert len(line) <= (76 if ENCODED_WORD.search(line) else 998), line
    assert str(email.message_from_string(raw.decode(), policy=email.policy.default)["Subject"]) == subject
    got = email_mime.read(raw)
    assert got.subject == subject and got.to == [(reader.name, reader.email)]
