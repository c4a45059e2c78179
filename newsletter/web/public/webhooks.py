"""Relay webhooks for bounces and complaints (optional, `webhooks:` in newsletter.yaml):

  POST /webhooks/ses       Amazon SES notifications through SNS (signature verified, sns.py);
                           a SubscriptionConfirmation is confirmed
  POST /webhooks/postmark  Postmark's Bounce and SpamComplaint webhooks, authenticated as Postmark
                           documents: HTTP basic auth in the webhook URL and/or a custom header
                           holding a secret (NEWSLETTER_POSTMARK_USER / _PASSWORD / _TOKEN)

Unsigned, forged or unauthenticated posts are refused (401/403) and change nothing. Each event is
recorded once (SNS MessageId, Postmark record ID), so a retried delivery changes nothing either.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ...content.config import Settings
from ...delivery.bounces import Finding, Kind, Matcher, Settled, settle
from ...errors import UsageError
from ...mail.tokens import TokenKeys
from ...store.ledger import Ledger
from .sns import Rejected, SNSVerifier
from .state import State

log = logging.getLogger("newsletter.serve")
POSTMARK_ENV = ("NEWSLETTER_POSTMARK_USER", "NEWSLETTER_POSTMARK_PASSWORD", "NEWSLETTER_POSTMARK_TOKEN")
_ISSUE = re.compile(r"\d{4}-\d{2}")
_POSTMARK_KINDS = {"HardBounce": Kind.HARD, "BadEmailAddress": Kind.HARD, "SoftBounce": Kind.SOFT,
                   "Transient": Kind.SOFT, "DnsError": Kind.SOFT, "Blocked": Kind.SOFT, "DMARCPolicy": Kind.SOFT,
                   "SpamNotification": Kind.SOFT, "Unknown": Kind.SOFT, "SpamComplaint": Kind.COMPLAINT,
                   "AutoResponder": Kind.AUTO_REPLY}


@dataclass(frozen=True)
class Event:
    """One recipient of a relay event: its key (recorded once), kind, finding, the text holding
    our identifiers (the relay's copy of the mail's envelope and headers) and the issue if given."""

    key: str
    kind: Kind
    finding: Finding
    text: str
    issue: str | None = None


def webhook_routes(settings: Settings, state: State, keys: TokenKeys,
                   env: Mapping[str, str] = os.environ) -> list[BaseRoute]:
    """The routes for the configured relays; raises UsageError (exit 2) for Postmark without
    credentials in the environment."""
    hooks = settings.feedback.webhooks
    routes: list[BaseRoute] = []
    if hooks.ses is not None:
        verifier = SNSVerifier(hooks.ses, env.get("NEWSLETTER_WEBHOOK_CA_FILE"))
        routes.append(Route("/webhooks/ses", _ses(settings, state, keys, verifier), methods=["POST"]))
    if hooks.postmark is not None:
        user, password, token = (env.get(name, "") for name in POSTMARK_ENV)
        if not (user and password) and not token:
            raise UsageError("webhooks.postmark needs NEWSLETTER_POSTMARK_USER and NEWSLETTER_POSTMARK_PASSWORD "
                                  "(basic auth in the webhook URL) and/or NEWSLETTER_POSTMARK_TOKEN (sent in the "
                                  f"{hooks.postmark.token_header} header) in the environment")
        check = _PostmarkAuth(user, password, token, hooks.postmark.token_header)
        routes.append(Route("/webhooks/postmark", _postmark(settings, state, keys, check), methods=["POST"]))
    return routes


def apply_events(ledger: Ledger, settings: Settings, keys: TokenKeys, source: str, events: list[Event]) -> list[Settled]:
    """Match and settle relay events (runs on the ledger thread). The relay is authenticated, so
    an address alone may name the reader when the event carries none of our identifiers."""
    matcher = Matcher(settings, keys, ledger)
    out = []
    for ev in events:
        m = None
        if ev.kind in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT):
            m = matcher.match(ev.text, addresses=(ev.finding.address,))
            if m.verdict != "matched":
                m = matcher.by_address(ev.finding.address, ev.issue)
        out.append(settle(ledger, settings, ev.key, source, ev.kind, ev.finding, m))
    return out


def _log(source: str, settled: list[Settled]) -> None:
    for s in settled:  # no addresses in the server log: the outcome and the evidence used
        log.info("%s webhook: %s %s (%s)", source, s.kind, s.outcome, s.target.how if s.target else "-")


def _ses(settings: Settings, state: State, keys: TokenKeys, verifier: SNSVerifier):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        try:
            msg = await verifier.verify(await request.body())
            if msg["Type"] == "SubscriptionConfirmation":
                await verifier.confirm(msg)
                log.info("SES webhook: subscription to %s confirmed", msg["TopicArn"])
                return PlainTextResponse("subscription confirmed\n")
            if msg["Type"] == "UnsubscribeConfirmation":
                log.warning("SES webhook: unsubscribed from %s", msg["TopicArn"])
                return PlainTextResponse("ok\n")
            events = ses_events(msg["MessageId"], msg["Message"])
        except Rejected as exc:
            log.warning("SES webhook refused (%d): %s", exc.status, exc)
            return PlainTextResponse(f"{exc}\n", status_code=exc.status)
        _log("SES", await state.call(apply_events, state.ledger, settings, keys, "ses", events))
        return PlainTextResponse("ok\n")
    return endpoint


def ses_events(message_id: str, message: str) -> list[Event]:
    """The bounce or complaint events of an SES notification (the SNS Message, JSON): both the
    notification (`notificationType`) and the event-publishing (`eventType`) shapes."""
    try:
        note = json.loads(message)
    except ValueError:
        raise Rejected(400, "the SES notification is not JSON") from None
    if not isinstance(note, dict):
        raise Rejected(400, "the SES notification is not an object")
    kind_of = note.get("notificationType") or note.get("eventType")
    text = json.dumps(note.get("mail") or {})
    if kind_of == "Bounce":
        b = note.get("bounce") or {}
        kind = Kind.HARD if b.get("bounceType") == "Permanent" else Kind.SOFT
        people, why = b.get("bouncedRecipients") or [], f"SES {b.get('bounceType')}/{b.get('bounceSubType')}"
    elif kind_of == "Complaint":
        c = note.get("complaint") or {}
        ftype = str(c.get("complaintFeedbackType") or "abuse")
        kind = Kind.COMPLAINT if ftype != "not-spam" else Kind.OTHER
        people, why = c.get("complainedRecipients") or [], f"SES complaint ({ftype})"
    else:
        return []
    events = []
    for i, p in enumerate(people[:50] if isinstance(people, list) else []):
        if not isinstance(p, dict):
            continue
        status = str(p.get("status") or ("abuse" if kind == Kind.COMPLAINT else ""))[:20]
        detail = " ".join(str(p.get("diagnosticCode") or why).split())[:300]
        finding = Finding(kind, str(p.get("emailAddress") or "")[:320], status, detail)
        events.append(Event(f"ses:{message_id}:{i}", kind, finding, text))
    return events


class _PostmarkAuth:
    def __init__(self, user: str, password: str, token: str, header: str) -> None:
        self.basic = f"{user}:{password}".encode() if user and password else None
        self.token, self.header = token.encode(), header

    def ok(self, request: Request) -> bool:
        good = True
        if self.basic is not None:
            given = b""
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "basic":
                try:
                    given = base64.b64decode(value.strip(), validate=True)
                except binascii.Error:
                    given = b""
            good &= hmac.compare_digest(given, self.basic)
        if self.token:
            good &= hmac.compare_digest(request.headers.get(self.header, "").encode(), self.token)
        return good


def _postmark(settings: Settings, state: State, keys: TokenKeys, auth: _PostmarkAuth):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        if not auth.ok(request):
            log.warning("Postmark webhook refused: bad or missing credentials")
            return PlainTextResponse("unauthorized\n", status_code=401,
                                     headers={"WWW-Authenticate": 'Basic realm="newsletter webhooks"'})
        try:
            payload = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return PlainTextResponse("not JSON\n", status_code=400)
        events = postmark_events(payload) if isinstance(payload, dict) else []
        _log("Postmark", await state.call(apply_events, state.ledger, settings, keys, "postmark", events))
        return PlainTextResponse("ok\n")
    return endpoint


def postmark_events(p: dict[str, object]) -> list[Event]:
    """A Postmark Bounce or SpamComplaint record as one event; other records as none."""
    record = p.get("RecordType")
    if record not in ("Bounce", "SpamComplaint") or not p.get("ID") or not isinstance(p.get("Email"), str):
        return []
    btype = "SpamComplaint" if record == "SpamComplaint" else str(p.get("Type"))
    kind = _POSTMARK_KINDS.get(btype, Kind.OTHER)
    detail = " ".join(f"{p.get('Description') or ''} {p.get('Details') or ''}".split())[:300]
    finding = Finding(kind, str(p["Email"])[:320], btype[:40], detail)
    meta = p.get("Metadata")
    issue = meta.get("newsletter-issue") if isinstance(meta, dict) else None
    return [Event(f"postmark:{record}:{p['ID']}", kind, finding, json.dumps(p)[:200_000],
                  issue if isinstance(issue, str) and _ISSUE.fullmatch(issue) else None)]
