"""`send-test`: one [TEST] copy to any address, through the configured transport, unrecorded."""

from __future__ import annotations

from ..content.addresses import AddressError, normalize_address
from ..content.issue import Issue
from ..content.subscribers import Subscriber
from ..errors import FatalSMTPError, NewsletterError, TransientError
from ..mail.compose import SAMPLE_SID, Composer, now_header, test_message_id
from ..mail.message import Recipient
from .transports import transport_factory
from .transports.base import Reply, SendError, Transport


async def send_test(composer: Composer, issue: Issue, to: str, *, topics: frozenset[str] | None = None,
                    subscriber: Subscriber | None = None, transport: Transport | None = None) -> Reply:
    """Send what `subscriber` (or a reader of `topics`, or everyone) would get, to `to`."""
    try:
        addr, utf8 = normalize_address(to.strip())
    except AddressError as exc:
        raise NewsletterError(f"--to: {exc}") from None
    name = subscriber.name if subscriber else ""
    if subscriber is not None:
        topics = subscriber.topics
    sel = composer.selection_for(issue, topics) or tuple(range(len(issue.articles)))
    settings = composer.settings
    cv = composer.compile(issue, sel, campaign=issue.month, date=now_header(),
                          subject=f"[TEST] {issue.subject}")
    raw = cv.build(Recipient(addr, name, topics, SAMPLE_SID, utf8),
                   message_id=test_message_id(settings.domain))
    t = transport or transport_factory(settings)()
    try:
        await t.open()
        return await t.send(settings.envelope_from, addr, raw, smtputf8=utf8)
    except SendError as exc:
        cls = FatalSMTPError if exc.kind == "fatal" else TransientError
        if exc.kind == "recipient":
            raise NewsletterError(f"the server refused {addr}: {exc}") from None
        raise cls(f"test message not sent: {exc}") from None
    finally:
        await t.close()
