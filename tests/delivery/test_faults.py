"""Every delivery fault lands in the right state, against real servers: one recipient's refusal
is theirs alone, attempt limits end every retry path, bursts pause the run, the relay's SIZE is
read before the first transaction, the pool adapts to the relay, the list may change between
runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.delivery.sending import SendOptions
from newsletter.delivery.transports import MemoryTransport
from newsletter.errors import CheckFailed, FatalSMTPError, TransientError
from newsletter.mail.message import CompiledVariant
from newsletter.store.ledger import Ledger

from ..conftest import add_config, write_subscribers
from ..smtp_servers import FaultServer, Scripted, free_port, start_aiosmtpd
from .conftest import FAST_RETRY, rows, send_issue, set_retry, states
from .test_transport import _plain

# one campaign, each kind of refusal for one recipient (every other one is accepted)
REFUSALS = [  # (where, reply, state, suppressed)
    ("data", "552 5.3.4 message too big for this system", "failed", False),
    ("data", "554 5.6.0 message content rejected", "failed", False),
    ("data", "500 5.5.2 what?", "failed", False),
    ("data", "451 4.3.0 try again later", "deferred", False),
    ("data", "550 5.7.1 refused by local policy", "deferred", False),
    ("rcpt", "550 5.1.1 no such user", "failed", True),
    ("rcpt", "553 5.1.3 bad address syntax", "failed", True),
    ("rcpt", "552 5.2.2 mailbox full", "deferred", False),
]


def test_each_recipients_refusal_is_settled_for_them_alone(project: Path, smtp: Scripted,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    n = 2 * len(REFUSALS) + 4
    set_retry(project, breaker_threshold=50)
    for i, (where, reply, _, _) in enumerate(REFUSALS):
        getattr(smtp, where)[f"reader{2 * i:05d}@example.org"] = [reply]
    build = CompiledVariant.build

    def build_or_fail(self, r, message_id=None, date=None):  # type: ignore[no-untyped-def]
        if r.email == f"reader{n - 1:05d}@example.org":  # a fault of our own, for one reader only
            raise ValueError("cannot encode this reader's name")
        return build(self, r, message_id, date)

    monkeypatch.setattr(CompiledVariant, "build", build_or_fail)
    summary, counts = send_issue(project, n)  # no exception: nothing stops the campaign
    got = rows(project)
    ledger = Ledger(project / "state" / "newsletter.sqlite3")
    for i, (_, reply, state, suppressed) in enumerate(REFUSALS):
        email = f"reader{2 * i:05d}@example.org"
        assert got[email][0] == state and got[email][2] == int(reply[:3]), (reply, got[email])
        assert ledger.is_suppressed(email) == suppressed, reply
    assert got[f"reader{n - 1:05d}@example.org"][0] == "failed"
    assert "cannot build the message: ValueError" in (got[f"reader{n - 1:05d}@example.org"][3] or "")
    accepted = [f"reader{i:05d}@example.org" for i in range(1, n - 1, 2)] + [
        f"reader{i:05d}@example.org" for i in range(2 * len(REFUSALS), n - 1)]
    assert sorted(smtp.counts()) == sorted(set(accepted)) and summary.stop is None
    assert counts["sent"] == len(set(accepted)) and summary.failed == 6


def test_the_same_permanent_refusal_for_many_in_a_row_pauses_without_failing_anyone(project: Path,
                                                                                     smtp: Scripted) -> None:
    smtp.data["*"] = ["552 5.3.4 message too big for this system"] * 100
    with pytest.raises(TransientError, match="3 recipients in a row .* 552 5.3.4 .*too large") as e:
        send_issue(project, 12)
    assert e.value.exit_code == 3
    assert "failed" not in states(project).values() and not Ledger(project / "state" / "newsletter.sqlite3").suppressions()
    smtp.data["*"] = []  # the cause fixed: the next run delivers everyone
    _, counts = send_issue(project, 12)
    assert counts["sent"] == 12 and sorted(smtp.counts().values()) == [1] * 12


def test_size_is_read_before_the_first_transaction(project: Path, tls_ca, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ctx, ca_file = tls_ca
    handler = Scripted()
    c = start_aiosmtpd(handler, tls=ctx, size_limit=10_000)  # EHLO: SIZE 10000
    monkeypatch.setenv("NEWSLETTER_SMTP_CA_FILE", str(ca_file))
    add_config(project, f"smtp:\n  host: 127.0.0.1\n  port: {c.port}\n  security: starttls\n{FAST_RETRY}")
    try:
        with pytest.raises(CheckFailed, match=r"at most 10,000 bytes \(SIZE\), but the message with articles \[1, 2, 3\] is [\d,]+ bytes"):
            send_issue(project, 6)
    finally:
        c.stop()
    assert not [cmd for cmd in handler.commands if cmd.startswith("MAIL")]  # nothing uploaded
    assert set(states(project).values()) == {"pending"}


def test_a_message_over_the_relays_size_is_refused_before_upload(project: Path) -> None:
    """One reader's message may exceed the limit although the variant's largest did not (the
    pre-flight builds one message per variant): that reader alone, without an upload."""
    add_config(project, FAST_RETRY)
    probe = MemoryTransport()  # the first connection: no limit
    strict = MemoryTransport(max_size=1000)
    made = iter([probe, strict])
    _summary, counts = send_issue(project, 2, SendOptions(connections=2), factory=lambda: next(made))
    assert counts["sent"] + counts["failed"] == 2 and strict.sent == []
    failed = [r for r in rows(project).values() if r[0] == "failed"]
    assert all(r[2] == 552 and "5.3.4" in (r[3] or "") and "not uploaded" in (r[3] or "") for r in failed)


@pytest.mark.parametrize("case,runs", [("421 after the final dot", 1), ("451 at RCPT", 3),
                                       ("5.7.1 after the final dot", 3), ("reset at DATA", 1)])
def test_max_attempts_ends_every_retry_path(project: Path, smtp: Scripted, case: str, runs: int) -> None:
    set_retry(project, max_attempts=3, breaker_threshold=50)
    target = "reader00001@example.org"
    srv = None
    factory = None
    if case == "421 after the final dot":
        smtp.data[target] = ["421 4.3.2 service shutting down"] * 20
    elif case == "451 at RCPT":
        smtp.rcpt[target] = ["451 4.7.1 greylisted"] * 20
    elif case == "5.7.1 after the final dot":
        smtp.data[target] = ["550 5.7.1 refused by policy"] * 20
    else:
        srv = FaultServer("reset-at-data")
        factory = lambda: _plain(srv.port)
        (project / "subscribers.yaml").write_text(f"- email: {target}\n")
    try:
        for _ in range(runs):
            summary, counts = send_issue(project, 4, factory=factory)
    finally:
        if srv is not None:
            srv.stop()
    state, attempts, _code, reply = rows(project)[target]
    assert (state, attempts) == ("failed", 3), reply
    assert (reply or "").endswith("(gave up after 3 attempts: retry.max_attempts is 3)")
    assert counts["pending"] == counts["deferred"] == 0 and summary.stop is None  # the campaign can finish


def test_reset_before_the_end_of_the_message_is_retried_not_unknown(project: Path) -> None:
    add_config(project, FAST_RETRY)
    srv = FaultServer("reset-at-data", faults=1)  # the first transaction: reset at DATA
    try:
        summary, counts = send_issue(project, 3, SendOptions(connections=1), factory=lambda: _plain(srv.port))
    finally:
        srv.stop()
    assert (counts["sent"], counts["unknown"], summary.unknown) == (3, 0, 0)
    assert srv.messages == 3  # each once


def test_people_removed_from_the_list_are_skipped_and_the_campaign_finishes(project: Path, smtp: Scripted) -> None:
    smtp.mail_nth[7] = "553 5.7.1 <digest@news.example.org>: sender address rejected"
    smtp.rcpt["reader00009@example.org"] = ["451 4.7.1 greylisted"]
    subs = write_subscribers(project, 30)
    with pytest.raises(FatalSMTPError):
        send_issue(project, 30, SendOptions(connections=1))  # 6 sent, the rest pending
    smtp.mail_nth.clear()
    lines = subs.read_text().splitlines(keepends=True)
    keep = [ln for i, ln in enumerate(lines) if i // 3 not in (10, 11, 12)]  # readers 10-12 leave
    subs.write_text("".join(keep) + "- email: newcomer@example.org\n")
    send_issue(project, 30)
    send_issue(project, 30)  # reader 9 (deferred) is due again, then leaves too
    subs.write_text(subs.read_text().replace("- email: reader00009@example.org\n", "- email: x@example.org\n"))
    _summary, counts = send_issue(project, 30)
    got = rows(project)
    for gone in ("reader00010@example.org", "reader00011@example.org", "reader00012@example.org"):
        assert got[gone][0] == "skipped" and got[gone][3] == "removed from the list"
    assert got["newcomer@example.org"][0] == "sent" and got["x@example.org"][0] == "sent"
    assert counts["pending"] == counts["deferred"] == 0
    assert Ledger(project / "state" / "newsletter.sqlite3").unfinished() == []  # finished


def test_pool_shrinks_to_the_connections_the_relay_accepts(project: Path) -> None:
    add_config(project, FAST_RETRY)
    srv = FaultServer(max_connections=2)
    try:
        summary, counts = send_issue(project, 20, SendOptions(connections=8), factory=lambda: _plain(srv.port))
    finally:
        srv.stop()
    assert counts["sent"] == 20 and srv.messages == 20 and srv.refused >= 1 and srv.most <= 2
    notes = [line for line in summary.replies if "accepted only" in line]
    assert len(notes) == 1 and "421 4.7.0" in notes[0] and "2 connection(s)" in notes[0]


def test_an_outage_shorter_than_the_retry_window_is_ridden_out(project: Path) -> None:
    set_retry(project, backoff_seconds=0.05, connect_retries=5)  # window 1.55 s
    srv = FaultServer(outage=(4, 0.5))  # after 4 messages: gone for 0.5 s, every connection reset
    try:
        summary, counts = send_issue(project, 16, SendOptions(connections=4), factory=lambda: _plain(srv.port))
    finally:
        srv.stop()
    assert srv.outages == 1 and summary.stop is None
    assert counts["pending"] == counts["deferred"] == 0 and counts["sent"] + counts["unknown"] == 16
    assert srv.messages >= counts["sent"]


def test_no_connection_for_the_whole_window_stops_resumably(project: Path) -> None:
    add_config(project, FAST_RETRY)
    port = free_port()  # nobody listens
    with pytest.raises(TransientError, match="no connection to the relay worked") as e:
        send_issue(project, 5, SendOptions(connections=3), factory=lambda: _plain(port))
    assert "Resume with: newsletter send issues/2020-10.yaml --subscribers subscribers.yaml" in str(e.value)
    assert set(states(project).values()) == {"pending"}
