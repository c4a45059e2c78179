"""pipelining: every reply queued however the bytes arrive; pipelined transactions (RFC 2920)
against a raw server that splits and merges replies, aiosmtpd over STARTTLS and Postfix's
smtp-sink, with every refusal and loss ending in the right exception and a usable connection."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
from collections.abc import Iterator
from typing import Any

import aiosmtplib
import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.delivery.transports.pipelined import Envelope, Pipeline, wire_form
from newsletter.delivery.transports.pipelining import PipeliningProtocol, PipeliningSMTP

from ..pipelining_server import PipeliningServer, Script
from ..smtp_servers import Scripted, start_aiosmtpd

SENDER = "digest@news.example.org"


def message(n: int) -> bytes:
    return (f"From: {SENDER}\r\nTo: r{n}@example.org\r\nSubject: {n}\r\n\r\nline one\r\n"
            f".leading dot {n}\r\n.\r\nlast\r\n").encode()


def unstuffed(n: int) -> bytes:
    return message(n).split(b"\r\n\r\n", 1)[1]


# -- the protocol: replies queued however the bytes are split or merged ----------------------------
_reply = st.builds(
    lambda code, lines: "".join(f"{code}{'-' if i < len(lines) - 1 else ' '}{t}\r\n" for i, t in enumerate(lines)),
    st.integers(200, 599), st.lists(st.text("abcdefghij.-:", min_size=1, max_size=12), min_size=1, max_size=3))


@settings(max_examples=60, deadline=None)
@given(replies=st.lists(_reply, min_size=1, max_size=6), cuts=st.lists(st.integers(0, 400), max_size=12),
       junk=st.booleans())
def test_every_reply_is_queued_in_order_however_the_stream_is_cut(replies: list[str], cuts: list[int],
                                                                   junk: bool) -> None:
    stream = "".join(replies).encode() + (b"250 unsolicited\r\n" if junk else b"")
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    chunks = [stream[a:b] for a, b in itertools.pairwise(points)]

    async def go() -> list[aiosmtplib.SMTPResponse]:
        ours, theirs = socket.socketpair()
        try:
            proto = PipeliningProtocol()
            await asyncio.get_running_loop().create_connection(lambda: proto, sock=ours)
            proto.data_received(b"220 greeting\r\n")
            assert (await proto.read_response(timeout=1)).code == 220
            proto.pipeline(b"NOOP\r\n" * len(replies), len(replies))
            for c in chunks:
                proto.data_received(c)
            got = [await proto.read_response(timeout=1) for _ in replies]
            assert proto.outstanding == 0
            with pytest.raises(aiosmtplib.SMTPReadTimeoutError):  # the unsolicited line was dropped
                await proto.read_response(timeout=0.01)
            return got
        finally:
            theirs.close()

    got = asyncio.run(go())
    expected = [(int(r[:3]), "\n".join(line[4:].strip(" \t") for line in r.splitlines())) for r in replies]
    assert [(g.code, g.message) for g in got] == expected


def test_a_lost_connection_is_raised_after_the_replies_that_came_before_it() -> None:
    async def go() -> None:
        ours, theirs = socket.socketpair()
        proto = PipeliningProtocol()
        await asyncio.get_running_loop().create_connection(lambda: proto, sock=ours)
        theirs.sendall(b"220 hi\r\n")
        assert (await proto.read_response(timeout=1)).code == 220
        proto.pipeline(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n", 2)
        theirs.sendall(b"250 ok\r\n421 4.3.2 closing\r\n")
        theirs.close()
        assert (await proto.read_response(timeout=1)).code == 250
        assert (await proto.read_response(timeout=1)).code == 421
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await proto.read_response(timeout=1)

    asyncio.run(go())


# -- bytes on the wire ------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"a", b".", b"..", b"\r", b"\n", b"\r\n", b" ", b"From "]), max_size=30))
def test_wire_form_is_what_aiosmtplib_would_send(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert wire_form(data) == PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data))


def test_a_ready_message_is_passed_through_unchanged() -> None:
    m = b"Subject: x\r\n\r\nbody\r\n=2Eleading dot encoded\r\n"
    assert wire_form(m) is m


# -- transactions ----------------------------------------------------------------------------------
async def _send_all(port: int, n: int, *, tls: Any = None, first: int = 0) -> list[int]:
    smtp = PipeliningSMTP(hostname="127.0.0.1", port=port, start_tls=tls is not None, tls_context=tls,
                          timeout=10)
    await smtp.connect()
    if smtp.is_ehlo_or_helo_needed:
        await smtp.ehlo()
    p = Pipeline(smtp, pipelining=smtp.supports_extension("pipelining"), timeout=10, data_timeout=10)
    envs = [Envelope(SENDER, f"r{i}@example.org") for i in range(first, first + n)]
    p.begin(envs[0])
    codes = []
    for i, env in enumerate(envs):
        assert (await p.opened()) == env
        reply = await p.finish(wire_form(message(first + i)), envs[i + 1] if i + 1 < n else None)
        codes.append(reply.code)
    assert p.idle
    await smtp.quit()
    return codes


def test_without_pipelining_every_command_waits_for_its_reply() -> None:
    server = PipeliningServer(pipelining=False)
    try:
        assert asyncio.run(_send_all(server.port, 4)) == [250] * 4
        assert len(server.messages) == 4 and server.batched == 0
        assert server.flushes == 1 + 4 * 4  # EHLO, then four round trips a message
    finally:
        server.stop()


@pytest.mark.parametrize("split", ["merge", "bytes", "lines"])
def test_one_round_trip_per_message_however_replies_arrive(split: str) -> None:
    server = PipeliningServer(split=split)
    try:
        assert asyncio.run(_send_all(server.port, 6)) == [250] * 6
        assert [r for r, _ in server.messages] == [f"r{i}@example.org" for i in range(6)]
        assert [m.split(b"\r\n\r\n", 1)[1] for _, m in server.messages] == [unstuffed(i) for i in range(6)]
        # EHLO, the first group, then one reply burst per message (its dot and the next group)
        assert server.flushes == 1 + 1 + 6
        assert server.commands.count("DATA") == 6 and "RSET" not in server.commands
    finally:
        server.stop()


class _PipeliningScripted(Scripted):
    """aiosmtpd reads commands line by line, so it pipelines; it only does not say so."""

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


def test_aiosmtpd_over_starttls(tls_ca) -> None:  # type: ignore[no-untyped-def]
    import ssl

    server_ctx, ca_file = tls_ca
    handler = _PipeliningScripted()
    c = start_aiosmtpd(handler, tls=server_ctx)
    try:
        client = ssl.create_default_context(cafile=str(ca_file))
        assert asyncio.run(_send_all(c.port, 5, tls=client)) == [250] * 5
        assert [r for r, _ in handler.received] == [f"r{i}@example.org" for i in range(5)]
        assert all(b.replace(b"\r\n", b"\n").endswith(unstuffed(i).replace(b"\r\n", b"\n"))
                   for i, (_, b) in enumerate(handler.received))
    finally:
        c.stop()


# -- refusals and losses (RFC 2920 §3.1) -----------------------------------------------------------
async def _two(port: int) -> tuple[Pipeline, PipeliningSMTP]:
    smtp = PipeliningSMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30)
    await smtp.connect()
    await smtp.ehlo()
    return Pipeline(smtp, pipelining=smtp.supports_extension("pipelining"), timeout=30, data_timeout=30), smtp


def _first_then_second(script: Script, pipelining: bool) -> tuple[PipeliningServer, BaseException | None, str]:
    """Send r0 then r1 (pipelined if the server offers it); report the first exception and how
    r1 fared afterwards."""
    server = PipeliningServer(script, pipelining=pipelining)

    async def go() -> tuple[BaseException | None, str]:
        p, smtp = await _two(server.port)
        e0, e1 = Envelope(SENDER, "r0@example.org"), Envelope(SENDER, "r1@example.org")
        err: BaseException | None = None
        p.begin(e0)
        try:
            await p.opened()
            await p.finish(wire_form(message(0)), e1)
        except aiosmtplib.SMTPException as exc:
            err = exc
        if p.in_flight is None:
            if not smtp.is_connected:
                return err, "closed"
            p.begin(e1)
        try:
            await p.opened()
            r = await p.finish(wire_form(message(1)))
        except aiosmtplib.SMTPException as exc:
            return err, f"r1 {type(exc).__name__}"
        await smtp.quit()
        return err, f"r1 {r.code}"

    try:
        err, after = asyncio.run(go())
    finally:
        server.stop()
    return server, err, after


@pytest.mark.parametrize(("script", "error", "code", "after", "extra"), [
    (Script(rcpt={"r0@example.org": ["550 5.1.1 no such user"]}),
     aiosmtplib.SMTPRecipientRefused, 550, "r1 250", "RSET"),
    (Script(rcpt={"r0@example.org": ["450 4.2.1 slow down"]}, data_without_rcpt="354 go on"),
     aiosmtplib.SMTPRecipientRefused, 450, "r1 250", "lone dot"),
    (Script(mail_nth={1: "451 4.3.0 try later"}), aiosmtplib.SMTPSenderRefused, 451, "r1 250", ""),
    (Script(mail_nth={1: "421 4.3.2 too many connections"}), aiosmtplib.SMTPSenderRefused, 421, "closed", ""),
    (Script(dot={"r0@example.org": ["554 5.7.1 spam"]}), aiosmtplib.SMTPDataError, 554, "r1 250", ""),
    (Script(dot={"r0@example.org": ["421 4.4.2 bye"]}), aiosmtplib.SMTPDataError, 421, "closed", ""),
    (Script(dot={"r0@example.org": ["close"]}), aiosmtplib.SMTPServerDisconnected, None, "closed", "dot sent"),
    (Script(rcpt={"r1@example.org": ["close"]}), None, None, "r1 SMTPServerDisconnected", ""),
    # a short message has left before the early reply comes back: it reads as the dot's reply
    (Script(early_reply_after=40), aiosmtplib.SMTPDataError, 552, "r1 SMTPServerDisconnected", ""),
])
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_refusals_and_losses(script: Script, error: type[BaseException] | None, code: int | None,
                             after: str, extra: str, pipelining: bool) -> None:
    import copy

    server, err, got_after = _first_then_second(copy.deepcopy(script), pipelining)
    if error is None:
        assert err is None
    else:
        assert isinstance(err, error), err
        assert getattr(err, "code", None) == code or code is None
    assert got_after == after
    delivered = [r for r, _ in server.messages]
    assert "r0@example.org" not in delivered or error is None
    assert ("r1@example.org" in delivered) == (after == "r1 250")
    if extra == "RSET" or (extra == "lone dot" and not pipelining):  # one by one: DATA is never sent
        assert server.commands.count("RSET") == 1 and server.lone_dots == 0
    elif extra == "lone dot":
        assert server.lone_dots == 1 and "RSET" not in server.commands
    assert server.batched == 0 or pipelining
    if extra.startswith("dot"):
        assert (b".\r\n" in b"".join(m for _, m in server.messages)) is False


def test_dot_sent_tells_a_maybe_delivered_message_from_one_that_was_not() -> None:
    big = wire_form(message(0) + b"x" * 70 + b"\r\n") * 200_000  # more than the socket buffers hold
    for script, dot_sent in ((Script(dot={"*": ["close"]}), True), (Script(early_reply_after=40), False)):
        server = PipeliningServer(script)

        async def go() -> bool:
            p, _ = await _two(server.port)  # noqa: B023
            p.begin(Envelope(SENDER, "r0@example.org"))
            await p.opened()
            with pytest.raises((aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPDataError)):
                await p.finish(big, Envelope(SENDER, "r1@example.org"))
            assert p.idle
            return p.dot_sent

        try:
            assert asyncio.run(go()) is dot_sent
        finally:
            server.stop()


def test_an_address_that_could_smuggle_a_command_is_refused_before_anything_is_written() -> None:
    for bad in ("a@example.org>\r\nRSET", "a b@example.org", "a@exa\x00mple.org"):
        with pytest.raises(ValueError, match="no SMTP command"):
            Envelope(SENDER, bad).group()
    with pytest.raises(UnicodeEncodeError):
        Envelope(SENDER, "zoë@example.org").group()
    assert Envelope(SENDER, "zoë@example.org", ("SMTPUTF8",), utf8=True).group().startswith(
        f"MAIL FROM:<{SENDER}> SMTPUTF8\r\nRCPT TO:<zoë@example.org>\r\n".encode())


# -- Postfix's smtp-sink ---------------------------------------------------------------------------
@pytest.fixture
def sink(tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess
    import time

    from ..smtp_servers import free_port

    exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

    def start(*opts: str) -> tuple[int, Any]:
        port = free_port()
        cmd = [exe, *opts, "-u", "nobody"] if hasattr(__import__("os"), "geteuid") and \
            __import__("os").geteuid() == 0 else [exe, *opts]
        proc = subprocess.Popen([*cmd, f"127.0.0.1:{port}", "16"], stderr=subprocess.PIPE)
        procs.append(proc)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    if s.recv(100).startswith(b"220"):
                        return port, proc
            except OSError:
                time.sleep(0.02)
        raise AssertionError("smtp-sink did not start")

    procs: list[Any] = []
    if not __import__("os").path.exists(exe):
        pytest.fail("smtp-sink is missing: `bash .ci/run` installs Debian's postfix (unconfigured)")
    yield start
    for p in procs:
        p.terminate()
        p.wait(5)


def test_smtp_sink_receives_every_message_intact(sink) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import tempfile
    from pathlib import Path

    dump = Path(tempfile.mkdtemp(prefix="sink-"))  # smtp-sink writes as nobody: not under pytest's 0700 tmp
    try:
        dump.chmod(0o777)
        port, _ = sink("-D", str(dump / "all"))
        assert asyncio.run(_send_all(port, 20)) == [250] * 20
        text = (dump / "all").read_bytes()
    finally:
        shutil.rmtree(dump)
    for i in range(20):
        assert f"RCPT TO:<r{i}@example.org>".encode() in text or f"r{i}@example.org".encode() in text
        assert unstuffed(i).replace(b"\r\n", b"\n") in text.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(("opt", "error", "dot_sent"), [
    ("-Q", aiosmtplib.SMTPDataError, True),  # 421 after the dot
    ("-q", aiosmtplib.SMTPServerDisconnected, True),  # gone after the dot, no reply: maybe delivered
])
def test_smtp_sink_closing_after_the_dot(sink, opt: str, error: type[Exception], dot_sent: bool) -> None:  # type: ignore[no-untyped-def]
    port, _ = sink(opt, ".")

    async def go() -> None:
        p, smtp = await _two(port)
        p.begin(Envelope(SENDER, "r0@example.org"))
        await p.opened()
        with pytest.raises(error) as e:
            await p.finish(wire_form(message(0)), Envelope(SENDER, "r1@example.org"))
        assert p.dot_sent is dot_sent and p.idle and not smtp.is_connected
        if isinstance(e.value, aiosmtplib.SMTPDataError):
            assert e.value.code == 421 and re.match(r"4\.\d\.\d", e.value.message)

    asyncio.run(go())


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300) | st.lists(st.sampled_from(
    [b"250", b"-", b" ", b"ok", b"\r\n", b"\n", b"354", b"550", b"x", b"2", b"\xff", b"999"]), max_size=30).map(b"".join))
def test_a_reply_is_read_or_refused_never_guessed(data: bytes) -> None:
    """Whatever the bytes, `parse_reply` returns nothing yet, a reply of one code 200-599 whose
    every line said that code, or raises OutOfStep (never another error)."""
    from newsletter.delivery.transports.pipelining import OutOfStep, parse_reply

    try:
        got = parse_reply(data)
    except OutOfStep:
        return
    if got is None:  # only continuation lines are complete so far
        assert all(line[3:4] == b"-" for line in data.split(b"\n")[:-1])
        return
    reply, used = got
    assert 200 <= reply.code <= 599 and 0 < used <= len(data)
    lines = data[:used].split(b"\n")[:-1]
    assert all(line[:3] == str(reply.code).encode() for line in lines)
    assert all(line[3:4] == b"-" for line in lines[:-1]) and lines[-1][3:4] in (b"", b" ", b"\r")
