"""ledger: SQLite state; transitions, resume rules, suppressions, preferences, campaigns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from newsletter.store.ledger import Ledger, LedgerError


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "state" / "n.sqlite3")


def _add(ledger: Ledger, *keys: str, state: str = "pending") -> None:
    sids = ledger.sids_for((k, k) for k in keys)
    ledger.add_deliveries("2020-10", [(k, sids[k], k, "0", state, "") for k in keys])


def test_wal_and_private_file(ledger: Ledger) -> None:
    assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert oct(ledger.path.stat().st_mode & 0o777) == "0o600"


def test_sids_are_stable_random_and_unique(ledger: Ledger) -> None:
    a = ledger.sids_for([("a@example.org", "a@example.org"), ("b@example.org", "b@example.org")])
    again = ledger.sids_for([("a@example.org", "a@example.org")])
    assert a["a@example.org"] == again["a@example.org"] != a["b@example.org"]
    assert len(a["a@example.org"]) == 12 and "example" not in a["a@example.org"]
    assert ledger.person(a["b@example.org"]) == ("b@example.org", "b@example.org")
    provisional = ledger.sids_for([("c@example.org", "c@example.org")], create=False)
    assert ledger.person(provisional["c@example.org"]) is None  # nothing written


def test_interrupted_sending_becomes_unknown_and_is_not_due(ledger: Ledger) -> None:
    _add(ledger, "a@x.org", "b@x.org")
    ledger.mark_many("2020-10", [("a@x.org", "sending", None, None, 0, True, None)])
    assert ledger.recover_interrupted("2020-10") == 1
    assert [d.email_key for d in ledger.due("2020-10", resend_unknown=False)] == ["b@x.org"]
    assert {d.email_key for d in ledger.due("2020-10", resend_unknown=True)} == {"a@x.org", "b@x.org"}


def test_deferred_is_due_only_after_its_time(ledger: Ledger) -> None:
    _add(ledger, "a@x.org")
    ledger.mark_many("2020-10", [("a@x.org", "deferred", 451, "greylisted", 2_000_000_000.0, True, None)])
    assert ledger.due("2020-10", resend_unknown=False, now=1_999_999_999.0) == []
    (d,) = ledger.due("2020-10", resend_unknown=False, now=2_000_000_001.0)
    assert d.attempts == 1 and d.code == 451


def test_re_adding_never_resets_sent_failed_or_unknown(ledger: Ledger) -> None:
    _add(ledger, "s@x.org", "f@x.org", "u@x.org", "p@x.org")
    ledger.mark_many("2020-10", [("s@x.org", "sent", 250, "ok", 0, True, None),
                                 ("f@x.org", "failed", 550, "no", 0, True, None),
                                 ("u@x.org", "unknown", None, "lost", 0, True, None)])
    _add(ledger, "s@x.org", "f@x.org", "u@x.org", "p@x.org")
    _add(ledger, "p@x.org", state="skipped")
    assert ledger.counts("2020-10") | {} == {"pending": 0, "sending": 0, "sent": 1, "deferred": 0,
                                             "failed": 1, "unknown": 1, "skipped": 1}


def test_campaign_bound_to_content(ledger: Ledger) -> None:
    date = ledger.start_campaign("2020-10", "hash-a", "Thu, 01 Oct 2020 08:00:00 +0000", force=False)
    assert ledger.start_campaign("2020-10", "hash-a", "later", force=False) == date  # Date fixed
    with pytest.raises(LedgerError, match="--force"):
        ledger.start_campaign("2020-10", "hash-b", "later", force=False)
    assert ledger.start_campaign("2020-10", "hash-b", "later", force=True) == date


def test_suppressions_and_preferences(ledger: Ledger) -> None:
    ledger.suppress("a@x.org", "unsubscribed", "one-click")
    ledger.suppress("a@x.org", "again", "page")  # idempotent, first reason kept
    assert ledger.is_suppressed("a@x.org") and ledger.suppressions() == {"a@x.org": "unsubscribed"}
    sid = ledger.sids_for([("b@x.org", "b@x.org")])["b@x.org"]
    ledger.set_preferences(sid, frozenset({"cbt", "empathy"}))
    assert ledger.preferences() == {sid: frozenset({"cbt", "empathy"})}
    ledger.set_preferences(sid, None)
    assert ledger.preferences() == {sid: None}


def test_write_failure_is_a_ledger_error(ledger: Ledger) -> None:
    _add(ledger, "a@x.org")
    ledger.db.execute("PRAGMA max_page_count = 1")
    with pytest.raises(LedgerError, match="full"):
        _add(ledger, *[f"n{i}@x.org" for i in range(200)])


def test_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LedgerError, match="cannot open the state database"):
        Ledger(blocker / "sub" / "n.sqlite3")


def test_read_only_open_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"
    Ledger(path).close()
    ro = Ledger.read_only(path)
    with pytest.raises(sqlite3.OperationalError):
        ro.db.execute("INSERT INTO suppressions (email_key, reason, source, created) VALUES ('a','b','c',0)")
