"""message: one RFC 5322 message per recipient, fast path identical to the EmailMessage path."""

from __future__ import annotations

import email
import email.policy
import re
from html import escape as html_escape
from pathlib import Path

import pytest

from newsletter.content.headers import HeaderValueError
from newsletter.content.variants import all_selections
from newsletter.mail.checks import check_message, failures
from newsletter.mail.compose import parts
from newsletter.mail.message import Recipient, build_with_email_package, compile_variant, header_lines
from newsletter.mail.wording import first_name

DATE = "Thu, 01 Oct 2020 08:00:00 +0000"
PEOPLE = [
    Recipient("ana@example.org", "Ana", frozenset({"cbt"}), "AAAAAAAAAAAA"),
    Recipient("zoe@example.org", "Zoë Müller-Lüdenscheidt", None, "BBBBBBBBBBBB"),
    Recipient("x@example.com", 'Eve "The CEO", <ceo@bank.example.com>', frozenset({"empathy"}), "CCCCCCCCCCCC"),
    Recipient("jo@xn--strae-oqa.de", "", frozenset({"depression", "group"}), "DDDDDDDDDDDD"),
    Recipient("josé@example.org", "José Ñandú", None, "EEEEEEEEEEEE", smtputf8=True),
    Recipient("r@example.org", "研究所 Reader", frozenset({"neuroscience", "empathy"}), "FFFFFFFFFFFF"),
]


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


@pytest.fixture
def issue(composer):  # type: ignore[no-untyped-def]
    return composer.issue("issues/2020-10.yaml")


def _build(composer, issue, r: Recipient, sel=(0, 1, 2)) -> bytes:  # type: ignore[no-untyped-def]
    cv = composer.compile(issue, sel, campaign="2020-10", date=DATE)
    return cv.build(r)


@pytest.mark.parametrize("r", PEOPLE, ids=lambda r: r.sid)
def test_fast_path_equals_email_package(composer, issue, r: Recipient) -> None:  # type: ignore[no-untyped-def]
    sel = composer.selection_for(issue, r.topics)
    fast = _parse(_build(composer, issue, r, sel))
    ref = _parse(build_with_email_package(composer.settings, composer.keys, composer.render(issue, sel), r,
                                          campaign="2020-10", date=DATE))
    assert sorted(fast.keys()) == sorted(ref.keys())
    for k in fast:
        if k != "Content-Type":
            assert str(fast[k]).strip() == str(ref[k]).strip(), k
    assert fast.get_content_type() == ref.get_content_type() == "multipart/alternative"
    fp, rp = list(fast.iter_parts()), list(ref.iter_parts())
    assert [p.get_content_type() for p in fp] == ["text/plain", "text/html"]
    assert [p.get_content() for p in fp] == [p.get_content() for p in rp]
    assert [p["Content-Transfer-Encoding"] for p in fp] == ["quoted-printable"] * 2


def test_headers_and_structure(composer, issue) -> None:  # type: ignore[no-untyped-def]
    raw = _build(composer, issue, PEOPLE[0])
    m = _parse(raw)
    for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "List-Id",
              "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert len(m.get_all(h) or []) == 1, h
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert m["List-Id"] == "Practice Research Digest <digest.news.example.org>"
    assert m["Message-ID"] == "<2020-10.AAAAAAAAAAAA@news.example.org>"
    assert m["Date"] == DATE
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    lu = re.search(r"^List-Unsubscribe: ([^\r\n]*(?:\r\n [^\r\n]*)*)", head, re.MULTILINE)
    assert lu and lu.group(1).startswith("<https://") and "=?" not in lu.group(1)
    https_uri = re.match(r"<(https://[^>]+)>", lu.group(1))
    assert https_uri and len(https_uri.group(0)) <= 75
    assert "mailto:unsubscribe@news.example.org" in lu.group(1)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n")), "QP lines are at most 76 (RFC 2045)"
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    html, text = parts(raw)
    assert "Hello Ana," in text and "Hello Ana," in html
    assert "/u/" in text and "/p/" in text and "/u/" in html and "/p/" in html
    assert composer.settings.postal_address.split(",")[0] in text
    assert "You receive articles on: Cognitive Therapy (CT) and" in text


def test_non_ascii_names_round_trip(composer, issue) -> None:  # type: ignore[no-untyped-def]
    for r in PEOPLE:
        raw = _build(composer, issue, r)
        # RFC 6532 headers are raw UTF-8; the bytes parser would surrogate-escape them
        m = email.message_from_string(raw.decode(), policy=email.policy.default) if r.smtputf8 else _parse(raw)
        to = m["To"].addresses[0]
        assert to.display_name == r.name and to.addr_spec == r.email
        html, text = parts(_build(composer, issue, r))
        first = first_name(r.name)
        if first:  # greeted by first name (in both parts), not greeted at all without a name
            assert f"Hello {first}," in text and f"Hello {html_escape(first)}," in html
        else:
            assert "Hello" not in text and "Hello" not in html
    zoe = _build(composer, issue, PEOPLE[1])
    assert b"To: =?utf-8?" in zoe  # RFC 2047 for the display name, address untouched
    eve = _parse(_build(composer, issue, PEOPLE[2]))
    assert eve["To"].addresses[0].addr_spec == "x@example.com"  # quoting kept the real address
    marked_up = Recipient("x@example.com", "<b>Eve</b> Smith", None, "CCCCCCCCCCCC")
    html, _ = parts(_build(composer, issue, marked_up))
    assert "Hello &lt;b&gt;Eve&lt;/b&gt;," in html and "<b>Eve" not in html


def test_idn_and_smtputf8_addresses(composer, issue) -> None:  # type: ignore[no-untyped-def]
    raw = _build(composer, issue, PEOPLE[3])
    assert b"To: jo@xn--strae-oqa.de\r\n" in raw and b"strasse" not in raw
    utf8 = _build(composer, issue, PEOPLE[4])
    assert "josé@example.org".encode() in utf8 and b"=?utf-8?q?jos" not in utf8


def test_message_id_stable_per_issue_and_subscriber(composer, issue) -> None:  # type: ignore[no-untyped-def]
    a = _parse(_build(composer, issue, PEOPLE[0]))["Message-ID"]
    b = _parse(_build(composer, issue, PEOPLE[0]))["Message-ID"]
    c = _parse(_build(composer, issue, PEOPLE[1]))["Message-ID"]
    assert a == b != c


def test_every_variant_of_every_example_passes_checks(composer) -> None:  # type: ignore[no-untyped-def]
    n = 0
    for path in sorted(Path("issues").glob("*.yaml")):
        issue = composer.issue(path)
        for sel in all_selections(issue):
            for r in PEOPLE:
                raw = _build(composer, issue, r, sel)
                html, text = parts(raw)
                bad = failures(check_message(raw, html, text))
                assert not bad, (path, sel, r, bad)
                n += 1
    assert n == (7 + 7 + 3) * len(PEOPLE)


def test_also_this_month_lists_the_others(composer, issue) -> None:  # type: ignore[no-untyped-def]
    raw = _build(composer, issue, PEOPLE[0], (1,))
    html, text = parts(raw)
    assert "Also this month" in html and "Also this month" in text
    heading = issue.articles[0].title + "\n="  # a title heads an article; here it is only listed
    assert heading not in text.replace("\r\n", "\n")
    assert issue.articles[0].title in text and issue.articles[2].title in text
    assert html.count("https://news.example.org/archive/2020-10") >= 3


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@example.com", "Hi\n", "Hi\x00", "Hi\x1b[31m",
                                     "Hi\u2028there", "Hi\u202eevil"])
def test_header_injection_in_subject_rejected(settings, subject: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(HeaderValueError):
        header_lines(settings, subject, DATE)


def test_long_non_ascii_subject_uses_short_encoded_words(settings) -> None:  # type: ignore[no-untyped-def]
    head = header_lines(settings, "Über die Wirksamkeit der Gruppenpsychotherapie bei Depressionen — "
                                  "eine Metaanalyse mit Überraschungen", DATE)
    for word in re.findall(rb"=\?[^?]+\?[bq]\?[^?]*\?=", head, re.IGNORECASE):
        assert len(word) <= 75
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def test_compile_variant_rejects_unfilled_placeholder(composer, issue) -> None:  # type: ignore[no-untyped-def]
    """A placeholder the personaliser does not know must fail loudly, never reach a reader."""
    from dataclasses import replace

    r = composer.render(issue)
    broken = replace(r, html=r.html.replace("</body>", "__NL_SECRET__</body>"))
    cv = compile_variant(composer.settings, composer.keys, broken, campaign="x", date=DATE)
    with pytest.raises(KeyError):
        cv.build(PEOPLE[0])


def test_dkim_signature_verifies_offline_and_covers_list_headers(composer, issue, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import base64

    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from newsletter.content.config import DKIMSettings
    from newsletter.mail.dkim import load_signer

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    kf = tmp_path / "dkim.pem"
    kf.write_bytes(pem)
    kf.chmod(0o600)
    sign = load_signer(DKIMSettings("s2026", "news.example.org", kf))
    wire = sign(_build(composer, issue, PEOPLE[1]))
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
    assert dkim.verify(wire, dnsfunc=lambda name, timeout=5: record)
    sig = wire.split(b"\r\n\r\n")[0].decode()
    h = re.search(r"h=([^;]+);", sig.replace("\r\n", "").replace(" ", "").replace("\t", ""))
    assert h and "list-unsubscribe-post" in h.group(1) and "list-unsubscribe" in h.group(1)
    tampered = wire.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                            b"List-Unsubscribe-Post: List-Unsubscribe=One-Clack")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: record)
    kf.chmod(0o644)
    from newsletter.errors import NewsletterError

    with pytest.raises(NewsletterError, match="chmod 600"):
        load_signer(DKIMSettings("s2026", "news.example.org", kf))


FROM_ISSUE = """month: "2020-10"
intro: |
  From this month on, the digest has figures.
articles:
  - title: "From bench to bedside"
    topics: [cbt]
    summary: |
      The first paragraph.

      From the client's side, the sessions felt short.
    implications: |
      - From now on, ask.
"""


def test_a_body_line_starting_from_survives_mbox_storage(composer, project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """mbox (RFC 4155) turns a body line `From ` into `>From `: every such line is sent as
    `=46rom ` (quoted-printable), so a mailbox stores and shows the author's words."""
    import mailbox

    (project / "issues" / "2020-10.yaml").write_text(FROM_ISSUE)
    issue = composer.issue("issues/2020-10.yaml")
    raw = composer.compile(issue, (0,), campaign="2020-10", date=DATE).build(PEOPLE[0])
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert not [ln for ln in body.split(b"\r\n") if ln.startswith(b"From ")]
    assert b"\r\n=46rom the client" in body
    box = mailbox.mbox(tmp_path / "box")
    box.add(raw)
    box.flush()
    stored = bytes(next(iter(mailbox.mbox(tmp_path / "box"))))
    html, text = parts(stored)
    for words in ("From this month on", "From the client's side", "From now on", "From bench to bedside"):
        assert words in text and words in html
    assert ">From" not in text and "&gt;From" not in html


@pytest.mark.parametrize("line", ["From " + "x" * 71, "From " + "é" * 40, "From From From", "From =3D " * 9])
def test_qp_from_escape_keeps_lines_within_76(line: str) -> None:
    import quopri

    from newsletter.mail.message import quoted_printable

    enc = quoted_printable(line + "\n" + line)
    assert all(len(ln) <= 76 and not ln.startswith(b"From ") for ln in enc.split(b"\r\n"))
    assert quopri.decodestring(enc.replace(b"\r\n", b"\n")).decode() == line + "\n" + line
