"""send-test: one [TEST] copy to any address through the configured transport, not recorded."""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import subprocess
import sys

import pytest

from newsletter.content.subscribers import load_subscribers
from newsletter.delivery.sendtest import send_test
from newsletter.delivery.transports import MemoryTransport
from newsletter.errors import NewsletterError

from ..conftest import add_config
from ..smtp_servers import Scripted, start_aiosmtpd


def test_test_copy_through_real_smtp_is_not_recorded(project, composer, tls_ca, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ctx, ca_file = tls_ca
    handler = Scripted()
    c = start_aiosmtpd(handler, tls=ctx, auth=("mailer", "pw-123456"))
    monkeypatch.setenv("NEWSLETTER_SMTP_CA_FILE", str(ca_file))
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "pw-123456")
    add_config(project, f"smtp:\n  host: 127.0.0.1\n  port: {c.port}\n  security: starttls\n  username: mailer\n")
    try:
        p = subprocess.run([sys.executable, "-m", "newsletter.cli", "send-test", "issues/2020-10.yaml",
                            "--to", "author@example.org", "--topics", "empathy"],
                           check=False, cwd=project, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "test message sent to author@example.org" in p.stdout
    finally:
        c.stop()
    (msg,) = handler.messages()
    assert msg["Subject"] == "[TEST] Practice Research Digest: October 2020"
    assert msg["To"] == "author@example.org" and msg["Message-ID"].startswith("<test.")
    assert msg.get_body(("html",)).get_content().count('class="article"') == 1
    assert not (project / "state" / "newsletter.sqlite3").exists()  # not a delivery


def test_as_subscriber_gets_their_selection_and_greeting(project, composer) -> None:  # type: ignore[no-untyped-def]
    subs, _ = load_subscribers(project / "subscribers.example.yaml", composer.settings)
    ben = next(s for s in subs if s.email == "ben@example.com")
    issue = composer.issue("issues/2020-10.yaml")
    t = MemoryTransport()
    asyncio.run(send_test(composer, issue, "author@example.org", subscriber=ben, transport=t))
    ((_, rcpt, raw),) = t.sent
    m = email.message_from_bytes(raw, policy=email.policy.default)
    html = m.get_body(("html",)).get_content()
    assert rcpt == "author@example.org" and "Hello Ben," in html
    assert html.count('class="article"') == 1  # Ben reads empathy/alliance/training: article 1 only


def test_default_transport_is_the_maildir_outbox(project, composer) -> None:  # type: ignore[no-untyped-def]
    issue = composer.issue("issues/2021-04.yaml")
    reply = asyncio.run(send_test(composer, issue, "author@example.org"))
    assert reply.code == 250
    (msg,) = list(mailbox.Maildir(project / "outbox", create=False))
    assert msg["Subject"].startswith("[TEST] ")


def test_bad_address_is_a_clear_error(composer) -> None:  # type: ignore[no-untyped-def]
    issue = composer.issue("issues/2021-04.yaml")
    from newsletter.delivery.sendtest import BadTestRequest

    with pytest.raises(BadTestRequest, match="^to: address contains the character U\\+000D") as info:
        asyncio.run(send_test(composer, issue, "author@example.org\r\nRCPT TO:<x@example.com>"))
    assert info.value.field == "to" and isinstance(info.value, NewsletterError) and info.value.exit_code == 2
    with pytest.raises(BadTestRequest, match="^to: invalid e-mail address 'author@@example.org'"):
        asyncio.run(send_test(composer, issue, "author@@example.org"))


def test_a_reader_who_gets_nothing_is_refused_unless_full(project, composer) -> None:  # type: ignore[no-untyped-def]
    from newsletter.delivery.sendtest import BadTestRequest

    subs, _ = load_subscribers(project / "subscribers.example.yaml", composer.settings)
    farah = next(s for s in subs if s.email == "farah@example.com")  # personality disorders only
    issue = composer.issue("issues/2020-10.yaml")
    t = MemoryTransport()
    with pytest.raises(BadTestRequest) as info:
        asyncio.run(send_test(composer, issue, "author@example.org", subscriber=farah, transport=t))
    assert info.value.field == "reader" and info.value.problem == (
        "farah@example.com receives nothing this month: no article of this issue is on their topics "
        "(no_match: skip)")
    with pytest.raises(BadTestRequest, match="a reader of personality-disorders receives nothing"):
        asyncio.run(send_test(composer, issue, "author@example.org", topics=frozenset({"personality-disorders"}),
                              transport=t))
    assert not t.sent
    asyncio.run(send_test(composer, issue, "author@example.org", subscriber=farah, full=True, transport=t))
    ((_, _, raw),) = t.sent
    html = email.message_from_bytes(raw, policy=email.policy.default).get_body(("html",)).get_content()
    assert "Hello Farah," in html and html.count('class="article"') == 3


def test_test_copy_is_dkim_signed_as_the_real_ones(project, composer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The test copy carries the same signature (same signer, same signed headers) a dispatched
    message does, and it verifies: "show original" in the author's mailbox says DKIM pass."""
    import base64
    import re

    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from newsletter.delivery.sending import SendOptions, send
    from newsletter.mail.compose import Composer

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (project / "dkim.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    (project / "dkim.pem").chmod(0o600)
    pub = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
    add_config(project, "dkim:\n  selector: s2026\n  domain: news.example.org\n  key_file: dkim.pem\n")
    composer = Composer.load(project)
    issue = composer.issue("issues/2020-10.yaml")
    test, real = MemoryTransport(), MemoryTransport()
    asyncio.run(send_test(composer, issue, "author@example.org", transport=test))
    (project / "subscribers.yaml").write_text("- {email: ana@example.org, name: Ana}\n")
    send(composer, issue.path, project / "subscribers.yaml", SendOptions(), lambda: real)

    def signed_headers(raw: bytes) -> str:
        assert raw.startswith(b"DKIM-Signature:")
        sig = re.sub(r"\s", "", str(email.message_from_bytes(raw)["DKIM-Signature"]))
        found = re.search(r"(?:^|;)h=([^;]+)", sig)
        assert found, sig
        return found[1]

    ((_, _, test_raw),), ((_, _, real_raw),) = test.sent, real.sent
    for raw in (test_raw, real_raw):
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
    assert signed_headers(test_raw) == signed_headers(real_raw)
    assert "list-unsubscribe-post" in signed_headers(test_raw)
