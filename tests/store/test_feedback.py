"""The ledger's rule for what came back: hard bounces and complaints suppress at once, soft
bounces after N within M days; each message counts once; the re-subscribe rule lifts all but
an unconfirmed complaint; databases of the older shape are brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from newsletter.store.ledger import FeedbackEvent, Ledger, Reason

DAY = 86400.0


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    led = Ledger(tmp_path / "state.sqlite3")
    led.sids_for([("a@example.org", "a@example.org"), ("b@example.org", "b@example.org")])
    return led


def _ev(kind: str, key: str = "a@example.org", status: str = "5.1.1") -> FeedbackEvent:
    return FeedbackEvent(key, "2021-04", kind, status, "detail")


def _record(led: Ledger, key: str, ev: FeedbackEvent, now: float = 1e9) -> list[str] | None:
    got = led.record_feedback(key, "test", ev.kind, [ev], soft_limit=3, soft_days=30, now=now)
    return None if got is None else [r.result for r in got]


def test_hard_bounce_suppresses_once(ledger: Ledger) -> None:
    assert _record(ledger, "m1", _ev("hard")) == ["suppressed"]
    assert _record(ledger, "m1", _ev("hard")) is None  # the same message again: nothing
    row = ledger.suppression("a@example.org")
    assert row is not None and row.reason == Reason.HARD_BOUNCE and row.detail == "5.1.1 detail"
    assert _record(ledger, "m2", _ev("hard")) == ["already"]
    assert ledger.feedback_counts("2021-04") == {"hard": 1, "soft": 0, "complaint": 0}


def test_soft_bounces_suppress_after_three_within_thirty_days(ledger: Ledger) -> None:
    soft = _ev("soft", status="4.2.2")
    assert _record(ledger, "s1", soft, now=1e9) == ["counted"]
    assert _record(ledger, "s2", soft, now=1e9 + 40 * DAY) == ["counted"]  # the first is out of the window
    assert _record(ledger, "s3", soft, now=1e9 + 50 * DAY) == ["counted"]
    assert ledger.suppression("a@example.org") is None
    assert _record(ledger, "s4", soft, now=1e9 + 60 * DAY) == ["soft-suppressed"]
    row = ledger.suppression("a@example.org")
    assert row is not None and row.reason == Reason.SOFT_BOUNCES and row.detail.startswith("3 soft bounces in 30 days")


def test_complaint_outranks_other_reasons(ledger: Ledger) -> None:
    ledger.suppress("b@example.org", Reason.UNSUBSCRIBED, "page")
    assert _record(ledger, "c1", _ev("complaint", "b@example.org", "abuse")) == ["unsubscribed"]
    row = ledger.suppression("b@example.org")
    assert row is not None and row.reason == Reason.COMPLAINT
    assert _record(ledger, "c2", _ev("complaint", "b@example.org", "abuse")) == ["already"]


def test_preview_writes_nothing(ledger: Ledger) -> None:
    assert [r.result for r in ledger.preview_feedback([_ev("hard")], soft_limit=3, soft_days=30)] == ["suppressed"]
    assert ledger.suppression("a@example.org") is None and ledger.inbound_outcome("m1") is None


@pytest.mark.parametrize(("reason", "confirmed", "lifted"), [
    (Reason.UNSUBSCRIBED, False, True), (Reason.HARD_BOUNCE, False, True), (Reason.SOFT_BOUNCES, False, True),
    (Reason.COMPLAINT, False, False), (Reason.COMPLAINT, True, True),
])
def test_resubscribe_rule(ledger: Ledger, reason: Reason, confirmed: bool, lifted: bool) -> None:
    ledger.suppress("a@example.org", reason, "test")
    lift = ledger.lift_suppression("a@example.org", source="double opt-in", complaint_confirmed=confirmed)
    assert (lift.lifted, lift.reason) == (lifted, reason)
    assert (ledger.suppression("a@example.org") is None) == lifted
    assert ledger.lift_suppression("b@example.org", source="x").reason is None  # not suppressed


def test_older_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE suppressions (email_key TEXT PRIMARY KEY, reason TEXT NOT NULL, source TEXT NOT NULL, "
               "created REAL NOT NULL)")
    db.execute("INSERT INTO suppressions VALUES ('a@example.org', 'hard bounce: 550 5.1.1 no such user', 'smtp', 1)")
    db.execute("INSERT INTO suppressions VALUES ('b@example.org', 'unsubscribed', 'page', 2)")
    db.commit()
    db.close()
    old = Ledger.read_only(path)  # read-only before any migration: still readable
    assert old.suppression("a@example.org") is not None
    old.close()
    led = Ledger(path)
    a, b = led.suppression("a@example.org"), led.suppression("b@example.org")
    assert a is not None and (a.reason, a.detail) == ("hard-bounce", "550 5.1.1 no such user")
    assert b is not None and (b.reason, b.detail) == ("unsubscribed", "")
