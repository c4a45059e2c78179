"""transport: SMTP replies translated by code, TLS never skipped, Maildir and memory backends."""

from __future__ import annotations

import asyncio
import mailbox
from pathlib import Path

import pytest

from newsletter.content.config import SMTPSettings
from newsletter.delivery.policy import classify
from newsletter.delivery.transports import MaildirTransport, SendError, SMTPTransport, Stage

from ..smtp_servers import FaultServer, Scripted, start_aiosmtpd

MSG = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\nhello\r\n.\r\nend\r\n"


def _send(t: SMTPTransport, rcpt: str = "b@example.org", data: bytes = MSG):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        try:
            return await t.send("digest@news.example.org", rcpt, data)
        finally:
            await t.close()

    return asyncio.run(go())


@pytest.fixture
def secure(tls_ca, monkeypatch):  # type: ignore[no-untyped-def]
    ctx, ca_file = tls_ca
    monkeypatch.setenv("NEWSLETTER_SMTP_CA_FILE", str(ca_file))
    handler = Scripted()
    c = start_aiosmtpd(handler, tls=ctx, auth=("user", "s3cret"))
    yield handler, c.port
    c.stop()


def test_starttls_auth_and_delivery_intact(secure) -> None:  # type: ignore[no-untyped-def]
    handler, port = secure
    reply = _send(SMTPTransport(SMTPSettings("127.0.0.1", port, "starttls", "user"), "s3cret"))
    assert reply.code == 250
    assert handler.received[0][0] == "b@example.org"
    assert handler.received[0][1].replace(b"\r\n", b"\n") == MSG.replace(b"\r\n", b"\n")  # dot line intact


def test_wrong_password_is_fatal(secure) -> None:  # type: ignore[no-untyped-def]
    _, port = secure
    with pytest.raises(SendError) as e:
        _send(SMTPTransport(SMTPSettings("127.0.0.1", port, "starttls", "user"), "wrong"))
    assert e.value.kind == "fatal" and e.value.code == 535
    assert "wrong" not in str(e.value)


def test_untrusted_certificate_is_fatal(tls_ca, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = tls_ca
    monkeypatch.delenv("NEWSLETTER_SMTP_CA_FILE", raising=False)
    c = start_aiosmtpd(Scripted(), tls=ctx)
    try:
        with pytest.raises(SendError) as e:
            _send(SMTPTransport(SMTPSettings("127.0.0.1", c.port, "starttls"), None))
        assert e.value.kind == "fatal" and "CERTIFICATE_VERIFY_FAILED" in str(e.value)
    finally:
        c.stop()


def test_missing_starttls_never_sends_auth() -> None:
    srv = FaultServer("no-starttls")
    try:
        with pytest.raises(SendError) as e:
            _send(SMTPTransport(SMTPSettings("127.0.0.1", srv.port, "starttls", "user"), "s3cret"))
        assert e.value.kind == "fatal" and "STARTTLS" in str(e.value)
        assert not [ln for ln in srv.lines if ln.upper().startswith(b"AUTH")]
        assert not [ln for ln in srv.lines if b"s3cret" in ln]
    finally:
        srv.stop()


@pytest.mark.parametrize("reply,kind,outcome", [
    ("550 5.1.1 no such user", "recipient", "bounce"),
    ("452 4.2.2 mailbox full", "recipient", "deferred"),
    ("451 4.7.1 greylisted, try later", "recipient", "deferred"),
    ("550 5.7.26 unauthenticated sender", "recipient", "policy"),
    ("554 5.7.1 rejected as spam", "recipient", "policy"),
    ("553 mailbox name not allowed", "recipient", "bounce"),
])
def test_rcpt_refusals_classified_by_code(reply: str, kind: str, outcome: str) -> None:
    handler = Scripted(rcpt={"*": [reply]})
    c = start_aiosmtpd(handler)
    try:
        with pytest.raises(SendError) as e:
            _send(_plain(c.port))
        assert e.value.kind == kind and e.value.code == int(reply[:3])
        assert classify(e.value) == outcome
    finally:
        c.stop()


def _plain(port: int) -> SMTPTransport:
    """Tests against a local server without TLS use the transport's internals directly: the
    configuration itself refuses plaintext (see test_config), which is the point."""
    t = SMTPTransport(SMTPSettings("127.0.0.1", port, "starttls", None, timeout=2, data_timeout=2), None)
    t.cfg = SMTPSettings("127.0.0.1", port, "none", None, timeout=2, data_timeout=2)
    return t


def test_421_at_mail_means_reconnect() -> None:
    handler = Scripted(mail_nth={1: "421 4.7.0 try again later"})
    c = start_aiosmtpd(handler)
    try:
        with pytest.raises(SendError) as e:
            _send(_plain(c.port))
        assert e.value.kind == "connection" and e.value.code == 421
    finally:
        c.stop()


def test_421_at_data_is_not_permanent() -> None:
    handler = Scripted(data={"*": ["421 4.3.2 shutting down"]})
    c = start_aiosmtpd(handler)
    try:
        with pytest.raises(SendError) as e:
            _send(_plain(c.port))
        assert e.value.kind == "connection"
    finally:
        c.stop()


def test_message_too_large_concerns_this_message_only() -> None:
    handler = Scripted(data={"*": ["552 5.3.4 message too big"]})
    c = start_aiosmtpd(handler)
    try:
        with pytest.raises(SendError) as e:
            _send(_plain(c.port))
        assert (e.value.kind, e.value.code, e.value.stage) == ("recipient", 552, Stage.DOT)
        assert classify(e.value) == "failed"  # not a bounce: the address is fine
    finally:
        c.stop()


def _big(size: int) -> bytes:
    line = b"x" * 70 + b"\r\n"
    return MSG + line * (size // len(line))


def _beyond_socket_buffers() -> int:
    """A message larger than this machine's largest TCP send buffer (net.ipv4.tcp_wmem): it
    cannot all be handed to the kernel while the server does not read."""
    try:
        most = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        most = 4 * 1024 * 1024
    return most + 1024 * 1024


# Whether the final dot left this process decides: before it the server cannot have the message
# (not delivered: retried); after it, it may (ambiguous: `unknown`, never re-sent by itself). A
# message that fits the socket buffers is gone, dot included, before a reset can arrive, so a
# server that reads part of it and resets looks like one that took it all: ambiguous.
@pytest.mark.parametrize("mode,size,kind,stage", [
    ("reset-at-data", 0, "connection", Stage.DATA),
    ("stall-mid-message", -1, "connection", Stage.DATA),
    ("reset-before-dot", 0, "ambiguous", Stage.DOT),
    ("reset-after-dot", 0, "ambiguous", Stage.DOT),
    ("silent-after-dot", 0, "ambiguous", Stage.DOT),
    ("silent-after-mail", 0, "connection", Stage.MAIL),
    ("garbage", 0, "connection", Stage.MAIL),  # an unreadable reply: no reply of it can be trusted
])
def test_faults(mode: str, size: int, kind: str, stage: Stage) -> None:
    srv = FaultServer(mode)
    try:
        t = _plain(srv.port)
        t.cfg = SMTPSettings("127.0.0.1", srv.port, "none", None, timeout=0.5, data_timeout=0.5)
        data = _big(_beyond_socket_buffers()) if size < 0 else MSG
        with pytest.raises(SendError) as e:
            _send(t, data=data)
        assert (e.value.kind, e.value.stage) == (kind, stage), e.value
    finally:
        srv.stop()


def test_connection_refused_is_transient() -> None:
    from ..smtp_servers import free_port

    with pytest.raises(SendError) as e:
        _send(_plain(free_port()))
    assert e.value.kind == "connection"


def test_maildir_outbox(tmp_path: Path) -> None:
    t = MaildirTransport(tmp_path / "outbox")
    reply = asyncio.run(t.send("digest@news.example.org", "b@example.org", MSG))
    assert reply.code == 250
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    (msg,) = list(box)
    assert msg["Subject"] == "t" and msg["Return-Path"] == "<digest@news.example.org>"
