"""ledger: SQLite state; transitions, resume rules, suppressions, preferences, campaigns."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from newsletter.errors import ContentChanged
from newsletter.store.ledger import STATES, Ledger, LedgerError


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "state" / "n.sqlite3")


def _add(ledger: Ledger, *keys: str, state: str = "pending") -> None:
    sids = ledger.sids_for((k, k) for k in keys)
    ledger.add_deliveries("2020-10", [(k, sids[k], k, "0", state, "") for k in keys])


def test_wal_and_private_file(ledger: Ledger) -> None:
    assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert oct(ledger.path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o000])
def test_database_log_and_shared_memory_are_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """The -wal and -shm files hold every address as well: 0600 like the database, in a 0700
    folder, whatever the umask (they used to be 0644)."""
    old = os.umask(umask)
    try:
        ledger = Ledger(tmp_path / "state" / "n.sqlite3")
        _add(ledger, "a@x.org", "b@x.org")  # a write: the log and the shared memory exist now
        files = {p.name: oct(p.stat().st_mode & 0o777) for p in (tmp_path / "state").iterdir()}
        assert files == {"n.sqlite3": "0o600", "n.sqlite3-wal": "0o600", "n.sqlite3-shm": "0o600"}
        assert oct((tmp_path / "state").stat().st_mode & 0o777) == "0o700"
        ledger.close()
    finally:
        os.umask(old)


def test_files_of_an_older_run_are_made_private(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"
    ledger = Ledger(path)
    _add(ledger, "a@x.org")
    for p in tmp_path.iterdir():
        p.chmod(0o644)
    ledger.close()
    keep = sqlite3.connect(path)  # another reader keeps the log and shared memory in place
    keep.execute("PRAGMA journal_mode=WAL")
    keep.execute("CREATE TABLE IF NOT EXISTS x (a)")
    again = Ledger(path)
    _add(again, "b@x.org")
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {
        "n.sqlite3": "0o600", "n.sqlite3-wal": "0o600", "n.sqlite3-shm": "0o600"}
    keep.close()
    again.close()


def test_people_no_longer_on_the_list_are_skipped_and_come_back_when_readded(ledger: Ledger) -> None:
    _add(ledger, "a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org")
    ledger.mark_many("2020-10", [("a@x.org", "sent", 250, "ok", 0, 1, None, None, None),
                                 ("b@x.org", "deferred", 451, "later", 0, 1, None, None, None),
                                 ("c@x.org", "failed", 550, "no", 0, 1, None, None, None)])
    # b (deferred) and d (pending) left the list; a (sent) and c (failed) keep their outcome
    assert ledger.skip_removed("2020-10", {"e@x.org"}, "removed from the list") == 2
    rows = {d.email_key: (d.state, d.reply) for d in ledger.rows("2020-10", STATES)}
    assert rows == {"a@x.org": ("sent", "ok"), "b@x.org": ("skipped", "removed from the list"),
                    "c@x.org": ("failed", "no"), "d@x.org": ("skipped", "removed from the list"),
                    "e@x.org": ("pending", None)}
    _add(ledger, "d@x.org")  # back on the list: due again
    assert [d.email_key for d in ledger.due("2020-10", resend_unknown=False)] == ["d@x.org", "e@x.org"]


def test_unfinished_campaigns_remember_their_files(ledger: Ledger) -> None:
    ledger.start_campaign("2020-10", "h", "date", force=False, paths=("issues/2020-10.yaml", "list.yaml"))
    ledger.start_campaign("2020-12", "h", "date", force=False)
    assert ledger.unfinished() == [("2020-10", "issues/2020-10.yaml", "list.yaml"), ("2020-12", None, None)]
    ledger.finish("2020-10")
    assert ledger.unfinished() == [("2020-12", None, None)]


def test_an_older_database_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE campaigns (issue TEXT PRIMARY KEY, content_hash TEXT NOT NULL, "
                "date_header TEXT NOT NULL, created REAL NOT NULL, finished REAL)")
    old.execute("INSERT INTO campaigns VALUES ('2020-10', 'h', 'date', 0, NULL)")
    old.commit()
    old.close()
    assert Ledger(path).unfinished() == [("2020-10", None, None)]


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
    ledger.mark_many("2020-10", [("a@x.org", "deferred", 451, "4.7.1 greylisted", 0, 1, None, None, None)])
    ledger.mark_many("2020-10", [("a@x.org", "sending", None, None, 0, 0, "Thu, 01 Oct 2020 08:00:00 +0000", None, None)])
    assert ledger.recover_interrupted("2020-10") == (1, 0)
    (a,) = ledger.rows("2020-10", ["unknown"])  # an attempt, and not the earlier reply
    assert (a.attempts, a.code, a.reply) == (2, None, "interrupted while sending; may have been delivered")
    assert [d.email_key for d in ledger.due("2020-10", resend_unknown=False)] == ["b@x.org"]
    assert {d.email_key for d in ledger.due("2020-10", resend_unknown=True)} == {"a@x.org", "b@x.org"}


def test_deferred_is_due_only_after_its_time(ledger: Ledger) -> None:
    _add(ledger, "a@x.org")
    ledger.mark_many("2020-10", [("a@x.org", "deferred", 451, "greylisted", 2_000_000_000.0, True, None, None, None)])
    assert ledger.due("2020-10", resend_unknown=False, now=1_999_999_999.0) == []
    (d,) = ledger.due("2020-10", resend_unknown=False, now=2_000_000_001.0)
    assert d.attempts == 1 and d.code == 451


def test_re_adding_never_resets_sent_failed_or_unknown(ledger: Ledger) -> None:
    _add(ledger, "s@x.org", "f@x.org", "u@x.org", "p@x.org")
    ledger.mark_many("2020-10", [("s@x.org", "sent", 250, "ok", 0, True, None, None, None),
                                 ("f@x.org", "failed", 550, "no", 0, True, None, None, None),
                                 ("u@x.org", "unknown", None, "lost", 0, True, None, None, None)])
    _add(ledger, "s@x.org", "f@x.org", "u@x.org", "p@x.org")
    _add(ledger, "p@x.org", state="skipped")
    assert ledger.counts("2020-10") | {} == {"pending": 0, "sending": 0, "sent": 1, "deferred": 0,
                                             "failed": 1, "unknown": 1, "skipped": 1}


def test_campaign_bound_to_content(ledger: Ledger) -> None:
    date = ledger.start_campaign("2020-10", "hash-a", "Thu, 01 Oct 2020 08:00:00 +0000", force=False)
    assert ledger.start_campaign("2020-10", "hash-a", "later", force=False) == date  # Date fixed
    with pytest.raises(ContentChanged, match="--force") as e:
        ledger.start_campaign("2020-10", "hash-b", "later", force=False)
    assert e.value.exit_code == 8  # its own code: not "the state database cannot be written" (6)
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


def test_a_database_never_given_its_tables_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"
    path.touch()  # the first run was stopped between creating the file and its tables
    ro = Ledger.read_only(path)
    assert ro.campaign("2020-10") is None and ro.unfinished() == [] and ro.suppressions() == {}
    assert path.stat().st_size == 0  # and nothing was written


def test_read_only_open_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"
    Ledger(path).close()
    ro = Ledger.read_only(path)
    with pytest.raises(sqlite3.OperationalError):
        ro.db.execute("INSERT INTO suppressions (email_key, reason, source, created) VALUES ('a','b','c',0)")


# Rows as a crash left them: key → (state, seq of its `sending` mark, seq of the mark it follows).
# A row taken ahead sends its final dot only once the attempt it follows has its outcome on
# disk, so one still `sending` behind that very mark never sent its dot (→ pending); every
# other `sending` row may have (→ unknown).
CRASHES = [
    ({"a": ("sending", 1, None)}, {"a": "unknown"}),
    ({"a": ("sent", 1, None), "b": ("sending", 2, 1)}, {"a": "sent", "b": "unknown"}),
    ({"a": ("sending", 1, None), "b": ("sending", 2, 1)}, {"a": "unknown", "b": "pending"}),
    ({"a": ("sent", 1, None), "b": ("sending", 2, 1), "c": ("sending", 3, 2)}, {"b": "unknown", "c": "pending"}),
    ({"a": ("sending", 1, None), "b": ("sending", 2, 1), "c": ("sending", 3, 2)},
     {"a": "unknown", "b": "pending", "c": "pending"}),
    ({"a": ("failed", 1, None), "b": ("sending", 2, 1)}, {"a": "failed", "b": "unknown"}),
    ({"a": ("pending", 1, None), "b": ("sending", 2, 1)}, {"a": "pending", "b": "unknown"}),
    ({"a": ("sending", 1, None), "b": ("sending", 2, 1), "x": ("sending", 3, None), "y": ("sending", 4, 3),
      "z": ("sending", 5, 99)}, {"a": "unknown", "b": "pending", "x": "unknown", "y": "pending", "z": "unknown"}),
    # u2 was lost before its dot (attempt 1) and tried again behind u3 (attempt 3), whose dot
    # had left: u3 follows an attempt of u2 that is over → unknown; u2 follows u3's live mark
    ({"u2": ("sending", 3, 2), "u3": ("sending", 2, 1)}, {"u2": "pending", "u3": "unknown"}),
    ({"u1": ("sending", 5, 4), "u2": ("sending", 4, 6), "u3": ("sending", 6, 1)},
     {"u1": "pending", "u2": "pending", "u3": "unknown"}),
]


@pytest.mark.parametrize(("rows", "after"), CRASHES)
def test_recovery_tells_a_message_that_may_be_delivered_from_one_that_was_not(
        ledger: Ledger, rows: dict[str, tuple[str, int, int | None]], after: dict[str, str]) -> None:
    keys = [f"{k}@x.org" for k in rows]
    _add(ledger, *keys)
    ledger.mark_many("2020-10", [(f"{k}@x.org", st, None, None, 0, 0, None, seq, f)
                                 for k, (st, seq, f) in rows.items()])
    unknown = sum(1 for k, (st, _, _) in rows.items() if st == "sending" and after[k] == "unknown")
    pending = sum(1 for k, (st, _, _) in rows.items() if st == "sending" and after[k] == "pending")
    assert ledger.recover_interrupted("2020-10") == (unknown, pending)
    got = {r.email_key.split("@")[0]: r for r in ledger.iter_due("2020-10", resend_unknown=True)}
    for k, want in after.items():
        state = ledger.db.execute("SELECT state, attempts FROM deliveries WHERE email_key=?", (f"{k}@x.org",)).fetchone()
        assert state[0] == want, (k, state)
        if rows[k][0] == "sending":
            assert state[1] == (1 if want == "unknown" else 0)  # only a maybe-delivered one was an attempt
            assert k in got
    assert ledger.recover_interrupted("2020-10") == (0, 0)


def test_a_state_database_from_before_follows_is_brought_up_to_date(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state" / "n.sqlite3"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE deliveries DROP COLUMN follows")
    db.execute("ALTER TABLE deliveries DROP COLUMN seq")
    db.commit()
    db.close()
    again = Ledger(path)
    _add(again, "a@x.org", "b@x.org")
    again.mark_many("2020-10", [("a@x.org", "sending", None, None, 0, 0, None, 1, None),
                                ("b@x.org", "sending", None, None, 0, 0, None, 2, 1)])
    assert again.recover_interrupted("2020-10") == (1, 1)
