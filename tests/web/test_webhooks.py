"""Relay webhooks in `serve`: Amazon SES through SNS (signature verified against a signing
certificate fetched over verified HTTPS from an accepted host: here our own CA and a local HTTPS
server) and Postmark (basic auth and/or a secret header). Forged, unsigned or unauthenticated
posts change nothing; a retried event changes nothing either."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from newsletter.delivery.sending import SendOptions, send
from newsletter.mail.compose import Composer
from newsletter.mail.verp import Verp
from newsletter.store.ledger import Ledger
from newsletter.web.public.app import create_app
from newsletter.web.public.sns import string_to_sign

from ..conftest import add_config, write_subscribers

TOPIC = "arn:aws:sns:eu-west-1:123456789012:newsletter-feedback"
ISSUE = "2021-04"


@dataclass
class CertServer:
    port: int
    hits: list[str]
    key: rsa.RSAPrivateKey

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"


@pytest.fixture(scope="module")
def sns_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CertServer, Path]]:
    """A local HTTPS server (our own CA) serving an SNS-style signing certificate and answering
    subscription confirmations; yields it and the CA file."""
    ca = trustme.CA()
    server_cert = ca.issue_cert("localhost")
    signing = ca.issue_cert("localhost", key_type=trustme.KeyType.RSA)  # SNS signs with RSA
    pem = signing.cert_chain_pems[0].bytes()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ctx)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ca_file = tmp_path_factory.mktemp("sns") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    key = serialization.load_pem_private_key(signing.private_key_pem.bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    yield CertServer(httpd.server_address[1], hits, key), ca_file
    httpd.shutdown()


@dataclass
class Site:
    client: TestClient
    composer: Composer
    certs: CertServer

    def ledger(self) -> Ledger:
        return Ledger.read_only(self.composer.settings.state_db)

    def sid(self, address: str) -> str:
        led = self.ledger()
        try:
            person = led.person_by_key(address)
        finally:
            led.close()
        assert person is not None
        return person[0]

    def suppressed(self) -> dict[str, str]:
        led = self.ledger()
        try:
            return led.suppressions()
        finally:
            led.close()

    def sns(self, kind: str, message: str, *, version: str = "2", topic: str = TOPIC, cert: str = "/cert.pem",
            tamper: bool = False, extra: dict[str, str] | None = None) -> dict[str, str]:
        msg = {"Type": kind, "MessageId": f"m-{abs(hash(message)) % 10**9}", "TopicArn": topic, "Message": message,
               "Timestamp": "2021-04-02T10:15:02.000Z", "SignatureVersion": version,
               "SigningCertURL": self.certs.url(cert), **(extra or {})}
        algo = hashes.SHA256() if version == "2" else hashes.SHA1()
        sig = self.certs.key.sign(string_to_sign(msg), padding.PKCS1v15(), algo)
        msg["Signature"] = base64.b64encode(sig).decode()
        if tamper:
            msg["Message"] = message.replace("Permanent", "Transient") + " "
        return msg


@pytest.fixture
def site(project: Path, sns_ca: tuple[CertServer, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    certs, ca_file = sns_ca
    monkeypatch.setenv("NEWSLETTER_WEBHOOK_CA_FILE", str(ca_file))
    monkeypatch.setenv("NEWSLETTER_POSTMARK_USER", "postmark")
    monkeypatch.setenv("NEWSLETTER_POSTMARK_PASSWORD", "hook-password-123")
    monkeypatch.setenv("NEWSLETTER_POSTMARK_TOKEN", "secret-header-value")
    add_config(project, f"""bounce_address: bounces@news.example.org
webhooks:
  ses:
    topic_arns: [{TOPIC}]
    cert_host: '^localhost$'
  postmark: {{}}""")
    write_subscribers(project, 4)
    composer = Composer.load(project)
    send(composer, Path(f"issues/{ISSUE}.yaml"), project / "subscribers.yaml", SendOptions())
    app = create_app(composer.settings, project / "subscribers.yaml", composer=composer)
    with TestClient(app, base_url="https://news.example.org") as client:
        yield Site(client, composer, certs)


def _ses_bounce(site: Site, address: str, btype: str = "Permanent", *, verp: bool = True) -> str:
    source = (Verp("bounces@news.example.org", site.composer.keys).address(ISSUE, site.sid(address)) if verp
              else "digest@news.example.org")
    return json.dumps({"notificationType": "Bounce",
                       "bounce": {"bounceType": btype, "bounceSubType": "General",
                                  "bouncedRecipients": [{"emailAddress": address, "action": "failed",
                                                         "status": "5.1.1" if btype == "Permanent" else "4.4.7",
                                                         "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
                       "mail": {"source": source, "destination": [address],
                                "commonHeaders": {"messageId": f"<{ISSUE}.{site.sid(address)}@news.example.org>"}}})


def test_ses_bounce_and_complaint_through_sns(site: Site) -> None:
    r = site.client.post("/webhooks/ses", content=json.dumps(site.sns("Notification", _ses_bounce(site, "reader00000@example.org"))))
    assert r.status_code == 200, r.text
    complaint = json.dumps({"notificationType": "Complaint", "complaint": {
        "complainedRecipients": [{"emailAddress": "reader00001@example.org"}], "complaintFeedbackType": "abuse"},
        "mail": {"source": "digest@news.example.org", "destination": ["reader00001@example.org"]}})
    msg = site.sns("Notification", complaint, version="1")
    assert site.client.post("/webhooks/ses", content=json.dumps(msg)).status_code == 200
    assert site.client.post("/webhooks/ses", content=json.dumps(msg)).status_code == 200  # SNS retries: same result
    soft = site.sns("Notification", _ses_bounce(site, "reader00002@example.org", "Transient"))
    assert site.client.post("/webhooks/ses", content=json.dumps(soft)).status_code == 200
    assert site.suppressed() == {"reader00000@example.org": "hard-bounce", "reader00001@example.org": "complaint"}
    led = site.ledger()
    assert led.feedback_counts(ISSUE) == {"hard": 1, "soft": 1, "complaint": 1}
    led.close()


def test_subscription_confirmation_is_confirmed(site: Site) -> None:
    url = site.certs.url("/?Action=ConfirmSubscription&TopicArn=x&Token=abc")
    msg = site.sns("SubscriptionConfirmation", "You have chosen to subscribe", extra={"SubscribeURL": url, "Token": "abc"})
    r = site.client.post("/webhooks/ses", content=json.dumps(msg))
    assert r.status_code == 200 and "confirmed" in r.text
    assert "/?Action=ConfirmSubscription&TopicArn=x&Token=abc" in site.certs.hits


@pytest.mark.parametrize("forgery", ["tampered", "unsigned", "wrong topic", "foreign cert host", "http cert url",
                                     "not a pem", "bad version", "not json", "subscribe elsewhere"])
def test_forged_sns_posts_change_nothing(site: Site, forgery: str) -> None:
    body = _ses_bounce(site, "reader00000@example.org")
    msg = site.sns("Notification", body)
    if forgery == "tampered":
        msg = site.sns("Notification", body, tamper=True)
    elif forgery == "unsigned":
        del msg["Signature"]
    elif forgery == "wrong topic":
        msg = site.sns("Notification", body, topic=TOPIC + "-other")
    elif forgery == "foreign cert host":
        msg["SigningCertURL"] = msg["SigningCertURL"].replace("localhost", "127.0.0.1")
    elif forgery == "http cert url":
        msg["SigningCertURL"] = msg["SigningCertURL"].replace("https:", "http:")
    elif forgery == "not a pem":
        msg = site.sns("Notification", body, cert="/cert.txt")
    elif forgery == "bad version":
        msg["SignatureVersion"] = "3"
    elif forgery == "subscribe elsewhere":
        msg = site.sns("SubscriptionConfirmation", "x", extra={"SubscribeURL": "https://127.0.0.1/evil", "Token": "t"})
    content = "{not json" if forgery == "not json" else json.dumps(msg)
    r = site.client.post("/webhooks/ses", content=content)
    assert r.status_code in (400, 403), (forgery, r.status_code, r.text)
    assert site.suppressed() == {}
    assert not any("evil" in h for h in site.certs.hits)


def _postmark(address: str, record: str = "Bounce", btype: str = "HardBounce", rid: int = 42) -> str:
    return json.dumps({"RecordType": record, "ID": rid, "Type": btype, "TypeCode": 1, "Email": address,
                       "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Description": "The server was unable "
                       "to deliver your message (ex: unknown user, mailbox not found).", "Details": "smtp;550 5.1.1",
                       "BouncedAt": "2021-04-02T10:15:02Z", "Inactive": True})


def test_postmark_with_credentials(site: Site) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(b"postmark:hook-password-123").decode(),
            "X-Newsletter-Token": "secret-header-value"}
    r = site.client.post("/webhooks/postmark", content=_postmark("reader00000@example.org"), headers=auth)
    assert r.status_code == 200
    r = site.client.post("/webhooks/postmark", content=_postmark("reader00001@example.org", "SpamComplaint", rid=7),
                         headers=auth)
    assert r.status_code == 200
    site.client.post("/webhooks/postmark", content=_postmark("reader00002@example.org", btype="AutoResponder", rid=8),
                     headers=auth)
    site.client.post("/webhooks/postmark", content=_postmark("stranger@example.org", rid=9), headers=auth)
    assert site.suppressed() == {"reader00000@example.org": "hard-bounce", "reader00001@example.org": "complaint"}


@pytest.mark.parametrize("headers", [
    {}, {"X-Newsletter-Token": "secret-header-value"},
    {"Authorization": "Basic " + base64.b64encode(b"postmark:hook-password-123").decode()},
    {"Authorization": "Basic " + base64.b64encode(b"postmark:wrong").decode(), "X-Newsletter-Token": "secret-header-value"},
    {"Authorization": "Basic !!!", "X-Newsletter-Token": "secret-header-value"},
])
def test_postmark_without_credentials_is_refused(site: Site, headers: dict[str, str]) -> None:
    r = site.client.post("/webhooks/postmark", content=_postmark("reader00000@example.org"), headers=headers)
    assert r.status_code == 401 and site.suppressed() == {}
