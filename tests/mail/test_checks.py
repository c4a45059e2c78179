"""checks: the rules a finished message must meet."""

from __future__ import annotations

from newsletter.mail.checks import GMAIL_CLIP_BYTES, check_message, failures
from newsletter.mail.compose import parts


def _by_name(checks):  # type: ignore[no-untyped-def]
    return {c.name: c for c in checks}


def test_sample_message_passes(composer) -> None:  # type: ignore[no-untyped-def]
    raw, _ = composer.sample(composer.issue("issues/2020-10.yaml"))
    html, text = parts(raw)
    assert failures(check_message(raw, html, text)) == []


def test_each_rule_can_fail(composer) -> None:  # type: ignore[no-untyped-def]
    raw, _ = composer.sample(composer.issue("issues/2020-10.yaml"))
    html, text = parts(raw)
    big = html.replace("</body>", "<p>" + "x" * GMAIL_CLIP_BYTES + "</p></body>")
    bad_html = html.replace("</body>", '<a href="/relative">r</a><img src="https://example.org/i.png">'
                                       "__NL_TOPICS__</body>")
    c = _by_name(check_message(raw, big, text))
    assert not c["html size"].ok and "Gmail clips" in c["html size"].message
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

