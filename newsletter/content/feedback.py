"""Settings for what comes back after sending (newsletter.yaml): the VERP `bounce_address`, the
`bounces:` mailbox and soft-bounce rule, and the relay `webhooks:` (Amazon SES via SNS, Postmark).

No secrets live here: the mailbox and webhook credentials come from the environment only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import schema
from .addresses import AddressError, parse_mailbox
from .yamltree import Reader, YNode

# The VERP token is at most 45 characters (mail/verp.py); a local part may have 64 (RFC 5321
# §4.5.3.1.1), and the "+" takes one.
MAX_BOUNCE_LOCAL = 64 - 1 - 45
# Amazon SNS signs with a certificate served from sns.<region>.amazonaws.com (.cn in China).
SNS_CERT_HOST = r"^sns\.([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$"
_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class BounceSettings:
    """`bounces:` — where `newsletter bounces` reads (imaps://host[:port]/FOLDER,
    pop3s://host[:port], or a Maildir/mbox path), the soft-bounce rule (suppressed after
    `soft_limit` soft bounces within `soft_days` days), the largest message read (bytes) and
    the IMAP folder processed messages are moved to (None: they are only marked)."""

    mailbox: str | None = None
    soft_limit: int = 3
    soft_days: float = 30.0
    max_message_bytes: int = 2_000_000
    move_to: str | None = None


@dataclass(frozen=True)
class SESWebhook:
    """Amazon SES notifications through an SNS topic: the topics accepted and the host name
    pattern the signing certificate (and a subscription's SubscribeURL) must come from."""

    topic_arns: tuple[str, ...]
    cert_host: str = SNS_CERT_HOST


@dataclass(frozen=True)
class PostmarkWebhook:
    """Postmark bounce and spam-complaint webhooks: HTTP basic auth and/or a secret header
    (values from NEWSLETTER_POSTMARK_USER / _PASSWORD / _TOKEN); `token_header` names the header."""

    token_header: str = "X-Newsletter-Token"


@dataclass(frozen=True)
class WebhookSettings:
    ses: SESWebhook | None = None
    postmark: PostmarkWebhook | None = None


@dataclass(frozen=True)
class FeedbackSettings:
    bounce_address: str | None = None
    bounces: BounceSettings = field(default_factory=BounceSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)


def parse_feedback(r: Reader, m: dict[str, YNode]) -> FeedbackSettings:
    """The three optional keys of newsletter.yaml; problems are recorded on `r`."""
    bounce = _bounce_address(r, m["bounce_address"]) if "bounce_address" in m else None
    bounces = _bounces(r, m["bounces"]) if "bounces" in m else BounceSettings()
    hooks = _webhooks(r, m["webhooks"]) if "webhooks" in m else WebhookSettings()
    return FeedbackSettings(bounce, bounces, hooks)


def _bounce_address(r: Reader, node: YNode) -> str | None:
    value = schema.text(r, node, "bounce_address", single_line=True, max_len=300)
    if value is None:
        return None
    try:
        box = parse_mailbox(value)
    except AddressError as exc:
        r.problem(node.line, node.col, "bounce_address", str(exc))
        return None
    local = box.addr.rpartition("@")[0]
    why = ""
    if box.name:
        why = "give the bare address (no display name): it is an envelope sender"
    elif box.smtputf8 or not local.isascii():
        why = "must be an ASCII address"
    elif "+" in local:
        why = "must not contain '+': each message's envelope sender is LOCAL+TOKEN@domain"
    elif len(local) > MAX_BOUNCE_LOCAL:
        why = (f"the part before @ may have at most {MAX_BOUNCE_LOCAL} characters, so that "
               "LOCAL+TOKEN stays within the 64 that RFC 5321 allows")
    if why:
        r.problem(node.line, node.col, "bounce_address", why)
        return None
    return box.addr


def _bounces(r: Reader, node: YNode) -> BounceSettings:
    d = BounceSettings()
    m = schema.mapping(r, node, "bounces", [], ["mailbox", "soft_limit", "soft_days",
                                                "max_message_bytes", "move_to"])
    if m is None:
        return d
    mailbox = schema.text(r, m.get("mailbox"), "bounces.mailbox", single_line=True, max_len=1000)
    move_to = schema.text(r, m.get("move_to"), "bounces.move_to", single_line=True, max_len=200)
    return BounceSettings(
        mailbox, int(schema.number(r, m.get("soft_limit"), "bounces.soft_limit", d.soft_limit, 1, 1000)),
        schema.number(r, m.get("soft_days"), "bounces.soft_days", d.soft_days, 1, 3660),
        int(schema.number(r, m.get("max_message_bytes"), "bounces.max_message_bytes",
                          d.max_message_bytes, 10_000, 100_000_000)),
        move_to)


def _webhooks(r: Reader, node: YNode) -> WebhookSettings:
    m = schema.mapping(r, node, "webhooks", [], ["ses", "postmark"])
    if m is None:
        return WebhookSettings()
    ses = postmark = None
    if "ses" in m:
        s = schema.mapping(r, m["ses"], "webhooks.ses", ["topic_arns"], ["cert_host"])
        if s is not None:
            arns = []
            for arn, n in schema.text_list(r, s.get("topic_arns"), "webhooks.ses.topic_arns"):
                if _ARN.match(arn):
                    arns.append(arn)
                else:
                    r.problem(n.line, n.col, "webhooks.ses.topic_arns",
                              f"'{arn}' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
            host = schema.text(r, s.get("cert_host"), "webhooks.ses.cert_host", single_line=True,
                               max_len=300) or SNS_CERT_HOST
            try:
                re.compile(host)
            except re.error as exc:
                n = s["cert_host"]
                r.problem(n.line, n.col, "webhooks.ses.cert_host", f"not a regular expression: {exc}")
            if arns:
                ses = SESWebhook(tuple(arns), host)
    if "postmark" in m:
        p = schema.mapping(r, m["postmark"], "webhooks.postmark", [], ["token_header"])
        if p is not None:
            header = schema.text(r, p.get("token_header"), "webhooks.postmark.token_header",
                                 single_line=True) or PostmarkWebhook.token_header
            if not _HEADER_NAME.match(header):
                n = p["token_header"]
                r.problem(n.line, n.col, "webhooks.postmark.token_header", "must be an HTTP header name")
            postmark = PostmarkWebhook(header)
    return WebhookSettings(ses, postmark)
