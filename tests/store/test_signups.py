"""The signup tables: claims (one confirmation per address per interval, decided in the
transaction), confirmation (idempotent, lifts suppressions), consent records, old databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from newsletter.store.ledger import Ledger, SignupForm


def form(email: str = "a@example.org", topics: frozenset[str] | None = None) -> SignupForm:
    return SignupForm(email.lower(), email, "A", topics, False, "form", "consent text")


def test_claims_once_per_interval(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db")
    claims = ledger.request_signups([form(), form(), form("b@example.org")], now=1000.0, interval=600)
    assert [c.mail for c in claims] == [True, False, True]
    assert claims[0].rid == claims[1].rid != claims[2].rid
    assert not ledger.request_signups([form()], now=1599.0)[0].mail
    assert ledger.request_signups([form()], now=1600.0)[0].mail
    ledger.unclaim_signup(claims[2].rid, None)  # sending failed: the next request may mail at once
    assert ledger.request_signups([form("b@example.org")], now=1001.0)[0].mail
    assert ledger.claim_resend(claims[0].rid, now=1700.0).mail is False  # type: ignore[union-attr]
    assert ledger.claim_resend("AAAAAAAAAAAA") is None


def test_confirm_is_idempotent_and_lifts_suppressions(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db")
    ledger.suppress("a@example.org", "complaint (ARF)", "feedback-loop")
    (claim,) = ledger.request_signups([form(topics=frozenset({"cbt"}))], now=1000.0)
    done = ledger.confirm_signup(claim.rid, now=1100.0)
    assert done is not None and not done.already and done.lifted == "complaint (ARF)"
    assert ledger.suppression("a@example.org") is None
    assert ledger.preference(done.sid).topics == frozenset({"cbt"})  # type: ignore[union-attr]
    ledger.suppress("a@example.org", "unsubscribed", "page")
    again = ledger.confirm_signup(claim.rid, now=1200.0)
    assert again is not None and again.already and ledger.suppression("a@example.org") is not None
    assert ledger.confirm_signup("AAAAAAAAAAAA") is None
    (web,) = ledger.web_subscribers()
    assert (web.email, web.sid, web.confirmed) == ("a@example.org", done.sid, 1100.0)
    (record,) = ledger.consent_records()["a@example.org"]
    assert (record.requested, record.confirmed, record.source, record.topics) == (1000.0, 1100.0, "form",
                                                                                frozenset({"cbt"}))
    # a new request after confirming is a new request (new id), the old record stays
    (second,) = ledger.request_signups([form()], now=2000.0)
    assert second.rid != claim.rid and second.mail


def test_unconfirmed_requests_are_forgotten(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db")
    (old,) = ledger.request_signups([form()], now=0.0)
    (kept,) = ledger.request_signups([form("b@example.org")], now=40 * 86400.0)
    ledger.confirm_signup(kept.rid, now=40 * 86400.0)
    assert ledger.forget_unconfirmed(now=40 * 86400.0) == 1
    assert ledger.signup_state(old.rid) is None and ledger.signup_state(kept.rid) == ("b@example.org", True, None)


def test_an_old_database_opened_read_only(tmp_path: Path) -> None:
    db = tmp_path / "db"
    Ledger(db).close()
    con = sqlite3.connect(db)
    con.execute("DROP TABLE signups")
    con.commit()
    con.close()
    ro = Ledger.read_only(db)
    assert ro.web_subscribers() == [] and ro.consent_records() == {}
