"""Signup with double opt-in: the form, the neutral answer, the confirmation message in the real
Maildir outbox, the signed expiring link, the abuse limits, and what `send` does afterwards.

HTTP through Starlette's TestClient against the real app (real ledger, real Maildir transport);
the browser flow and the 1,000-request burst against a real uvicorn are in test_signup_flow.py.
"""

from __future__ import annotations

import html
import json
import mailbox
import re
import sqlite3
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from newsletter.content.config import Settings, load_settings
from newsletter.delivery.sending import dry_run
from newsletter.mail.compose import Composer, parts
from newsletter.mail.tokens import TokenKeys, parse_keys
from newsletter.store.ledger import Ledger
from newsletter.web.public.app import create_app
from tests.conftest import add_config

ORIGIN = "https://news.example.org"
NEW = "new.reader@example.org"
BEN = "ben@example.com"  # in the fixture's subscriber file


@dataclass
class Web:
    client: TestClient
    settings: Settings
    composer: Composer
    project: Path

    def post(self, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        form = {"email": NEW, "name": "New Reader", "topic": ["cbt", "empathy"], "website": "", "choose": "topics"}
        form.update(data or {})
        headers = {"Origin": ORIGIN, **kw.pop("headers", {})}
        return self.client.post("/subscribe", data=form, headers=headers, **kw)

    def outbox(self) -> list[EmailMessage]:
        box = mailbox.Maildir(self.project / "outbox", create=True)
        return [cast(EmailMessage, message_from_bytes(m.as_bytes(), policy=policy.default)) for m in box]

    def links(self, to: str = NEW) -> list[str]:
        found = []
        for m in self.outbox():
            if m["To"].addresses[0].addr_spec == to:
                text = parts(m.as_bytes())[1]
                found += re.findall(rf"{re.escape(ORIGIN)}(/confirm/[^\s]+)", text)
        return found

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(self.settings.state_db)
        try:
            return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        finally:
            con.close()

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return {t: self.rows(t) for t in ("people", "signups", "suppressions", "preferences", "events")}

    def planned(self) -> dict[str, str]:
        """email → skip reason ('' = would be sent) in `send --dry-run`'s plan."""
        plan = dry_run(self.composer, self.project / "issues/2020-10.yaml", self.project / "subscribers.example.yaml")
        return {e.email: e.skip_reason for e in plan.entries}


def make_web(project: Path, extra: str = "") -> Iterator[Web]:
    if extra:
        add_config(project, extra)
    settings = load_settings(project)
    composer = Composer.load(settings=settings)
    app = create_app(settings, project / "subscribers.example.yaml", composer=composer)
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        yield Web(client, settings, composer, project)


@pytest.fixture
def web(project: Path) -> Iterator[Web]:
    yield from make_web(project)


def test_the_form(web: Web) -> None:
    r = web.client.get("/subscribe")
    assert r.status_code == 200
    boxes = re.findall(r'<input type="checkbox" name="topic" id="t-([a-z0-9-]+)" value="\1" checked>', r.text)
    assert boxes == list(web.settings.taxonomy.labels)  # every topic, ticked
    assert web.settings.signup.consent_text(web.settings.name) in html.unescape(r.text)
    assert 'name="website"' in r.text and 'tabindex="-1"' in r.text  # the honeypot
    assert "style-src 'self'" in r.headers["content-security-policy"] and "<script" not in r.text


def test_subscribe_confirm_then_send_includes_the_reader(web: Web) -> None:
    assert NEW not in web.planned()
    r = web.post()
    assert r.status_code == 200 and "Check your inbox" in r.text
    (msg,) = web.outbox()
    assert msg["To"].addresses[0].addr_spec == NEW and msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe"] is None and "Confirm your subscription" in msg["Subject"]
    body, text = parts(msg.as_bytes())
    (link,) = web.links()
    assert f'href="{ORIGIN}{link}"' in body and "Hello New," in text
    assert "Cognitive Therapy (CT) and Cognitive-Behavioural Therapy (CBT), Empathy" in " ".join(text.split())
    assert NEW not in web.planned()  # nothing until confirmed
    before = web.snapshot()
    page = web.client.get(link)
    assert page.status_code == 200 and "Confirm my subscription" in page.text and "n•••@example.org" in page.text
    assert web.snapshot() == before  # a GET (a link scanner) changes nothing
    done = web.client.post(link, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert web.planned()[NEW] == ""  # the next send includes the new reader, with their topics
    plan = dry_run(web.composer, web.project / "issues/2020-10.yaml", web.project / "subscribers.example.yaml")
    entry = next(e for e in plan.entries if e.email == NEW)
    assert entry.recipient.topics == frozenset({"cbt", "empathy"}) and entry.name == "New Reader"
    (event,) = [e for e in web.rows("events") if e[2] == "subscribe"]
    assert json.loads(event[3]) == {"kept": None, "lifted": None, "source": "form", "topics": 2}
    again = web.client.post(link, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    assert again.status_code == 200 and "already subscribed" in again.text
    assert len(web.rows("events")) == 1 and len(web.outbox()) == 1


def test_the_answer_is_the_same_for_every_kind_of_address(web: Web) -> None:
    """No enumeration: new, pending, subscribed (in the file) and unsubscribed addresses get the
    same page, apart from the address they typed."""
    ledger = Ledger(web.settings.state_db)
    ledger.suppress("dev@example.com", "unsubscribed", "page")
    ledger.close()
    pages = []
    for email in (NEW, NEW, BEN, "dev@example.com"):
        r = web.post({"email": email})
        pages.append((r.status_code, r.text.replace(email, "ADDRESS")))
    assert len(set(pages)) == 1


def test_fifty_requests_for_one_address_send_one_message(project: Path) -> None:
    """From 50 clients (here one, with the per-client limit raised): the per-address limit."""
    running = make_web(project, "signup:\n  per_client: 1000")
    web = next(running)
    for i in range(50):
        assert web.post({"topic": ["training"] if i == 49 else ["cbt"]}).status_code == 200
    assert len(web.outbox()) == 1
    (row,) = web.rows("signups")
    assert json.loads(row[4]) == ["training"]  # the link confirms what was asked last
    # ten minutes later, one more
    con = sqlite3.connect(web.settings.state_db)
    con.execute("UPDATE signups SET mailed = mailed - 601")
    con.commit()
    con.close()
    web.post()
    assert len(web.outbox()) == 2


def _expire(web: Web, link: str) -> str:
    """The same request's link, signed with an expiry in the past (as if 48 h had gone by)."""
    rid = link.split(".")[1]
    return f"/confirm/{web.composer.keys.sign_expiring(rid, 'c', int(time.time()) - 1)}"


def test_expired_link_says_so_and_offers_a_new_one(web: Web) -> None:
    web.post()
    (link,) = web.links()
    old = _expire(web, link)
    before = web.snapshot()
    r = web.client.get(old)
    assert r.status_code == 410 and "expired" in r.text and 'value="resend"' in r.text
    r = web.client.post(old, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    assert r.status_code == 410 and web.snapshot() == before
    web.client.post(old, data={"action": "resend"}, headers={"Origin": ORIGIN})
    assert len(web.outbox()) == 1  # within 10 minutes of the first: no second message
    con = sqlite3.connect(web.settings.state_db)
    con.execute("UPDATE signups SET mailed = mailed - 601")
    con.commit()
    con.close()
    r = web.client.post(old, data={"action": "resend"}, headers={"Origin": ORIGIN})
    assert r.status_code == 200 and len(web.outbox()) == 2
    fresh = web.links()[-1]  # a new expiry (the same as the first link's if sent within a second)
    assert web.client.post(fresh, data={"action": "confirm"}, headers={"Origin": ORIGIN}).status_code == 200
    assert web.planned()[NEW] == ""


def test_forged_expired_and_other_purpose_tokens_are_refused(web: Web) -> None:
    web.post()
    (link,) = web.links()
    token = link.rsplit("/", 1)[1]
    kid, rid, exp, mac = token.split(".")
    keys = web.composer.keys
    ledger = Ledger(web.settings.state_db)
    sid = ledger.sids_for([("ben@example.com", BEN)])["ben@example.com"]
    ledger.close()
    bad = {
        "forged-mac": f"{kid}.{rid}.{exp}.{'A' * 16}",
        "later-expiry": f"{kid}.{rid}.{int(exp) + 86400}.{mac}",
        "truncated": token[:-1],
        "bit-flipped": token[:-1] + ("B" if token[-1] != "B" else "C"),
        "unknown-kid": f"zz.{rid}.{exp}.{mac}",
        "other-list": TokenKeys(keys.keys, "other.example.org").sign_expiring(rid, "c", int(exp)),
        "guessed-key": TokenKeys(parse_keys("t1:guessed-secret-0000000000"), web.settings.list_id)
        .sign_expiring(rid, "c", int(exp)),
        "purpose-u": keys.sign_expiring(rid, "u", int(exp)),
        "purpose-p": keys.sign_expiring(rid, "p", int(exp)),
        "unsubscribe-token": keys.sign(sid, "u"),
        "preference-token": keys.sign(sid, "p"),
        "no-expiry-shape": keys.sign(rid, "c"),
        "unknown-request": keys.sign_expiring("AAAAAAAAAAAA", "c", int(exp)),
        "long": "A" * 3000,
    }
    before = web.snapshot()
    for name, t in bad.items():
        for r in (web.client.get(f"/confirm/{t}"),
                  web.client.post(f"/confirm/{t}", data={"action": "confirm"}, headers={"Origin": ORIGIN}),
                  web.client.post(f"/confirm/{t}", data={"action": "resend"}, headers={"Origin": ORIGIN})):
            assert r.status_code == 404, (name, r.request.method, r.status_code)
    assert web.snapshot() == before and len(web.outbox()) == 1
    expired = _expire(web, link)
    assert web.client.post(expired, data={"action": "confirm"}, headers={"Origin": ORIGIN}).status_code == 410
    assert web.snapshot() == before  # 0 of all these accepted
    # the confirmation token is no unsubscribe or preference token either
    assert web.client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert web.client.get(f"/p/{token}").status_code == 404


def test_honeypot_answers_like_success_and_records_nothing(web: Web) -> None:
    r = web.post({"website": "https://spam.example.com"})
    assert r.status_code == 200 and "Check your inbox" in r.text
    assert web.outbox() == [] and web.rows("signups") == []


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "x@example.org\r\nBcc: victim@example.com",
                                   "x@example.org\nBcc: victim@example.com", "Bob <bob@example.org>",
                                   "a" * 65 + "@example.org", "two@@example.org", "x@" + "a" * 250 + ".org",
                                   "x@localhost", "x@example.org%0d%0aBcc:y@example.org"])
def test_bad_addresses_are_refused_with_the_form(web: Web, email: str) -> None:
    r = web.post({"email": email})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text and 'role="alert"' in r.text
    assert web.outbox() == [] and not web.settings.state_db.exists() or web.rows("signups") == []


@pytest.mark.parametrize(("data", "status"), [
    ({"name": "Eve\r\nBcc: victim@example.com"}, 422), ({"name": "x" * 201}, 422), ({"name": "Eve\x00"}, 422),
    ({"topic": []}, 422), ({"topic": ["cbt", "no-such-topic"]}, 400)])
def test_bad_fields_are_refused(web: Web, data: dict[str, Any], status: int) -> None:
    assert web.post(data).status_code == status
    assert web.outbox() == []


def test_idn_and_display_of_addresses(web: Web) -> None:
    web.post({"email": "Ana@Bücher.Example.org", "name": "Zoë Müller-Lüdenscheidt"})
    (msg,) = web.outbox()
    assert msg["To"].addresses[0].addr_spec == "Ana@xn--bcher-kva.example.org"
    assert msg["To"].addresses[0].display_name == "Zoë Müller-Lüdenscheidt"


def test_cross_site_posts_are_refused(web: Web) -> None:
    for origin in ("https://evil.example.com", "null", "http://news.example.org.evil.example.com"):
        assert web.post(headers={"Origin": origin}).status_code == 403
        assert web.post(headers={"Origin": origin, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert web.post(headers={"Origin": "https://evil.example.com", "Sec-Fetch-Site": "same-site"}).status_code == 403
    # our own pages are no-referrer: a browser sends Origin: null with Sec-Fetch-Site: same-origin
    assert web.post(headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}).status_code == 200
    (link,) = web.links()
    r = web.client.post(link, data={"action": "confirm"}, headers={"Origin": "https://www.example.org"})
    assert r.status_code == 403  # the confirmation button only from our own page
    assert web.planned().get(NEW) is None


def test_allowed_origins_for_an_embedded_form(project: Path) -> None:
    for web in make_web(project, "signup:\n  allowed_origins: ['https://www.example.org']"):
        assert web.post(headers={"Origin": "https://www.example.org"}).status_code == 200
        assert web.post({"email": "x@example.org"}, headers={"Origin": "https://other.example.org"}).status_code == 403


def test_per_client_limit(project: Path) -> None:
    for web in make_web(project, "signup:\n  per_client: 3"):
        codes = [web.post({"email": f"r{i}@example.org"}).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429] and len(web.outbox()) == 3


def test_an_embedded_form_without_topic_boxes_means_every_topic(web: Web) -> None:
    r = web.client.post("/subscribe", data={"email": NEW}, headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert [row[4] for row in web.rows("signups")] == [None]  # every topic


def test_large_body_is_refused(web: Web) -> None:
    assert web.post({"name": "x" * 100_000}).status_code == 413
    assert web.outbox() == []


def test_signup_can_be_turned_off(project: Path) -> None:
    for web in make_web(project, "signup:\n  enabled: false"):
        assert web.client.get("/subscribe").status_code == 404
        assert web.post().status_code in (404, 405)
        assert "/subscribe" not in web.client.get("/archive/").text


def test_resubscribing_lifts_an_unsubscribe_and_the_web_topics_win(web: Web) -> None:
    """Ben is in the file (topics empathy, alliance, training) and unsubscribed on the web; a
    confirmed signup subscribes him again, with the topics of the signup."""
    ledger = Ledger(web.settings.state_db)
    ledger.suppress("ben@example.com", "unsubscribed", "one-click")
    ledger.close()
    assert web.planned()[BEN].startswith("suppressed")
    web.post({"email": BEN, "name": "", "topic": ["depression"]})
    (link,) = web.links(BEN)
    assert web.planned()[BEN].startswith("suppressed")  # not before confirming
    web.client.post(link, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    assert web.planned()[BEN] == "" and web.rows("suppressions") == []
    plan = dry_run(web.composer, web.project / "issues/2020-10.yaml", web.project / "subscribers.example.yaml")
    ben = next(e for e in plan.entries if e.email == BEN)
    assert ben.recipient.topics == frozenset({"depression"}) and ben.name == "Ben"  # the file's name stays
    (event,) = [e for e in web.rows("events") if e[2] == "subscribe"]
    assert json.loads(event[3])["lifted"] == "unsubscribed"


def test_web_unsubscribe_of_a_web_reader(web: Web) -> None:
    web.post()
    (link,) = web.links()
    web.client.post(link, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    ledger = Ledger(web.settings.state_db)
    sid = ledger.sids_for([("new.reader@example.org", NEW)], create=False)["new.reader@example.org"]
    ledger.close()
    web.client.post(f"/u/{web.composer.keys.sign(sid, 'u')}", data={"List-Unsubscribe": "One-Click"})
    assert web.planned()[NEW].startswith("suppressed")
    # an old confirmation link does not undo it
    r = web.client.post(link, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    assert "already subscribed" in r.text and web.planned()[NEW].startswith("suppressed")


def test_export_shows_the_consent_record(web: Web, capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli import main

    web.post()
    (link,) = web.links()
    web.client.post(link, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    assert main(["subscribers", "export", "--subscribers", "subscribers.example.yaml"]) == 0
    out, err = capsys.readouterr()
    assert "1 signed up on the web" in err
    block = out[out.index("# signed up on the web"):]
    assert re.match(r"# signed up on the web: requested \d{4}-\d\d-\d\d \d\d:\d\d UTC, confirmed .* "
                    r"\(source: form; topics: cbt, empathy\)\n- email: new.reader@example.org\n  name: New Reader\n"
                    r"  topics: \[cbt, empathy\]\n", block)
    ledger = Ledger(web.settings.state_db)
    ledger.suppress("new.reader@example.org", "unsubscribed", "page")
    ledger.close()
    main(["subscribers", "export", "--subscribers", "subscribers.example.yaml"])
    out = capsys.readouterr().out
    assert "# - email: new.reader@example.org  # unsubscribed on" in out
    assert "#   signed up on the web: requested" in out  # the consent record stays


def test_access_log_never_contains_a_confirmation_token(web: Web, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="newsletter.serve")
    web.post()
    (link,) = web.links()
    web.client.get(link)
    assert "GET /confirm/[token] 200" in caplog.text and link.rsplit("/", 1)[1] not in caplog.text


def test_a_complaint_is_lifted_only_with_the_readers_explicit_wish(web: Web) -> None:
    ledger = Ledger(web.settings.state_db)
    ledger.suppress("ben@example.com", "complaint", "feedback-loop")
    ledger.close()
    web.post({"email": BEN})
    (link,) = web.links(BEN)
    page = web.client.get(link).text
    assert "reported as spam" in page and 'name="complaint_ok"' in page
    r = web.client.post(link, data={"action": "confirm"}, headers={"Origin": ORIGIN})
    assert "Your confirmation is recorded" in r.text and web.planned()[BEN].startswith("suppressed")
    # the request is confirmed now; a new request and a confirmation with the box ticked lift it
    con = sqlite3.connect(web.settings.state_db)
    con.execute("UPDATE signups SET mailed = mailed - 601")
    con.commit()
    con.close()
    web.post({"email": BEN})
    link2 = next(x for x in web.links(BEN) if x != link)
    r = web.client.post(link2, data={"action": "confirm", "complaint_ok": "yes"}, headers={"Origin": ORIGIN})
    assert "You are subscribed" in r.text and web.planned()[BEN] == ""
