"""`send-test`: one [TEST] copy to any address, through the configured transport, unrecorded,
built and DKIM-signed exactly as the real messages are, so "show original" in the author's own
mailbox shows what readers' providers will check."""

from __future__ import annotations

from ..content.addresses import AddressError, normalize_address
from ..content.issue import Issue
from ..content.subscribers import Subscriber
from ..errors import CheckFailed, FatalSMTPError, InputError, NewsletterError, TransientError, UsageError
from ..mail.compose import SAMPLE_SID, Composer, now_header, test_message_id
from ..mail.message import Recipient
from .policy import Outcome, classify
from .transports import transport_factory
from .transports.base import ErrorKind, Reply, SendError, Transport


class BadTestRequest(NewsletterError):
    """A test copy that cannot be sent as asked. `field` names the input at fault in words the
    caller translates into its own ("to" is `--to` on the command line, "To" in the preview);
    `problem` is the rest of the message. Exit code 2: nothing was sent."""

    exit_code = InputError.exit_code

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


async def send_test(composer: Composer, issue: Issue, to: str, *, topics: frozenset[str] | None = None,
                    subscriber: Subscriber | None = None, full: bool = False,
                    transport: Transport | None = None) -> Reply:
    """Send what `subscriber` (or a reader of `topics`, or everyone) would get, to `to`.

    A reader whose topics match no article gets nothing this month (with `no_match: skip`):
    that is refused with BadTestRequest (field "reader") unless `full`, which sends them the
    whole issue. Raises BadTestRequest (field "to") for an unusable address, TransientError or
    FatalSMTPError when the transport fails.
    """
    try:
        addr, utf8 = normalize_address(to.strip())
    except AddressError as exc:
        raise BadTestRequest("to", str(exc)) from None
    name = subscriber.name if subscriber else ""
    if subscriber is not None:
        topics = subscriber.topics
    sel = composer.selection_for(issue, topics)
    if not sel and not full:
        who = subscriber.email if subscriber else f"a reader of {', '.join(sorted(topics or ()))}"
        raise BadTestRequest("reader", f"{who} receives nothing this month: no article of this issue is "
                                       f"on their topics (no_match: {composer.settings.no_match})")
    sel = sel or tuple(range(len(issue.articles)))
    settings = composer.settings
    cv = composer.compile(issue, sel, campaign=issue.month, date=now_header(),
                          subject=f"[TEST] {issue.subject}")
    raw: bytes = cv.build(Recipient(addr, name, topics, SAMPLE_SID, utf8),
                          message_id=test_message_id(settings.domain))
    if settings.dkim is not None:  # the same signer, over the same headers, as `send`
        from ..mail.dkim import load_signer

        raw = load_signer(settings.dkim)(raw)
    t = transport or transport_factory(settings)()
    try:
        await t.open()
        if t.max_size is not None and len(raw) > t.max_size:
            raise CheckFailed(f"the test message is {len(raw):,} bytes; the relay accepts at most {t.max_size:,} "
                              "(SIZE); shorten the issue. Nothing was sent")
        return await t.send(settings.envelope_from, addr, raw, smtputf8=utf8)
    except SendError as exc:
        raise _refused(addr, exc) from (exc.__cause__ if exc.kind == ErrorKind.INTERNAL else None)
    finally:
        await t.close()


def _refused(addr: str, exc: SendError) -> Exception:
    """The error (and so the exit code) for a test message that did not go: by what the
    refusal means, as for a recipient of the campaign (see `policy.classify`)."""
    if exc.kind == ErrorKind.FATAL:
        return FatalSMTPError(f"test message not sent: {exc}")
    if exc.kind == ErrorKind.INTERNAL:
        return RuntimeError(f"test message not sent: {exc}")  # a bug: exit 1 with its traceback
    if exc.kind in (ErrorKind.CONNECTION, ErrorKind.AMBIGUOUS):
        return TransientError(f"test message not sent: {exc}; try again later")
    outcome = classify(exc)
    if outcome == Outcome.BOUNCE:  # the address itself
        return BadTestRequest("to", f"the server refused {addr}: {exc}")
    if outcome == Outcome.POLICY:  # 5.7.x: the sender's setup (SPF/DKIM/DMARC, authentication)
        return FatalSMTPError(f"the server refused the test message to {addr} by policy: {exc}")
    if outcome == Outcome.DEFERRED:
        return TransientError(f"the server deferred the test message to {addr}: {exc}; try again later")
    return UsageError(f"the server refused the test message to {addr}: {exc}")
