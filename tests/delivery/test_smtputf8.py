"""SMTPUTF8 end to end against a real aiosmtpd (STARTTLS with a private CA), with and without
the extension, with and without AUTH: EHLO again after STARTTLS, SMTPUTF8 on MAIL FROM and UTF-8
commands when an address needs them, only that recipient failed when the relay cannot."""

from __future__ import annotations

import asyncio
import email
import email.policy
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter.content.addresses import normalize_address
from newsletter.content.config import SMTPSettings
from newsletter.delivery.transports import SendError, SMTPTransport
from newsletter.delivery.transports.base import Reply

from ..conftest import add_config
from ..smtp_servers import Scripted, start_aiosmtpd

MSG = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\nhello\r\n"
JOSE = "josé@example.org"
JURGEN = normalize_address("jürgen@bücher.example")[0]  # jürgen@xn--bcher-kva.example


@dataclass
class Relay:
    handler: Scripted
    port: int
    smtputf8: bool
    auth: bool


@pytest.fixture(params=[(True, False), (True, True), (False, False), (False, True)],
                ids=["smtputf8", "smtputf8+auth", "ascii-only", "ascii-only+auth"])
def relay(request, tls_ca, monkeypatch) -> Iterator[Relay]:  # type: ignore[no-untyped-def]
    smtputf8, auth = request.param
    ctx, ca_file = tls_ca
    monkeypatch.setenv("NEWSLETTER_SMTP_CA_FILE", str(ca_file))
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "pa55word")
    handler = Scripted()
    c = start_aiosmtpd(handler, tls=ctx, auth=("mailer", "pa55word") if auth else None, smtputf8=smtputf8)
    yield Relay(handler, c.port, smtputf8, auth)
    c.stop()


def _transport(relay: Relay) -> SMTPTransport:
    user = "mailer" if relay.auth else None
    return SMTPTransport(SMTPSettings("127.0.0.1", relay.port, "starttls", user, timeout=5), "pa55word")


def _send_all(t: SMTPTransport, sender: str, rcpts: list[str]) -> list[Reply | SendError]:
    async def go() -> list[Reply | SendError]:
        out: list[Reply | SendError] = []
        try:
            for rcpt in rcpts:
                try:
                    out.append(await t.send(sender, rcpt, MSG))
                except SendError as exc:
                    out.append(exc)
        finally:
            await t.close()
        return out

    return asyncio.run(go())


def test_one_connection_delivers_or_fails_each_address_alone(relay: Relay) -> None:
    rcpts = ["plain@example.com", JOSE, JURGEN, "after@example.com"]
    results = _send_all(_transport(relay), "digest@news.example.org", rcpts)
    delivered = [r for r, _ in relay.handler.received]
    if relay.smtputf8:
        assert all(isinstance(x, Reply) and x.code == 250 for x in results), results
        assert delivered == rcpts
        assert _without_size(relay.handler.mail_options) == [[], ["SMTPUTF8", "BODY=8BITMIME"],
                                                             ["SMTPUTF8", "BODY=8BITMIME"], []]
    else:
        assert delivered == ["plain@example.com", "after@example.com"]  # the run goes on
        for refused in (results[1], results[2]):
            assert isinstance(refused, SendError) and refused.kind == "recipient" and refused.code == 553
            assert "SMTPUTF8" in refused.text and "5.6.7" in refused.text
        assert len(relay.handler.mail_options) == 2  # nothing was started for them


def _without_size(options: list[list[str]]) -> list[list[str]]:
    """MAIL FROM parameters but SIZE= (RFC 1870, sent whenever the relay offers SIZE)."""
    return [[o for o in opts if not o.startswith("SIZE=")] for opts in options]


def test_sender_needing_smtputf8_stops_the_run_on_an_ascii_relay(relay: Relay) -> None:
    (result,) = _send_all(_transport(relay), "rédaction@news.example.org", ["plain@example.com"])
    if relay.smtputf8:
        assert isinstance(result, Reply) and _without_size(relay.handler.mail_options) == [["SMTPUTF8", "BODY=8BITMIME"]]
    else:
        assert isinstance(result, SendError) and result.kind == "fatal" and "envelope sender" in result.text


def _configure(project: Path, relay: Relay) -> None:
    user = "  username: mailer\n" if relay.auth else ""
    add_config(project, f"smtp:\n  host: 127.0.0.1\n  port: {relay.port}\n  security: starttls\n"
                        f"  timeout: 5\n{user}connections: 1\nretry:\n  defer_seconds: 0\n")


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsletter.cli", *args], check=False, cwd=project,
                          capture_output=True, text=True, timeout=120)


def test_send_reaches_josé_and_jürgen_or_fails_only_them(project: Path, relay: Relay) -> None:
    _configure(project, relay)
    (project / "subscribers.yaml").write_text(
        "- {email: plain@example.com, name: Plain Reader}\n"
        "- {email: josé@example.org, name: José Ñandú}\n"
        "- {email: jürgen@bücher.example, name: Jürgen Müller}\n"
        "- {email: last@example.com}\n")
    p = _cli(project, "send", "issues/2020-10.yaml", "--quiet")
    assert p.returncode == 0, p.stderr  # README: 0 done (failed is final, nothing left to do)
    assert "Traceback" not in p.stderr
    states = dict(sqlite3.connect(project / "state" / "newsletter.sqlite3").execute(
        "SELECT email, state FROM deliveries WHERE issue='2020-10'"))
    got = {rcpt: body for rcpt, body in relay.handler.received}
    if relay.smtputf8:
        assert set(states.values()) == {"sent"} and len(got) == 4
        msg = email.message_from_string(got[JOSE].decode("utf-8"), policy=email.policy.default)
        to = msg["To"].addresses[0]
        assert (to.display_name, to.addr_spec) == ("José Ñandú", JOSE)
        assert JURGEN.encode() in got[JURGEN] and "bücher".encode() not in got[JURGEN]
    else:
        assert states == {"plain@example.com": "sent", JOSE: "failed", JURGEN: "failed", "last@example.com": "sent"}
        assert set(got) == {"plain@example.com", "last@example.com"}
        assert "failed 2" in p.stdout
        rerun = _cli(project, "send", "issues/2020-10.yaml", "--quiet")
        assert rerun.returncode == 0 and not relay.handler.received[2:]  # failed is final, nothing re-sent


def test_send_test_to_a_non_ascii_address(project: Path, relay: Relay) -> None:
    _configure(project, relay)
    p = _cli(project, "send-test", "issues/2020-10.yaml", "--to", JOSE)
    if relay.smtputf8:
        assert p.returncode == 0, p.stderr
        assert [r for r, _ in relay.handler.received] == [JOSE]
    else:
        assert p.returncode != 0 and "Traceback" not in p.stderr
        assert "SMTPUTF8" in p.stderr and JOSE in p.stderr
