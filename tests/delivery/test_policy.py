"""policy.settle: every kind of reply or error, at every stage, lands in one right state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.config import RetrySettings
from newsletter.delivery.breaker import Breaker
from newsletter.delivery.policy import Verdict, settle
from newsletter.delivery.transports import Reply, SendError, Stage

RETRY = RetrySettings(defer_seconds=300, max_defer_seconds=4000, max_attempts=3)
R, C, A, F, I = "recipient", "connection", "ambiguous", "fatal", "internal"


@pytest.mark.parametrize("result,state,added,extra", [
    (Reply(250, "2.0.0 queued as X"), "sent", 1, {}),
    # about the address: a hard bounce is failed and suppressed; mailbox full is retried
    (SendError(R, 550, "5.1.1 no such user", Stage.RCPT), "failed", 1, {"suppress": True}),
    (SendError(R, 553, "mailbox name not allowed", Stage.RCPT), "failed", 1, {"suppress": True}),
    (SendError(R, 552, "5.2.2 mailbox full", Stage.RCPT), "deferred", 1, {"retry_in": 300}),
    (SendError(R, 451, "4.7.1 greylisted", Stage.RCPT), "deferred", 1, {"retry_in": 300}),
    # about the message, not the address: failed for this recipient, never suppressed
    (SendError(R, 552, "5.3.4 message too big", Stage.DOT), "failed", 1, {"signature": "552 5.3.4"}),
    (SendError(R, 552, "5.3.4 message size exceeds fixed limit", Stage.MAIL), "failed", 1,
     {"signature": "552 5.3.4"}),
    (SendError(R, 554, "5.6.0 content rejected", Stage.DOT), "failed", 1, {"signature": "554 5.6.0"}),
    (SendError(R, 553, "5.6.7 the server does not support SMTPUTF8", Stage.MAIL), "failed", 1,
     {"signature": "553 5.6.7"}),
    (SendError(R, 500, "syntax error", Stage.DOT), "failed", 1, {"signature": "500"}),
    # policy (5.7.x): not the address; retried, counted towards the breaker
    (SendError(R, 550, "5.7.26 unauthenticated", Stage.DOT), "deferred", 1, {"policy": True, "retry_in": 300}),
    # an unknown code is read by its first digit; a code out of range is retried
    (SendError(R, 999, "what", Stage.RCPT), "deferred", 1, {"retry_in": 300}),
    # connection faults: nothing delivered, tried again in this run on a new connection; the
    # recipient's attempt counts only once the transaction was about them (RCPT on)
    (SendError(C, None, "connect failed", Stage.CONNECT), "pending", 0, {"requeue": True, "connection": True}),
    (SendError(C, 421, "4.7.0 try later", Stage.MAIL), "pending", 0, {"requeue": True, "connection": True}),
    (SendError(C, 421, "4.3.2 shutting down", Stage.DOT), "pending", 1, {"requeue": True, "connection": True}),
    (SendError(C, None, "lost before the end of the message", Stage.DATA), "pending", 1,
     {"requeue": True, "connection": True}),
    # lost after the final dot: may have been delivered
    (SendError(A, None, "lost after the end", Stage.DOT), "unknown", 1, {"connection": True}),
    # relay configuration: the run stops, the recipient stays as it was
    (SendError(F, 535, "authentication failed", Stage.CONNECT), "pending", 0, {"fatal": True}),
    # anything unforeseen inside one recipient's transaction is theirs alone
    (SendError(I, None, "unexpected error: ValueError: bad", Stage.RCPT), "failed", 1,
     {"signature": "internal ValueError"}),
])
def test_settle(result: Reply | SendError, state: str, added: int, extra: dict[str, object]) -> None:
    v = settle(result, 0, RETRY)
    assert (v.state, v.attempts) == (state, added)
    for name, value in extra.items():
        assert getattr(v, name) == value, name
    if isinstance(result, SendError):
        assert v.code == result.code and result.text[:50] in v.reply


@pytest.mark.parametrize("result", [
    SendError(R, 451, "4.7.1 greylisted", Stage.RCPT),
    SendError(R, 550, "5.7.1 policy", Stage.DOT),
    SendError(C, 421, "4.3.2 shutting down", Stage.DOT),
    SendError(C, None, "lost before the end of the message", Stage.DATA),
])
def test_every_retry_path_ends_at_max_attempts(result: SendError) -> None:
    assert settle(result, RETRY.max_attempts - 2, RETRY).state != "failed"
    last = settle(result, RETRY.max_attempts - 1, RETRY)
    assert (last.state, last.code, last.requeue) == ("failed", result.code, False)
    assert last.reply == f"{result.text} (gave up after 3 attempts: retry.max_attempts is 3)"


def test_deferral_backs_off_doubling_up_to_the_cap() -> None:
    retry = RetrySettings(defer_seconds=300, max_defer_seconds=1000, max_attempts=10)
    waits = [settle(SendError(R, 451, "4.7.1 later", Stage.RCPT), n, retry).retry_in for n in range(4)]
    assert waits == [300, 600, 1000, 1000]


def _failed(sig: str) -> Verdict:
    return Verdict("failed", int(sig[:3]), f"{sig[4:]} no", signature=sig)


def test_breaker_trips_on_a_row_of_the_same_permanent_refusal_only() -> None:
    b = Breaker(3)
    sent, deferred = Verdict("sent", 250, "ok"), Verdict("deferred", 451, "later")
    bounce = Verdict("failed", 550, "5.1.1 no such user", suppress=True)
    # different refusals, bounces and deferrals in between do not make a row
    for key, v in enumerate([_failed("552 5.3.4"), _failed("554 5.6.0"), bounce, _failed("552 5.3.4"), sent,
                             _failed("552 5.3.4"), deferred, _failed("552 5.3.4")]):
        assert not b.record(str(key), v)
    assert b.record("8", _failed("552 5.3.4"))  # the third in a row (a deferral neither breaks nor extends)
    assert b.revoked == ["5", "7", "8"] and "too large" in b.message
    # a refusal of the same kind still in flight: pending as well; another kind: as it was
    assert b.revise(_failed("552 5.3.4")).state == "pending"
    assert b.revise(_failed("554 5.6.0")).state == "failed"


def test_breaker_counts_policy_refusals_in_the_run() -> None:
    b = Breaker(3)
    policy = Verdict("deferred", 550, "5.7.26 unauthenticated", policy=True)
    assert [b.record(str(i), v) for i, v in enumerate([policy, Verdict("sent", 250, ""), policy, policy])] == [
        False, False, False, True]
    assert "SPF/DKIM/DMARC" in b.message and b.revoked == []


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(codec=None), max_size=700))
def test_any_reply_text_can_be_recorded(text: str) -> None:
    """Whatever a server's reply held (bytes that were not UTF-8 come through aiosmtplib as lone
    surrogates), the text settled for a recipient can be written to the ledger."""
    from newsletter.delivery.policy import REPLY_CHARS, recordable

    got = recordable(text)
    got.encode("utf-8")  # SQLite refuses what does not encode
    assert len(text) > REPLY_CHARS or got.replace("\ufffd", "") == "".join(
        c for c in text if not 0xD800 <= ord(c) <= 0xDFFF and c != "\ufffd")
