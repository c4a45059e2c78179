"""VERP: one envelope sender per recipient, `LOCAL+TOKEN@domain`, so that a bounce names the
(issue, subscriber) it is about even when the bounce itself is unreadable.

TOKEN = kid "." yyyymm "." sid32 "." mac32, at most 45 characters, all lower case (mail systems
may fold the case of a local part, so nothing in it depends on case):
- kid: the token key's id (NEWSLETTER_TOKEN_KEYS, as for the links in the message);
- yyyymm: the issue (2021-04 → 202104);
- sid32: the subscriber's random id (9 bytes) in base32 — it reveals nothing about the address;
- mac32: the first 64 bits of HMAC-SHA256(key[kid], "v1|b|LIST_ID|ISSUE|SID") in base32.

A bounce is only believed when the tag is genuine, so a forged bounce cannot suppress anyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from .tokens import TokenKeys

MAX_TOKEN = 8 + 1 + 6 + 1 + 15 + 1 + 13
_TOKEN = re.compile(r"([a-z0-9]{1,8})\.(\d{4})(\d{2})\.([a-z2-7]{15})\.([a-z2-7]{13})")


@dataclass(frozen=True)
class VerpTarget:
    """What a genuine token names: the issue (YYYY-MM) and the subscriber's id."""

    issue: str
    sid: str


@dataclass(frozen=True)
class Found:
    """The tokens found in a text: the genuine ones, and how many looked like ours but failed."""

    genuine: tuple[VerpTarget, ...]
    forged: int


class Verp:
    """Envelope senders for `bounce_address` (LOCAL@DOMAIN) signed with `keys`."""

    def __init__(self, bounce_address: str, keys: TokenKeys) -> None:
        self.local, _, self.domain = bounce_address.rpartition("@")
        self.keys = keys
        self._lower = {kid.lower(): kid for kid in reversed(list(keys.keys))}  # first wins
        self._candidate = re.compile(
            rf"(?<![A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]){re.escape(self.local)}\+([^@\s<>\"'(),;:\[\]]{{1,120}})"
            rf"@{re.escape(self.domain)}(?![A-Za-z0-9-])", re.IGNORECASE)

    def _mac(self, kid: str, issue: str, sid: str) -> str:
        msg = f"v1|b|{self.keys.list_id}|{issue}|{sid}".encode()
        tag = hmac.new(self.keys.keys[kid], msg, hashlib.sha256).digest()[:8]
        return base64.b32encode(tag).decode().rstrip("=").lower()

    def token(self, issue: str, sid: str) -> str:
        """The token for (issue 'YYYY-MM', sid: 12 URL-safe base64 characters = 9 bytes)."""
        raw = base64.urlsafe_b64decode(sid)
        if len(raw) != 9 or len(issue) != 7 or issue[4] != "-":
            raise ValueError(f"cannot make a VERP token for issue {issue!r}, id {sid!r}")
        kid = self.keys.current
        sid32 = base64.b32encode(raw).decode().rstrip("=").lower()
        return f"{kid.lower()}.{issue[:4]}{issue[5:]}.{sid32}.{self._mac(kid, issue, sid)}"

    def address(self, issue: str, sid: str) -> str:
        """The envelope sender (MAIL FROM) of this subscriber's copy of this issue."""
        return f"{self.local}+{self.token(issue, sid)}@{self.domain}"

    def verify(self, token: str) -> VerpTarget | None:
        """What a token names if its tag is genuine, else None (constant-time comparison)."""
        m = _TOKEN.fullmatch(token.lower())
        if not m:
            return None
        kid_l, year, month, sid32, mac = m.groups()
        kid = self._lower.get(kid_l)
        if kid is None:
            return None
        try:
            raw = base64.b32decode(sid32.upper() + "=")
        except ValueError:  # binascii.Error
            return None
        if base64.b32encode(raw).decode().rstrip("=").lower() != sid32:
            return None  # the unused low bits of the last character must be zero: one spelling only
        sid = base64.urlsafe_b64encode(raw).decode()
        issue = f"{year}-{month}"
        if hmac.compare_digest(self._mac(kid, issue, sid).encode(), mac.encode()):
            return VerpTarget(issue, sid)
        return None

    def find(self, text: str) -> Found:
        """Every `LOCAL+…@DOMAIN` address in `text` (any case): the genuine targets (each once)
        and the number of distinct ones whose token is malformed or does not verify."""
        genuine: dict[VerpTarget, None] = {}
        forged: set[str] = set()
        for m in self._candidate.finditer(text):
            token = m.group(1)
            target = self.verify(token)
            if target is None:
                forged.add(token.lower())
            else:
                genuine[target] = None
        return Found(tuple(genuine), len(forged))


__all__ = ["MAX_TOKEN", "Found", "Verp", "VerpTarget"]
