"""Whom a bounce or complaint is about, and how we know.

Only signed or secret evidence counts, because anyone can write to a bounce mailbox:
1. a VERP envelope sender (`bounce_address`): its token is signed; when the message holds
   addresses of that shape but none verifies, it is treated as forged and changes nothing;
2. our own Message-ID `<YYYY-MM.SID@domain>` in the returned headers (SID is the random
   72-bit subscriber id), for an issue that was sent to that person;
3. a signed unsubscribe token from our List-Unsubscribe header.
An address alone (Final-Recipient, Original-Rcpt-To) is never enough in a mailbox — it would let
anyone unsubscribe anyone — but is used by the signature-verified relay webhooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from ...content.addresses import AddressError, address_key, normalize_address
from ...content.config import Settings
from ...mail.tokens import TokenKeys
from ...mail.verp import Verp
from ...store.ledger import Ledger
from .classify import Report


@dataclass(frozen=True)
class Target:
    """The person a report is about, the issue (None if unknown) and the evidence used."""

    email_key: str
    email: str
    sid: str
    issue: str | None
    how: str


@dataclass(frozen=True)
class Match:
    """`verdict`: matched (target set) | unmatched (not one of our messages, or a person we no
    longer know) | forged (a VERP token with a bad signature) | ambiguous (several people)."""

    verdict: str
    target: Target | None = None
    note: str = ""


class Matcher:
    """Finds the target of reports for one site (settings, token keys, the ledger to look in)."""

    def __init__(self, settings: Settings, keys: TokenKeys, ledger: Ledger) -> None:
        self.keys, self.ledger = keys, ledger
        bounce = settings.feedback.bounce_address
        self.verp = Verp(bounce, keys) if bounce else None
        self._mid = re.compile(rf"<(\d{{4}}-\d{{2}})\.([A-Za-z0-9_-]{{12}})@{re.escape(settings.domain)}>",
                               re.IGNORECASE)
        self._utoken = re.compile(re.escape(settings.base_url) + r"/u/([A-Za-z0-9]{1,8}\.[A-Za-z0-9_-]{12}\."
                                  r"[A-Za-z0-9_-]{16})")

    def match(self, text: str, report: Report | None = None, *, addresses: tuple[str, ...] = ()) -> Match:
        """The target named in `text` (the whole message, decoded; or a webhook's mail object).
        `addresses` (and the report's findings) only choose among several genuine targets."""
        named = {_key(a) for a in addresses} | {_key(f.address) for f in (report.findings if report else ())}
        found: list[Target] = []
        if self.verp is not None:
            verp = self.verp.find(text)
            found = [t for v in verp.genuine if (t := self._target(v.sid, v.issue, "VERP")) is not None]
            if not verp.genuine and verp.forged:
                return Match("forged", note=f"{verp.forged} envelope address(es) with a bad signature (forged, or "
                                            "signed with a key no longer in NEWSLETTER_TOKEN_KEYS)")
        if not found:
            for issue, sid in dict.fromkeys(self._mid.findall(text)):
                t = self._target(sid, issue, "Message-ID")
                if t is not None and self.ledger.was_sent(issue, t.email_key):
                    found.append(t)
        if not found:
            for token in dict.fromkeys(self._utoken.findall(text)):
                sid = self.keys.verify(token, "u")
                if sid and (t := self._target(sid, None, "unsubscribe link")) is not None:
                    found.append(t)
        unique = list({t.email_key: t for t in found}.values())
        if len(unique) > 1:
            unique = [t for t in unique if t.email_key in named] or unique
        if not unique:
            return Match("unmatched", note="names none of our messages")
        if len(unique) > 1:
            return Match("ambiguous", note=f"names {len(unique)} of our readers")
        return Match("matched", unique[0])

    def by_address(self, address: str, issue: str | None = None) -> Match:
        """A reader by address (for authenticated webhooks only); the issue defaults to the
        newest one sent to them."""
        key = _key(address)
        person = self.ledger.person_by_key(key) if key else None
        if person is None:
            return Match("unmatched", note="not an address on the list")
        sid, email = person
        return Match("matched", Target(key, email, sid, issue or self.ledger.latest_issue(key), "address"))

    def _target(self, sid: str, issue: str | None, how: str) -> Target | None:
        person = self.ledger.person(sid)
        if person is None:
            return None
        key, email = person
        return Target(key, email, sid, issue or self.ledger.latest_issue(key), how)


def _key(address: str) -> str:
    if not address:
        return ""
    try:
        return address_key(normalize_address(address)[0])
    except AddressError:
        return address.lower()


def haystack(data: bytes, msg: Message) -> str:
    """Everything in a message a token or Message-ID may hide in: the raw text and every
    base64 or quoted-printable part decoded (bounded)."""
    chunks = [data[:4_000_000].decode("utf-8", "replace")]
    for part in msg.walk():
        if part.is_multipart():
            continue
        if str(part.get("Content-Transfer-Encoding") or "").strip().lower() in ("base64", "quoted-printable"):
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                chunks.append(raw[:4_000_000].decode("utf-8", "replace"))
    return "\n".join(chunks)
