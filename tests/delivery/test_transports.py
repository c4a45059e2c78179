"""transports: SMTP when configured (password from the environment only), else the outbox."""

from __future__ import annotations

import pytest

from newsletter.content.config import load_settings
from newsletter.delivery.transports import MaildirTransport, SMTPTransport, transport_factory
from newsletter.errors import NewsletterError

from ..conftest import add_config


def test_default_is_the_maildir_outbox(project) -> None:  # type: ignore[no-untyped-def]
    t = transport_factory(load_settings(project))()
    assert isinstance(t, MaildirTransport) and t.path == project / "outbox"


def test_smtp_needs_the_password_in_the_environment(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    add_config(project, "smtp:\n  host: smtp.example.org\n  port: 587\n  security: starttls\n"
                        "  username: mailer\n  password_env: MY_SMTP_PW\n")
    monkeypatch.delenv("MY_SMTP_PW", raising=False)
    with pytest.raises(NewsletterError, match="MY_SMTP_PW"):
        transport_factory(load_settings(project))
    monkeypatch.setenv("MY_SMTP_PW", "secret-value")
    t = transport_factory(load_settings(project))()
    assert isinstance(t, SMTPTransport) and "secret-value" not in t.description
