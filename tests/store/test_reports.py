"""reports: what `status` tells of a campaign (rows by group, recipients with problems, JSON),
every campaign on one line, and databases from before the subject and list were recorded."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from newsletter.store.ledger import FeedbackEvent, Ledger, Reason
from newsletter.store.reports import SINCE_GROUP, STATE_GROUP


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "state" / "n.sqlite3")


def _campaign(ledger: Ledger, issue: str, states: dict[str, str]) -> None:
    ledger.start_campaign(issue, "hash", "Thu, 01 Oct 2020 08:00:00 +0000", force=False,
                          subject=f"Digest {issue}", list_file="subscribers.yaml")
    sids = ledger.sids_for((k, k) for k in states)
    ledger.add_deliveries(issue, [(k, sids[k], k, "0", "pending", "") for k in states])
    ledger.mark_many(issue, [(k, st, 550 if st == "failed" else None, "5.1.1 no such user" if st == "failed"
                              else None, 0, True, None, None, None) for k, st in states.items()])


def test_one_campaign_tells_its_story(ledger: Ledger) -> None:
    ledger.suppress("old@x.org", Reason.UNSUBSCRIBED, "web")  # before the send: not counted
    time.sleep(0.01)
    _campaign(ledger, "2020-10", {"a@x.org": "sent", "b@x.org": "sent", "c@x.org": "failed",
                                  "d@x.org": "unknown", "e@x.org": "skipped"})
    ledger.suppress("a@x.org", Reason.UNSUBSCRIBED, "web")
    ledger.record_feedback("dsn-1", "imap", "bounce", [FeedbackEvent("b@x.org", "2020-10", "hard", "5.1.1", "gone"),
                                                       FeedbackEvent("e@x.org", "2020-10", "complaint", "abuse", "")],
                           soft_limit=3, soft_days=30)
    report = ledger.campaign_report("2020-10")
    assert report is not None
    assert (report.subject, report.list_file, report.finished) == ("Digest 2020-10", "subscribers.yaml", None)
    assert [(r.key, r.value) for r in report.rows if r.group == STATE_GROUP] == [
        ("pending", 0), ("sending", 0), ("sent", 2), ("deferred", 0), ("failed", 1), ("unknown", 1), ("skipped", 1)]
    assert [(r.key, r.value) for r in report.rows if r.group == SINCE_GROUP] == [
        ("bounced_hard", 1), ("bounced_soft", 0), ("complained", 1), ("unsubscribed", 1)]
    assert [(d.state, d.email, d.code) for d in report.problems] == [("failed", "c@x.org", 550),
                                                                     ("unknown", "d@x.org", None)]
    data = json.loads(json.dumps(report.as_json()))
    assert data["states"]["sent"] == 2
    assert data["since_send"] == {"bounced_hard": 1, "bounced_soft": 0, "complained": 1, "unsubscribed": 1}
    assert data["recipients"][0] == {"email": "c@x.org", "state": "failed", "code": 550,
                                     "reply": "5.1.1 no such user", "attempts": 1}
    assert data["started"].endswith("+00:00") and data["finished"] is None
    ledger.finish("2020-10")
    assert ledger.campaign_report("2020-10").finished is not None  # type: ignore[union-attr]
    assert ledger.campaign_report("1999-01") is None


def test_every_campaign_newest_first(ledger: Ledger) -> None:
    _campaign(ledger, "2020-10", {"a@x.org": "sent"})
    _campaign(ledger, "2020-12", {"a@x.org": "sent", "b@x.org": "deferred"})
    reports = ledger.campaign_reports()
    assert [r.issue for r in reports] == ["2020-12", "2020-10"]
    assert reports[0].value("deferred") == 1 and not reports[0].problems  # no detail in the list


def test_resuming_records_the_latest_subject_and_list(ledger: Ledger) -> None:
    _campaign(ledger, "2020-10", {"a@x.org": "sent"})
    ledger.start_campaign("2020-10", "hash", "later", force=False, list_file="other.yaml")
    report = ledger.campaign_report("2020-10")
    assert report is not None and (report.subject, report.list_file) == ("Digest 2020-10", "other.yaml")


def test_a_database_from_before_these_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE campaigns (issue TEXT PRIMARY KEY, content_hash TEXT NOT NULL, "
                     "date_header TEXT NOT NULL, created REAL NOT NULL, finished REAL);"
                     "INSERT INTO campaigns VALUES ('2020-10', 'h', 'Thu, 01 Oct 2020 08:00:00 +0000', 1, 2);")
    db.close()
    Ledger(path).close()  # a writer adds the columns …
    assert {"subject", "list_file"} <= {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(campaigns)")}
    path2 = tmp_path / "old2.sqlite3"
    db = sqlite3.connect(path2)
    db.executescript("CREATE TABLE campaigns (issue TEXT PRIMARY KEY, content_hash TEXT NOT NULL, "
                     "date_header TEXT NOT NULL, created REAL NOT NULL, finished REAL);"
                     "CREATE TABLE deliveries (issue TEXT, email_key TEXT, sid TEXT, email TEXT, variant TEXT, "
                     "state TEXT, attempts INTEGER, code INTEGER, reply TEXT, next_attempt REAL, updated REAL, date_header TEXT);"
                     "CREATE TABLE suppressions (email_key TEXT, reason TEXT, source TEXT, created REAL);"
                     "CREATE TABLE bounces (at REAL, message_key TEXT, email_key TEXT, issue TEXT, kind TEXT, "
                     "status TEXT, detail TEXT);"
                     "INSERT INTO campaigns VALUES ('2020-10', 'h', 'Thu, 01 Oct 2020 08:00:00 +0000', 1, 2);")
    db.close()
    ro = Ledger.read_only(path2)  # … and a reader copes without them
    report = ro.campaign_report("2020-10")
    assert report is not None and report.subject is None and report.list_file is None
