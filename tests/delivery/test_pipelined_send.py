"""send with pipelining (RFC 2920): about one round trip a message, and every fault lands in its
right state while the next message's envelope is already on its way; against a raw server that
advertises PIPELINING (and splits its replies), with the fallback when it does not."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import pytest

from newsletter.delivery.sending import SendOptions
from newsletter.delivery.transports import SMTPTransport
from newsletter.store.ledger import Ledger

from ..conftest import add_config
from ..pipelining_server import PipeliningServer, Script
from .conftest import FAST_RETRY
from .conftest import send_issue as _send
from .test_transport import _plain

R = "reader{:05d}@example.org".format


def _send_to(project: Path, server: PipeliningServer, n: int, connections: int = 1):  # type: ignore[no-untyped-def]
    add_config(project, FAST_RETRY)

    def factory() -> SMTPTransport:
        t = _plain(server.port)
        t.cfg = type(t.cfg)("127.0.0.1", server.port, "none", timeout=5, data_timeout=5)
        return t

    return _send(project, n, SendOptions(connections=connections), factory)


def _rows(project: Path) -> dict[str, tuple[str, int | None]]:
    db = sqlite3.connect(project / "state" / "newsletter.sqlite3")
    try:
        return {r[0]: (r[1], r[2]) for r in db.execute(
            "SELECT email, state, code FROM deliveries WHERE issue='2020-10'")}
    finally:
        db.close()


@pytest.mark.parametrize("split", ["merge", "bytes"])
def test_one_round_trip_a_message(project: Path, split: str) -> None:
    server = PipeliningServer(split=split)
    try:
        summary, counts = _send_to(project, server, 12)
    finally:
        server.stop()
    assert counts["sent"] == 12 and summary.sent == 12
    assert sorted(r for r, _ in server.messages) == [R(i) for i in range(12)]
    assert server.flushes == 1 + 1 + 12  # EHLO, the first group, then one per message


def test_without_pipelining_the_same_send_goes_one_command_at_a_time(project: Path) -> None:
    server = PipeliningServer(pipelining=False)
    try:
        _, counts = _send_to(project, server, 5)
    finally:
        server.stop()
    assert counts["sent"] == 5 and server.batched == 0 and server.flushes == 1 + 4 * 5


def test_pipelining_off_in_the_configuration(project: Path) -> None:
    server = PipeliningServer()
    add_config(project, FAST_RETRY)

    def factory() -> SMTPTransport:
        t = _plain(server.port)
        t.cfg = type(t.cfg)("127.0.0.1", server.port, "none", timeout=5, data_timeout=5, pipelining=False)
        return t

    try:
        _, counts = _send(project, 4, SendOptions(connections=1), factory)
    finally:
        server.stop()
    assert counts["sent"] == 4 and server.batched == 0


def _eight_readers(project: Path, script: Script, split: str, pipelining: bool, third: tuple[str, int | None],
                   server: PipeliningServer | None = None, unsure: str = "") -> tuple[list[str], list[str]]:
    """Send to eight readers through `script`'s server; reader 3 ends as `third`, every other
    one sent (`unsure` may also be `unknown`). Returns (the readers the server took, in order;
    the seven others)."""
    server = server or PipeliningServer(copy.deepcopy(script), split=split, pipelining=pipelining)
    try:
        _send_to(project, server, 8)
    finally:
        server.stop()
    got = _rows(project)
    assert got[R(3)] == third, got[R(3)]
    others = [R(i) for i in range(8) if i != 3]
    assert all(got[r][0] == "sent" or (r == unsure and got[r][0] == "unknown") for r in others), got
    return [r for r, _ in server.messages], others


# (script, recipient 3's state and code, suppressed, lone dots); while recipient 3's message is
# sent, recipient 4's envelope is already in flight behind it
FAULTS = [
    (Script(rcpt={R(3): ["550 5.1.1 no such user"]}), ("failed", 550), True, 0),
    (Script(rcpt={R(3): ["450 4.2.1 slow down"]}), ("deferred", 450), False, 0),
    (Script(rcpt={R(3): ["550 5.1.1 no such user"]}, data_without_rcpt="354 go ahead"), ("failed", 550), True, 1),
    (Script(dot={R(3): ["554 5.6.0 content rejected"]}), ("failed", 554), False, 0),
    (Script(dot={R(3): ["451 4.3.0 try later"]}), ("deferred", 451), False, 0),
    (Script(dot={R(3): ["close"]}), ("unknown", None), False, 0),
    (Script(dot={R(3): ["421 4.3.2 closing"]}), ("sent", 250), False, 0),
    (Script(rcpt={R(4): ["close"]}), ("sent", 250), False, 0),
    (Script(mail_nth={4: "421 4.7.0 too many connections"}), ("sent", 250), False, 0),
    # bytes that are not UTF-8 in a reply: read (as U+FFFD) and recorded like any other
    (Script(rcpt={R(3): ["450 4.2.1 later \udce9"]}), ("deferred", 450), False, 0),
    (Script(rcpt={R(3): ["550 5.1.1 no such user \udcff"]}), ("failed", 550), True, 0),
    (Script(dot={R(3): ["250 2.0.0 queued \udcff\udcfe"]}), ("sent", 250), False, 0),
]

# Replies read by their first digit, and replies that cannot be trusted (RFC 5321 §4.2): a 2yz
# other than 250 is delivered; after the final dot, a reply that cannot be read, or one whose
# class the end of data cannot have, leaves the message `unknown` (never sent again by itself);
# a reply nobody asked for, before the dot, costs the connection, not the reader (no refusal is
# pinned on them, nobody suppressed). Replies arrive merged, so an extra one comes in the same
# read as the reply before it (one command at a time, an extra reply that comes after the next
# command was written cannot be told from that command's reply, by any client).
DISTRUST = [
    (Script(dot={R(3): ["299 2.0.0 odd but positive"]}), ("sent", 299)),
    (Script(dot={R(3): ["252 2.0.0 accepted"]}), ("sent", 252)),
    (Script(rcpt={R(3): ["251 2.1.5 will forward"]}), ("sent", 250)),
    (Script(dot={R(3): ["garbage line\r\n250 2.0.0 queued"]}), ("unknown", None)),
    (Script(dot={R(3): ["xyz garbage"]}), ("unknown", None)),
    (Script(dot={R(3): ["250 2.0.0 " + "x" * 9000]}), ("unknown", None)),
    (Script(dot={R(3): ["250-2.0.0 first line\r\n550 5.0.0 second line"]}), ("unknown", None)),
    (Script(dot={R(3): ["354 go ahead again"]}), ("unknown", None)),
    (Script(dot={R(3): ["199 what"]}), ("unknown", None)),
    (Script(mail_nth={4: "250 2.1.0 OK\r\n550 5.1.1 unsolicited"}), ("sent", 250)),
    (Script(mail_nth={4: "250 2.1.0 OK\r\n250 2.1.0 unsolicited"}), ("sent", 250)),
    (Script(rcpt={R(3): ["250 2.1.5 OK\r\n550 5.1.1 unsolicited"]}), ("sent", 250)),
    (Script(rcpt={R(3): ["354 not now"]}), ("sent", 250)),
    (Script(mail_nth={4: "999 nonsense"}), ("sent", 250)),
]


@pytest.mark.parametrize(("script", "third"), DISTRUST)
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_replies_are_read_by_class_and_never_pinned_on_the_wrong_reader(
        project: Path, script: Script, third: tuple[str, int | None], pipelining: bool) -> None:
    # pipelined, reader 3's group rides behind reader 2's dot: if its replies are out of step, the
    # reply taken as reader 2's may not have been (a stray one during the upload): unknown
    delivered, others = _eight_readers(project, script, "merge", pipelining, third,
                                       unsure=R(2) if pipelining else "")
    ledger = Ledger(project / "state" / "newsletter.sqlite3")
    assert not any(ledger.is_suppressed(R(i)) for i in range(8))
    assert len(delivered) == len(set(delivered))  # nobody twice
    assert set(delivered) - {R(3)} == set(others)
    if third[0] == "sent":
        assert R(3) in delivered


@pytest.mark.parametrize(("script", "third", "suppressed", "lone_dots"), FAULTS)
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_every_fault_lands_in_its_state(project: Path, script: Script, third: tuple[str, int | None],
                                        suppressed: bool, lone_dots: int, pipelining: bool) -> None:
    server = PipeliningServer(copy.deepcopy(script), split="lines", pipelining=pipelining)
    delivered, others = _eight_readers(project, script, "lines", pipelining, third, server)
    assert Ledger(project / "state" / "newsletter.sqlite3").is_suppressed(R(3)) == suppressed
    assert server.lone_dots == (lone_dots if pipelining else 0)
    assert sorted(set(delivered)) == sorted(others + ([R(3)] if third[0] == "sent" else []))
    assert len(delivered) == len(set(delivered))  # nobody twice


@pytest.mark.parametrize("extra", ["354 unsolicited", "550 5.1.1 unsolicited", "250 2.0.0 unsolicited"])
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_a_reply_too_many_after_the_end_of_a_message(project: Path, extra: str, pipelining: bool) -> None:
    """Reader 2's 250 comes with a reply nobody asked for. Pipelined, the next reader's group is
    already in flight and its replies no longer fit their commands; one command at a time, the
    extra reply comes when nothing is owed. Either way reader 2's reply itself cannot be
    trusted (`unknown`, not sent again), the connection ends and reader 3 goes out on another."""
    server = PipeliningServer(Script(dot={R(2): [f"250 2.0.0 queued\r\n{extra}"]}), split="merge",
                              pipelining=pipelining)
    try:
        _send_to(project, server, 6)
    finally:
        server.stop()
    got = _rows(project)
    assert got[R(2)][0] == "unknown", got[R(2)]
    assert all(got[R(i)][0] == "sent" for i in range(6) if i != 2), got
    delivered = [r for r, _ in server.messages]
    assert sorted(delivered) == [R(i) for i in range(6)]  # each once; reader 2's was taken


def test_a_relay_that_says_pipelining_but_drops_it_stops_with_the_reason_and_the_way_out(project: Path) -> None:
    """Every transaction times out waiting for RCPT's reply: nobody is marked (they stay
    pending), and the stop says what went wrong last and how to turn pipelining off."""
    from newsletter.errors import TransientError

    server = PipeliningServer(Script(drop_early_input=True))
    add_config(project, FAST_RETRY)

    def factory() -> SMTPTransport:
        t = _plain(server.port)
        t.cfg = type(t.cfg)("127.0.0.1", server.port, "none", timeout=0.3, data_timeout=0.3)
        return t

    try:
        with pytest.raises(TransientError) as e:
            _send(project, 3, SendOptions(connections=1), factory)
    finally:
        server.stop()
    msg = str(e.value)
    assert "the last: " in msg and "None" not in msg and "not delivered" in msg, msg
    assert 'pipelining: \\"off\\"' in msg or 'pipelining: "off"' in msg, msg
    assert {state for state, _ in _rows(project).values()} == {"pending"}


@pytest.mark.parametrize("stray", ["550 5.1.1 unsolicited", "451 4.3.0 unsolicited", "421 4.3.2 unsolicited",
                                   "552 5.3.4 unsolicited"])
def test_a_stray_reply_during_the_upload_never_settles_the_reader(project: Path, stray: str) -> None:
    """The relay writes a reply nobody asked for while reader 3's message is arriving, then
    takes the message (250). Whether it reaches us before the final dot (the upload is cut:
    not delivered, tried again) or after it (taken for the dot's reply, until the replies of the
    next group, written behind the dot, do not fit their commands: `unknown`), reader 3 is
    never failed, deferred or suppressed, and never gets two copies."""
    server = PipeliningServer(Script(inject_in_data={R(3): stray}), split="merge")
    try:
        _send_to(project, server, 6)
    finally:
        server.stop()
    got = _rows(project)
    assert got[R(3)][0] in ("sent", "unknown"), got[R(3)]
    assert all(got[R(i)][0] in ("sent", "unknown") for i in range(6)), got
    assert not any(Ledger(project / "state" / "newsletter.sqlite3").is_suppressed(R(i)) for i in range(6))
    delivered = [r for r, _ in server.messages]
    assert sorted(set(delivered)) == [R(i) for i in range(6)] and len(delivered) == 6  # each once
    assert all(r in delivered for r in got if got[r][0] == "unknown")  # an unknown one did arrive
