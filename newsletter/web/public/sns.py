"""Amazon SNS message signatures (how SES delivers bounce and complaint notifications over HTTPS).

A message is believed only when:
- its TopicArn is one of `webhooks.ses.topic_arns`;
- SigningCertURL is https, on a host matching `webhooks.ses.cert_host` (by default
  sns[.REGION].amazonaws.com[.cn]), a .pem path with no user, query or fragment;
- the certificate, fetched over verified TLS (the system's CAs, plus NEWSLETTER_WEBHOOK_CA_FILE
  if set), is within its validity period and is issued to a name matching the same pattern;
- its RSA signature (PKCS#1 v1.5; SignatureVersion 1 = SHA-1, 2 = SHA-256) over the canonical
  string verifies: "Key\\nValue\\n" for Message, MessageId, Subject (if any), Timestamp, TopicArn,
  Type — or, for (Un)SubscriptionConfirmation, Message, MessageId, SubscribeURL, Timestamp,
  Token, TopicArn, Type.
A SubscriptionConfirmation is then confirmed by fetching its SubscribeURL (same host rule).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import ssl
from collections import OrderedDict
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from ...content.feedback import SESWebhook

CA_ENV = "NEWSLETTER_WEBHOOK_CA_FILE"
MAX_CERT_BYTES = 64 * 1024
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


class Rejected(Exception):
    """The post is not a genuine SNS message for us; `status` is the HTTP answer."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def string_to_sign(msg: dict[str, str]) -> bytes:
    """The canonical text SNS signs for this message type."""
    out = []
    for key in _SIGNED[msg["Type"]]:
        if key not in msg:
            if key == "Subject":
                continue
            raise Rejected(400, f"missing {key}")
        out.append(f"{key}\n{msg[key]}\n")
    return "".join(out).encode()


class SNSVerifier:
    """Checks SNS posts for one configuration; signing certificates are cached by URL."""

    def __init__(self, hook: SESWebhook, ca_file: str | None = None) -> None:
        self.hook = hook
        self.host = re.compile(hook.cert_host)
        self.ctx = ssl.create_default_context()
        ca_file = ca_file if ca_file is not None else os.environ.get(CA_ENV)
        if ca_file:
            self.ctx.load_verify_locations(ca_file)
        self._certs: OrderedDict[str, x509.Certificate] = OrderedDict()

    def parse(self, body: bytes) -> dict[str, str]:
        """The message as a dict of strings; Rejected(400) for anything else."""
        try:
            msg = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Rejected(400, "not JSON") from None
        if not isinstance(msg, dict) or not all(isinstance(v, str) for v in msg.values()):
            raise Rejected(400, "not an SNS message")
        if msg.get("Type") not in _SIGNED:
            raise Rejected(400, f"unknown message type {str(msg.get('Type'))[:40]!r}")
        return msg

    async def verify(self, body: bytes) -> dict[str, str]:
        """The genuine message; Rejected(400/403) otherwise."""
        msg = self.parse(body)
        if msg.get("TopicArn") not in self.hook.topic_arns:
            raise Rejected(403, "topic not accepted (webhooks.ses.topic_arns)")
        algorithm = _HASHES.get(msg.get("SignatureVersion", ""))
        if algorithm is None:
            raise Rejected(403, "unknown SignatureVersion")
        try:
            signature = base64.b64decode(msg.get("Signature", ""), validate=True)
        except binascii.Error:
            raise Rejected(403, "signature is not base64") from None
        cert = await self.certificate(msg.get("SigningCertURL", ""))
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise Rejected(403, "signing certificate has no RSA key")
        try:
            key.verify(signature, string_to_sign(msg), padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise Rejected(403, "bad signature") from None
        return msg

    def check_url(self, url: str, *, pem: bool) -> str:
        """`url` if it is https on an accepted host (and a .pem path, for certificates)."""
        u = urlsplit(url)
        ok = (u.scheme == "https" and u.hostname is not None and self.host.fullmatch(u.hostname)
              and u.username is None and u.password is None and not u.fragment)
        if ok and pem:
            ok = u.path.endswith(".pem") and not u.query
        if not ok:
            raise Rejected(403, f"URL not accepted: {url[:100]}")
        return url

    async def certificate(self, url: str) -> x509.Certificate:
        self.check_url(url, pem=True)
        cert = self._certs.get(url)
        if cert is None:
            async with httpx.AsyncClient(verify=self.ctx, timeout=10, follow_redirects=False) as client:
                try:
                    r = await client.get(url)
                except httpx.HTTPError as exc:
                    raise Rejected(403, f"cannot fetch the signing certificate: {type(exc).__name__}") from None
            if r.status_code != 200 or len(r.content) > MAX_CERT_BYTES:
                raise Rejected(403, f"cannot fetch the signing certificate (HTTP {r.status_code})")
            try:
                cert = x509.load_pem_x509_certificate(r.content)
            except ValueError:
                raise Rejected(403, "the signing certificate is not a PEM certificate") from None
            self._certs[url] = cert
            while len(self._certs) > 16:
                self._certs.popitem(last=False)
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise Rejected(403, "the signing certificate is not valid now")
        if not any(self.host.fullmatch(n) for n in _names(cert)):
            raise Rejected(403, "the signing certificate is not issued to an accepted host")
        return cert

    async def confirm(self, msg: dict[str, str]) -> None:
        """Confirm a verified SubscriptionConfirmation by fetching its SubscribeURL."""
        url = self.check_url(msg.get("SubscribeURL", ""), pem=False)
        async with httpx.AsyncClient(verify=self.ctx, timeout=10, follow_redirects=False) as client:
            try:
                r = await client.get(url)
            except httpx.HTTPError as exc:
                raise Rejected(502, f"cannot confirm the subscription: {type(exc).__name__}") from None
        if r.status_code != 200:
            raise Rejected(502, f"cannot confirm the subscription (HTTP {r.status_code})")


def _names(cert: x509.Certificate) -> list[str]:
    names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names += san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        pass
    return names
