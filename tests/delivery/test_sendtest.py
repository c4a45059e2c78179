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
    with pytest.raises(NewsletterError, match="--to: address contains the character U\\+000D"):
        asyncio.run(send_test(composer, issue, "author@example.org\r\nRCPT TO:<x@example.com>"))
    with pytest.raises(NewsletterError, match="--to: invalid e-mail address 'author@@example.org'"):
        asyncio.run(send_test(composer, issue, "author@@example.org"))
