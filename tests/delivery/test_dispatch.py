"""dispatch: real aiosmtpd (STARTTLS + AUTH) and raw fault servers; the ledger keeps every promise."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsletter.delivery.sending import SendOptions, campaign_lock, dry_run, send
from newsletter.errors import CampaignLocked, FatalSMTPError, NewsletterError, TransientError
from newsletter.mail.compose import Composer
from newsletter.store.ledger import Ledger, LedgerError

from ..conftest import add_config, write_subscribers
from ..smtp_servers import FaultServer, Scripted, free_port, wait_for
from .conftest import FAST_RETRY, ISSUE
from .conftest import send_issue as _send
from .conftest import states as _states
from .test_transport import _plain


def test_send_personalised_over_starttls(project, smtp) -> None:  # type: ignore[no-untyped-def]
    (project / "subscribers.yaml").write_text(
        "- {email: a@example.org, name: Ana, topics: [empathy]}\n"
        "- {email: b@example.org, topics: [depression, group]}\n"
        "- {email: c@example.org, topics: all}\n"
        "- {email: d@example.org, topics: [trauma]}\n")
    summary, counts = _send(project)
    assert (summary.sent, summary.skipped) == (3, 1) and counts["sent"] == 3 and counts["skipped"] == 1
    assert summary.skip_reasons == {"no article on their topics this month": 1}
    got = {m["To"].addresses[0].addr_spec: m for m in smtp.messages()}
    assert set(got) == {"a@example.org", "b@example.org", "c@example.org"}
    html = {k: m.get_body(("html",)).get_content() for k, m in got.items()}
    assert html["a@example.org"].count('class="article"') == 1 and "Hello Ana," in html["a@example.org"]
    assert html["b@example.org"].count('class="article"') == 2
    assert html["c@example.org"].count('class="article"') == 3
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in got.values())
    assert _states(project)["d@example.org"] == "skipped"


def test_rerun_sends_nothing_twice(project, smtp) -> None:  # type: ignore[no-untyped-def]
    _send(project, 15)
    summary, _ = _send(project, 15)
    assert summary.sent == 0 and sum(smtp.counts().values()) == 15 and max(smtp.counts().values()) == 1


def test_421_mid_run_reconnects_and_delivers_everyone_once(project, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.mail_nth.update({4: "421 4.7.0 too busy, try later", 9: "421 4.3.2 shutting down"})
    summary, counts = _send(project, 20)
    assert counts["sent"] == 20 and summary.sent == 20
    assert sorted(smtp.counts().values()) == [1] * 20


@pytest.mark.parametrize("reply", ["451 4.7.1 greylisted, come back later", "452 4.5.3 too many recipients",
                                   "452 4.2.2 mailbox full"])
def test_transient_rcpt_refusal_is_deferred_then_retried(project, smtp, reply) -> None:  # type: ignore[no-untyped-def]
    smtp.rcpt["reader00003@example.org"] = [reply]
    summary, counts = _send(project, 6)
    assert counts["deferred"] == 1 and counts["sent"] == 5 and summary.deferred == 1
    summary, counts = _send(project, 6)  # retry_seconds 0: due at once
    assert counts["sent"] == 6 and smtp.counts()["reader00003@example.org"] == 1


def test_hard_bounce_fails_and_is_suppressed(project, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.rcpt["reader00002@example.org"] = ["550 5.1.1 <reader00002@example.org>: no such user"]
    _, counts = _send(project, 5)
    assert counts["failed"] == 1 and counts["sent"] == 4
    ledger = Ledger(project / "state" / "newsletter.sqlite3")
    assert ledger.is_suppressed("reader00002@example.org")
    row = ledger.rows("2020-10", ["failed"])[0]
    assert row.code == 550 and "5.1.1" in (row.reply or "")
    # a later issue honours the suppression
    composer = Composer.load(project)
    summary, counts = send(composer, Path("issues/2020-12.yaml"), project / "subscribers.yaml",
                           SendOptions())
    assert summary.sent == 4 and "reader00002@example.org" not in [
        r for r, _ in smtp.received[4:]]


def test_authentication_failure_stops_and_marks_nobody_failed(project, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "not-the-password")
    with pytest.raises(FatalSMTPError) as e:
        _send(project, 5)
    assert "not-the-password" not in str(e.value) and "535" in str(e.value)
    states = _states(project)
    assert set(states.values()) == {"pending"} and not smtp.received


def test_missing_starttls_with_credentials_never_sends_auth(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    srv = FaultServer("no-starttls")
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "pa55word")
    add_config(project, f"smtp:\n  host: 127.0.0.1\n  port: {srv.port}\n  security: starttls\n"
                        f"  username: mailer\n{FAST_RETRY}")
    try:
        with pytest.raises(FatalSMTPError, match="STARTTLS"):
            _send(project, 3)
        assert not [ln for ln in srv.lines if ln.upper().startswith(b"AUTH") or b"pa55word" in ln]
        assert set(_states(project).values()) == {"pending"}
    finally:
        srv.stop()


@pytest.mark.parametrize("mode", ["reset-after-dot", "silent-after-dot"])
def test_lost_after_handing_over_is_unknown_and_not_resent(project, mode) -> None:  # type: ignore[no-untyped-def]
    add_config(project, FAST_RETRY)
    srv = FaultServer(mode)

    def factory():  # type: ignore[no-untyped-def]
        t = _plain(srv.port)
        t.cfg = type(t.cfg)("127.0.0.1", srv.port, "none", timeout=0.5, data_timeout=0.5)
        return t

    try:
        summary, counts = _send(project, 3, factory=factory)
        assert counts["unknown"] == 3 and summary.unknown == 3
        delivered = srv.messages
        summary, counts = _send(project, 3, factory=factory)
        assert summary.unknown == 0 and srv.messages == delivered  # nothing re-sent automatically
        summary, counts = _send(project, 3, SendOptions(resend_unknown=True), factory)
        assert summary.unknown == 3  # re-sent on request (same Message-ID), still ambiguous here
    finally:
        srv.stop()


def test_server_that_stops_answering_leaves_everyone_pending(project) -> None:  # type: ignore[no-untyped-def]
    add_config(project, FAST_RETRY)
    srv = FaultServer("silent-after-mail")

    def factory():  # type: ignore[no-untyped-def]
        t = _plain(srv.port)
        t.cfg = type(t.cfg)("127.0.0.1", srv.port, "none", timeout=0.3, data_timeout=0.3)
        return t

    try:
        with pytest.raises(TransientError, match="pending"):
            _send(project, 4, factory=factory)
        assert set(_states(project).values()) == {"pending"}
    finally:
        srv.stop()


def test_policy_rejections_trip_the_circuit_breaker(project, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.rcpt["*"] = ["550 5.7.26 unauthenticated mail is prohibited"] * 50
    with pytest.raises(TransientError, match="SPF/DKIM/DMARC"):
        _send(project, 30, SendOptions(connections=1))
    ledger = Ledger(project / "state" / "newsletter.sqlite3")
    assert not ledger.suppressions()
    counts = ledger.counts("2020-10")
    assert counts["failed"] == 0 and counts["deferred"] == 3 and counts["pending"] == 27


def test_ledger_disk_full_stops_sending(project, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every message handed to the server was recorded first; nothing is sent once writes fail."""
    real = Ledger.mark_many
    calls = {"n": 0}

    def filling(self, issue, updates):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 6:
            calls.setdefault("received", len(smtp.counts()))  # when the first write fails
            # what sqlite3 raises when the disk (or PRAGMA max_page_count) is full
            self.db.execute("PRAGMA max_page_count = 1")
            try:
                return real(self, issue, [(k, s, c, "x" * 4000, n, a, d, q, f) for k, s, c, r, n, a, d, q, f in updates])
            finally:
                self.db.execute("PRAGMA max_page_count = 1073741823")
        return real(self, issue, updates)

    monkeypatch.setattr(Ledger, "mark_many", filling)
    with pytest.raises(LedgerError, match="full"):
        _send(project, 20, SendOptions(connections=1))
    monkeypatch.setattr(Ledger, "mark_many", real)
    states = _states(project)
    received = smtp.counts()
    assert all(states[r] in ("sent", "unknown") for r in received)
    # after the first failed write, only a message already recorded `sending` may still finish
    assert len(received) - calls["received"] <= 1


def test_changed_content_refused_without_force(project, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.rcpt["reader00001@example.org"] = ["451 4.7.1 greylisted"]
    _send(project, 3)
    issue = project / "issues" / "2020-10.yaml"
    issue.write_text(issue.read_text().replace("This month", "This month, revised,"))
    with pytest.raises(NewsletterError, match="--force"):
        _send(project, 3)
    _summary, counts = _send(project, 3, SendOptions(force=True))
    assert counts["sent"] == 3


def test_unsubscribe_during_the_run_is_honoured(project, smtp) -> None:  # type: ignore[no-untyped-def]
    write_subscribers(project, 10)
    db_path = project / "state" / "newsletter.sqlite3"
    original = smtp.handle_DATA

    async def unsubscribe_reader7(server, session, envelope):  # type: ignore[no-untyped-def]
        if not smtp.received:
            db = sqlite3.connect(db_path, timeout=10)
            db.execute("INSERT INTO suppressions (email_key, reason, source, created) "
                       "VALUES ('reader00007@example.org','unsubscribed','page',0)")
            db.commit()
            db.close()
        return await original(server, session, envelope)

    smtp.handle_DATA = unsubscribe_reader7  # type: ignore[method-assign]
    _summary, counts = _send(project, 10, SendOptions(connections=1))
    assert "reader00007@example.org" not in smtp.counts()
    assert _states(project)["reader00007@example.org"] == "skipped" and counts["sent"] == 9


def test_rate_limit_spaces_messages(project, smtp) -> None:  # type: ignore[no-untyped-def]
    """rate.per_second holds on the wire, across all connections: MAIL FROMs arrive 1/rate apart."""
    add_config(project, "rate:\n  per_second: 20\n")
    stamps: list[float] = []
    original = smtp.handle_MAIL

    async def stamp(server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        stamps.append(time.monotonic())  # the pacer spaces transaction starts (MAIL FROM)
        return await original(server, session, envelope, address, options)

    smtp.handle_MAIL = stamp  # type: ignore[method-assign]
    _send(project, 14)
    assert len(stamps) == 14
    # The first starts also carry each connection's setup (connect, EHLO, STARTTLS), which
    # shifts their arrival; from the 7th on, all 4 connections are open. 7 gaps of 50 ms: 350
    # ms; unpaced they take ~20 ms. The margin absorbs scheduling jitter of one start.
    steady = stamps[7:]
    assert steady[-1] - steady[0] >= 6 * 0.05 * 0.8


def test_dry_run_opens_no_socket_and_writes_nothing(project) -> None:  # type: ignore[no-untyped-def]
    srv = FaultServer("garbage")
    add_config(project, f"smtp:\n  host: 127.0.0.1\n  port: {srv.port}\n  security: starttls\n")
    write_subscribers(project, 5)
    try:
        plan = dry_run(Composer.load(project), ISSUE, project / "subscribers.yaml")
        assert len([e for e in plan.entries if not e.skip_reason]) == 5
        assert srv.lines == [] and not (project / "state" / "newsletter.sqlite3").exists()
    finally:
        srv.stop()


def test_everyone_suppressed_means_no_connection(project) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens: a connection attempt would fail the run
    add_config(project, f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: starttls\n")
    write_subscribers(project, 2)
    ledger = Ledger(project / "state" / "newsletter.sqlite3")
    for i in range(2):
        ledger.suppress(f"reader{i:05d}@example.org", "unsubscribed", "page")
    summary, counts = _send(project, 2)
    assert summary.sent == 0 and counts["skipped"] == 2


def test_second_concurrent_send_fails_at_once(project, smtp) -> None:  # type: ignore[no-untyped-def]
    write_subscribers(project, 3)
    with campaign_lock(project / "state", "2020-10"):
        t = time.monotonic()
        with pytest.raises(CampaignLocked, match=f"PID {os.getpid()}"):
            _send(project, 3)
        assert time.monotonic() - t < 5
    assert not smtp.received


# -- whole-process faults: the real CLI in a subprocess ------------------------------------------
def _cli(project: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "newsletter.cli", "send", str(ISSUE), "--quiet",
                             "--subscribers", "subscribers.yaml", *args], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())


def _assert_each_once(project: Path, smtp: Scripted, n: int) -> None:
    states = _states(project)
    counts = smtp.counts()
    assert len(states) == n
    assert max(counts.values()) == 1, "nobody receives a second copy"
    for email, state in states.items():
        assert state in ("sent", "unknown")
        if state == "sent":
            assert counts[email] == 1


def test_sigint_stops_cleanly_and_resume_finishes(project, smtp) -> None:  # type: ignore[no-untyped-def]
    write_subscribers(project, 60)
    smtp.delay = 0.05
    p = _cli(project)
    wait_for(lambda: len(smtp.received) >= 5, 30)
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err
    assert len(smtp.received) < 60
    smtp.delay = 0
    p = _cli(project)
    p.communicate(timeout=60)
    assert p.returncode == 0
    _assert_each_once(project, smtp, 60)


def test_second_cli_run_is_refused_while_first_runs(project, smtp) -> None:  # type: ignore[no-untyped-def]
    write_subscribers(project, 800)  # ~10 s of sending: the second run starts long before the end
    smtp.delay = 0.05
    first = _cli(project)
    wait_for(lambda: len(smtp.received) >= 2, 30)
    second = _cli(project)
    _, err = second.communicate(timeout=30)
    assert second.returncode == 5 and b"already being sent" in err
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=30)
    assert first.returncode == 130


def test_sigkill_at_random_moments_then_resume(project, smtp) -> None:  # type: ignore[no-untyped-def]
    import random

    n = 80
    write_subscribers(project, n)
    smtp.delay = 0.01
    rng = random.Random(2020)
    for _ in range(4):
        before = len(smtp.received)
        p = _cli(project)
        wait_for(lambda p=p, before=before: len(smtp.received) > before or p.poll() is not None, 30)
        time.sleep(rng.uniform(0.0, 0.3))
        p.kill()
        p.wait(10)
    smtp.delay = 0
    p = _cli(project)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    _assert_each_once(project, smtp, n)
    assert sum(smtp.counts().values()) >= n - 4 * 4  # at most the in-flight ones per kill are unknown


def _kill_then_resume(project: Path, p: subprocess.Popen[bytes], smtp: Scripted) -> None:
    """SIGKILL the `send` in `p` while the server holds a reply, release the server, and run
    `send` again to the end (exit 0)."""
    p.kill()
    p.wait(10)
    smtp.hold = 0
    again = _cli(project)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err


def test_a_crash_with_the_next_envelope_in_flight_leaves_that_reader_pending(project, smtp) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL while each connection's message waits for its reply and (pipelining) the next
    reader's envelope is already behind its final dot: only the messages whose dot left are
    `unknown`; the readers taken ahead were never delivered and go out on the resume."""
    n = 10
    write_subscribers(project, n)
    smtp.hold = 120.0
    p = _cli(project, "--connections", "2")
    ahead = 2 if smtp.pipelining else 0
    wait_for(lambda: len(smtp.received) == 2 and list(_states(project).values()).count("sending") == 2 + ahead, 30)
    held = {r for r, _ in smtp.received}
    _kill_then_resume(project, p, smtp)
    states = _states(project)
    assert {e for e, s in states.items() if s == "unknown"} == held
    assert all(s == "sent" for e, s in states.items() if e not in held)
    assert sorted(smtp.counts().values()) == [1] * n  # the held ones were not sent again


def test_a_crash_behind_a_reader_tried_again_sends_nobody_twice(project, smtp) -> None:  # type: ignore[no-untyped-def]
    """Reader 2's message gets 421 after its dot (tried again later); reader 3, taken ahead
    behind reader 2's first attempt, goes first on the new connection and its dot leaves; reader
    2 is taken ahead behind it. SIGKILL while reader 3's reply is held: reader 3 may be
    delivered (`unknown`, not sent again), reader 2's second attempt never sent its dot (sent
    on the resume). Each `sending` mark is matched by its number, not by the address."""
    r2, r3 = "reader00002@example.org", "reader00003@example.org"
    write_subscribers(project, 6)
    smtp.data[r2] = ["421 4.3.2 closing"]
    smtp.hold, smtp.hold_only = 120.0, r3
    p = _cli(project, "--connections", "1")

    def stuck() -> bool:
        if r3 not in smtp.counts():  # the ledger exists once a message has gone
            return False
        states = _states(project)
        return states[r3] == "sending" and (not smtp.pipelining or states[r2] == "sending")

    wait_for(stuck, 30)
    _kill_then_resume(project, p, smtp)
    states = _states(project)
    assert states[r3] == "unknown" and all(s == "sent" for e, s in states.items() if e != r3), states
    assert sorted(smtp.counts().values()) == [1] * 6  # nobody twice


def test_non_ascii_local_part_without_smtputf8_fails_only_that_recipient(project, tls_ca, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller

    ctx, ca_file = tls_ca
    handler = Scripted()
    c = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False,
                   tls_context=ctx, require_starttls=True, server_hostname="localhost")
    c.start()
    monkeypatch.setenv("NEWSLETTER_SMTP_CA_FILE", str(ca_file))
    add_config(project, f"smtp:\n  host: 127.0.0.1\n  port: {c.port}\n  security: starttls\n{FAST_RETRY}")
    (project / "subscribers.yaml").write_text("- email: josé@example.org\n- email: jo@example.org\n")
    try:
        _summary, counts = _send(project)
    finally:
        c.stop()
    assert counts["sent"] == 1 and counts["failed"] == 1
    ledger = Ledger(project / "state" / "newsletter.sqlite3")
    assert not ledger.suppressions()  # the address is fine; the relay lacks SMTPUTF8
    assert "SMTPUTF8" in (ledger.rows("2020-10", ["failed"])[0].reply or "")


def test_status_lists_counts_and_problem_recipients(project, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.rcpt["reader00001@example.org"] = ["550 5.1.1 no such user"]
    _send(project, 3)
    p = subprocess.run([sys.executable, "-m", "newsletter.cli", "status", "issues/2020-10.yaml"],
                       check=False, cwd=project, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^    sent +2$", p.stdout, re.MULTILINE) and re.search(r"^    failed +1$", p.stdout, re.MULTILINE)
    assert "    failed   reader00001@example.org: 550 5.1.1 no such user (attempts 1)" in p.stdout


def test_memory_transport_gets_each_reader_their_articles(project) -> None:  # type: ignore[no-untyped-def]
    from newsletter.delivery.transports import MemoryTransport

    t = MemoryTransport()
    (project / "subscribers.yaml").write_text(
        "- {email: a@example.org, topics: [neuroscience]}\n- {email: b@example.org, topics: [group]}\n")
    _summary, _ = _send(project, factory=lambda: t)
    import email as _email

    got = {r: _email.message_from_bytes(raw, policy=_email.policy.default) for _, r, raw in t.sent}
    a = got["a@example.org"].get_body(("plain",)).get_content()
    b = got["b@example.org"].get_body(("plain",)).get_content()
    heading = "Group Therapy for Mood Disorders: A Meta-Analysis\r\n====="  # a title, underlined
    assert "Physiological Synchronization in the Psychotherapy Relationship\r\n=====" in a
    assert heading not in a and "- Group Therapy for Mood" in a  # only under "Also this month"
    assert heading in b and "Also this month" in b


def test_durability_process_still_keeps_every_promise_but_power_loss(project, smtp) -> None:  # type: ignore[no-untyped-def]
    add_config(project, "durability: process\n")
    _summary, counts = _send(project, 12)
    assert counts["sent"] == 12 and sorted(smtp.counts().values()) == [1] * 12
    db = sqlite3.connect(project / "state" / "newsletter.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sender_refused_stops_the_run_and_marks_nobody_failed(project, smtp) -> None:  # type: ignore[no-untyped-def]
    smtp.mail_nth.update({3: "553 5.7.1 <digest@news.example.org>: sender address rejected"})
    with pytest.raises(FatalSMTPError, match="sender <digest@news.example.org> refused"):
        _send(project, 6, SendOptions(connections=1))
    states = _states(project)
    assert list(states.values()).count("sent") == 2 and "failed" not in states.values()
    assert list(states.values()).count("pending") == 4


def test_date_is_stamped_at_handover_and_kept_only_for_a_resend_of_unknown(project) -> None:  # type: ignore[no-untyped-def]
    """RFC 5322 §3.6.1: Date is when the message was handed over, not when the campaign began.
    A reader added twelve days later and a deferred retry get today's date; a resend of an
    `unknown` message (--resend-unknown) repeats the stored Date: same Message-ID, same bytes."""
    import email as _email
    from email.utils import parsedate_to_datetime

    from newsletter.delivery.transports.base import ErrorKind, Reply, SendError

    add_config(project, FAST_RETRY)
    attempts: list[tuple[str, bytes]] = []
    script = {"deferred@example.org": [SendError(ErrorKind.RECIPIENT, 451, "4.7.1 greylisted")],
              "lost@example.org": [SendError(ErrorKind.AMBIGUOUS, None, "connection lost after DATA")]}

    class Recording:
        description = "recording"
        max_size = None
        is_open = True

        async def open(self) -> None: ...

        def abort(self) -> None: ...

        async def close(self) -> None: ...

        async def send(self, sender: str, rcpt: str, data: bytes, *, smtputf8: bool = False,
                       upcoming: object = None, before_dot: object = None) -> Reply:
            attempts.append((rcpt, data))
            if script.get(rcpt):
                raise script[rcpt].pop(0)
            return Reply(250, "ok")

    subs = project / "subscribers.yaml"
    subs.write_text("- email: early@example.org\n- email: deferred@example.org\n- email: lost@example.org\n")
    composer = Composer.load(project)
    send(composer, ISSUE, subs, SendOptions(), Recording)
    twelve_days_ago = "Sat, 03 Oct 2020 08:00:00 +0000"
    db = sqlite3.connect(project / "state" / "newsletter.sqlite3")
    with db:  # as if the campaign had begun, and these attempts been made, twelve days ago
        db.execute("UPDATE campaigns SET date_header=?", (twelve_days_ago,))
        db.execute("UPDATE deliveries SET next_attempt=0, date_header=? WHERE email != 'lost@example.org'",
                   (twelve_days_ago,))
    lost_first = next(data for rcpt, data in attempts if rcpt == "lost@example.org")
    subs.write_text(subs.read_text() + "- email: late@example.org\n")
    before = time.time()
    send(Composer.load(project), ISSUE, subs, SendOptions(), Recording)
    send(Composer.load(project), ISSUE, subs, SendOptions(resend_unknown=True), Recording)

    def date_of(data: bytes) -> float:
        return parsedate_to_datetime(_email.message_from_bytes(data)["Date"]).timestamp()

    latest = {rcpt: data for rcpt, data in attempts}
    for rcpt in ("late@example.org", "deferred@example.org"):
        assert date_of(latest[rcpt]) >= before - 1, rcpt  # today, not the campaign's start
    assert latest["lost@example.org"] == lost_first  # the resend is the same message, byte for byte
    assert [r for r, _ in attempts].count("early@example.org") == 1
    assert _states(project) == dict.fromkeys(
        ["early@example.org", "deferred@example.org", "late@example.org", "lost@example.org"], "sent")
    stored = dict(db.execute("SELECT email, date_header FROM deliveries"))
    assert stored["late@example.org"] == _email.message_from_bytes(latest["late@example.org"])["Date"]
