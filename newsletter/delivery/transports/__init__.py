"""Transports (one module each, as Django's mail backends): the interface in `base`, then `smtp`,
`maildir` and `memory`; here the factory that picks one from the configuration."""

from __future__ import annotations

import os
from collections.abc import Callable

from ...content.config import Settings
from ...errors import FatalSMTPError
from .base import ErrorKind, Reply, SendError, Stage, Transport, Upcoming
from .maildir import MaildirTransport
from .memory import MemoryTransport
from .smtp import SMTPTransport


def transport_factory(settings: Settings) -> Callable[[], Transport]:
    """A factory: the dispatcher opens one transport per connection."""
    smtp = settings.smtp
    if smtp is None:
        return lambda: MaildirTransport(settings.outbox)
    password = None
    if smtp.username:
        password = os.environ.get(smtp.password_env)
        if not password:
            raise FatalSMTPError(f"smtp.username is set but the environment variable {smtp.password_env} "
                                 "holding the password is empty; nothing was sent")
    return lambda: SMTPTransport(smtp, password)


def describe(settings: Settings) -> str:
    s = settings.smtp
    return f"SMTP {s.host}:{s.port} ({s.security})" if s else f"Maildir outbox {settings.outbox}"


__all__ = ["ErrorKind", "MaildirTransport", "MemoryTransport", "Reply", "SMTPTransport", "SendError", "Stage",
           "Transport", "Upcoming", "describe", "transport_factory"]
