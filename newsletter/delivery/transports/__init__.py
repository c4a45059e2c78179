"""Choose the transport from the configuration: SMTP when configured, else the Maildir outbox."""

from __future__ import annotations

import os
from collections.abc import Callable

from ...content.config import Settings
from ...errors import NewsletterError
from .base import MaildirTransport, SMTPTransport, Transport


def transport_factory(settings: Settings) -> Callable[[], Transport]:
    """A factory: the dispatcher opens one transport per connection."""
    smtp = settings.smtp
    if smtp is None:
        return lambda: MaildirTransport(settings.outbox)
    password = None
    if smtp.username:
        password = os.environ.get(smtp.password_env)
        if not password:
            raise NewsletterError(f"smtp.username is set but the environment variable {smtp.password_env} "
                                  "holding the password is empty")
    return lambda: SMTPTransport(smtp, password)


def describe(settings: Settings) -> str:
    s = settings.smtp
    return f"SMTP {s.host}:{s.port} ({s.security})" if s else f"Maildir outbox {settings.outbox}"
