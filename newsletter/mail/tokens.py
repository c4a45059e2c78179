"""Opaque, signed per-recipient tokens for unsubscribe and preference links.

token = kid "." sid "." mac, where sid is the subscriber's random id in the state database
(it reveals nothing about the address) and mac = HMAC-SHA256(key[kid], "v1|purpose|list|sid")
truncated to 96 bits. Links that expire (the signup confirmation, purpose 'c') carry their
expiry time too: kid "." id "." expires "." mac over "v1|purpose|list|id|expires", so a changed
expiry breaks the tag, and a token of one shape never verifies as the other. Keys come from NEWSLETTER_TOKEN_KEYS ("kid:secret,kid:secret", the
first one signs, all verify, so keys can rotate); without it a 0600 key file beside the state
database is created once, which is what the embedded default uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..errors import NewsletterError

ENV = "NEWSLETTER_TOKEN_KEYS"
_KID = re.compile(r"^[A-Za-z0-9]{1,8}$")
MAX_LENGTH = 8 + 1 + 12 + 1 + 16  # the longest token _TOKEN accepts, for laying out text lines
_TOKEN = re.compile(r"^([A-Za-z0-9]{1,8})\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{16})$")
_EXPIRING = re.compile(r"^([A-Za-z0-9]{1,8})\.([A-Za-z0-9_-]{12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{16})$")


class KeyError_(NewsletterError):
    exit_code = 2


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


@dataclass(frozen=True)
class TokenKeys:
    keys: dict[str, bytes]  # kid → secret, in priority order (first signs)
    list_id: str

    @property
    def current(self) -> str:
        return next(iter(self.keys))

    def _mac(self, kid: str, purpose: str, sid: str) -> str:
        msg = f"v1|{purpose}|{self.list_id}|{sid}".encode()
        return _b64(hmac.new(self.keys[kid], msg, hashlib.sha256).digest()[:12])

    def sign(self, sid: str, purpose: str) -> str:
        kid = self.current
        return f"{kid}.{sid}.{self._mac(kid, purpose, sid)}"

    def verify(self, token: str, purpose: str) -> str | None:
        """The subscriber id if the token is genuine, else None. Constant-time comparison."""
        m = _TOKEN.fullmatch(token)  # not .match: "$" would also accept a trailing newline
        if not m:
            return None
        kid, sid, mac = m.groups()
        if kid not in self.keys:
            return None
        if hmac.compare_digest(self._mac(kid, purpose, sid).encode(), mac.encode()):
            return sid
        return None

    def sign_expiring(self, value: str, purpose: str, expires: int) -> str:
        """A token for `value` (a 12-character id) that `verify_expiring` accepts with its expiry
        (Unix seconds) for the same purpose and list."""
        kid = self.current
        return f"{kid}.{value}.{int(expires)}.{self._mac(kid, purpose, f'{value}|{int(expires)}')}"

    def verify_expiring(self, token: str, purpose: str) -> Signed | None:
        """The id and expiry if the token is genuine (expired or not: the caller says which),
        else None. Constant-time comparison."""
        m = _EXPIRING.fullmatch(token)
        if not m:
            return None
        kid, value, expires, mac = m.groups()
        if kid not in self.keys:
            return None
        if hmac.compare_digest(self._mac(kid, purpose, f"{value}|{expires}").encode(), mac.encode()):
            return Signed(value, int(expires))
        return None


@dataclass(frozen=True)
class Signed:
    """A genuine expiring token: the id it names and when it stops working (Unix seconds)."""

    value: str
    expires: int

    def expired(self, now: float) -> bool:
        return now >= self.expires


def parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for part in spec.split(","):
        kid, sep, secret = part.strip().partition(":")
        if not sep or not _KID.match(kid) or len(secret) < 16:
            raise KeyError_(f"{ENV}: expected 'kid:secret[,kid:secret...]' with kid of 1-8 letters or "
                            "digits and a secret of at least 16 characters")
        keys[kid] = secret.encode()
    return keys


def load_keys(list_id: str, key_file: Path) -> TokenKeys:
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        spec = _local_key(key_file)
    return TokenKeys(parse_keys(spec), list_id)


def _local_key(path: Path) -> str:
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise KeyError_(f"{path}: token key file must not be readable by others (chmod 600)")
        return path.read_text().strip()
    from ..store import private_folder  # the ledger's imports are not needed to render

    private_folder(path.parent)
    spec = f"k1:{secrets.token_urlsafe(32)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(spec + "\n")
    return spec
