"""checks: the rules a finished message must meet."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace

import pytest

from newsletter.mail.checks import (
    CLIP_REFUSE_BYTES,
    CLIP_WARN_BYTES,
    check_message,
    failures,
    html_size_as_sent,
    warnings,
)
from newsletter.mail.compose import parts
from newsletter.mail.message import Recipient, compile_variant


def _by_name(checks):  # type: ignore[no-untyped-def]
    return {c.name: c for c in checks}


def test_sample_message_passes(composer) -> None:  # type: ignore[no-untyped-def]
    raw, _ = composer.sample(composer.issue("issues/2020-10.yaml"))
    html, text = parts(raw)
    assert failures(check_message(raw, html, text)) == []


def test_each_rule_can_fail(composer) -> None:  # type: ignore[no-untyped-def]
    raw, _ = composer.sample(composer.issue("issues/2020-10.yaml"))
    html, text = parts(raw)
    bad_html = html.replace("</body>", '<a href="/relative">r</a><img src="https://example.org/i.png">'
                                       "__NL_TOPICS__</body>")
    c = _by_name(check_message(raw, bad_html, text))
    assert not c["links"].ok and "'/relative'" in c["links"].message and c["links"].where.startswith("html ")
    assert not c["image alt text"].ok
    assert not c["placeholders"].ok and "__NL_TOPICS__" in c["placeholders"].message
    long_line = raw.replace(b"\r\n\r\n", b"\r\nX-Long: " + b"a" * 1000 + b"\r\n\r\n", 1)
    assert not _by_name(check_message(long_line, html, text))["line length"].ok
    encoded = raw.replace(b"List-Unsubscribe: <https://", b"List-Unsubscribe: =?utf-8?q?=3Chttps://", 1)
    assert not _by_name(check_message(encoded, html, text))["list-unsubscribe"].ok
    no_link = text.replace("/u/", "/x/")
    assert not _by_name(check_message(raw, html, no_link))["unsubscribe link"].ok
    plain_http = html.replace("</body>", '<img src="http://example.org/i.png" alt="Forest plot"></body>')
    c = _by_name(check_message(raw, plain_http, text))
    assert not c["image addresses"].ok and "'http://example.org/i.png'" in c["image addresses"].message



def _with_prose(composer, prose: str) -> tuple[bytes, str, str]:  # type: ignore[no-untyped-def]
    """A finished message whose HTML carries `prose` before </body>."""
    r = composer.render(composer.issue("issues/2020-10.yaml"))
    r = replace(r, html=r.html.replace("</body>", f"<p>{prose}</p></body>"))
    cv = compile_variant(composer.settings, composer.keys, r, campaign="2020-10", date="Thu, 01 Oct 2020 08:00:00 +0000")
    raw = cv.build(Recipient("reader@example.org", "Reader", None, "AAAAAAAAAAAA"))
    html, text = parts(raw)
    return raw, html, text


# Ordinary prose with curly quotes and dashes: each costs 3 octets in UTF-8 and 9 as sent (=E2=80=9C).
PROSE = "The \u201ctherapeutic alliance\u201d predicts outcome \u2014 across 295 studies \u2014 it\u2019s robust. "


@pytest.mark.parametrize("decoded_kb,ascii,verdict", [
    (60, False, "ok"),
    (88, True, "warn"),  # 88 KB decoded, a little more as sent: warned from 90 KB
    (80, False, "refused"),  # 80 KB decoded but over 100 KB as quoted-printable
    (96, False, "refused"),
])
def test_html_size_is_measured_as_sent(composer, decoded_kb: int, ascii: bool, verdict: str) -> None:  # type: ignore[no-untyped-def]
    _, html0, _ = _with_prose(composer, "")
    unit = "The therapeutic alliance predicts outcome across studies. " if ascii else PROSE
    n = (decoded_kb * 1024 - len(html0.encode())) // len(unit.encode())
    raw, html, text = _with_prose(composer, unit * n)
    assert abs(len(html.encode()) / 1024 - decoded_kb) < 1
    size = _by_name(check_message(raw, html, text))["html size"]
    sent = html_size_as_sent(email.message_from_bytes(raw, policy=email.policy.default))
    assert size.message.startswith(f"{sent / 1024:.1f} KB of HTML as sent")
    assert sent > len(html.encode())  # quoted-printable never shrinks
    assert (size.ok, size.warning) == {"ok": (True, False), "warn": (True, True), "refused": (False, False)}[verdict]
    assert (size in warnings([size])) == (verdict == "warn") and (size in failures([size])) == (verdict == "refused")
    if verdict == "refused":
        assert sent >= CLIP_REFUSE_BYTES and "shorten the issue" in size.message
    elif verdict == "warn":
        assert CLIP_WARN_BYTES <= sent < CLIP_REFUSE_BYTES and str(size).startswith("WARN html size")
