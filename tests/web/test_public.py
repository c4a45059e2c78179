"""serve: one-click unsubscribe (RFC 8058), the preference page, the web version, the export.

HTTP tests go through Starlette's TestClient; the browser test drives a real headless Chromium
against a real uvicorn server, and is followed by a real `newsletter send` to the Maildir outbox.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import mailbox
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)  # TestClient over httpx: fine here
    from starlette.testclient import TestClient

from newsletter.content.config import Settings
from newsletter.content.subscribers import Subscriber, load_subscribers, read_subscribers
from newsletter.mail.compose import Composer, now_header, parts, recipient_of
from newsletter.mail.tokens import TokenKeys, parse_keys
from newsletter.store.ledger import Ledger, new_sid
from newsletter.web.public.app import create_app
from newsletter.web.public.pages import CSS, CSS_HASH

REPO = Path(__file__).resolve().parent.parent.parent
ORIGIN = "https://news.example.org"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
TABLES = ("people", "suppressions", "preferences", "events", "campaigns")


@dataclass
class Site:
    client: TestClient
    settings: Settings
    composer: Composer
    subs: dict[str, Subscriber]  # by email
    sids: dict[str, str]  # email → sid

    @property
    def keys(self) -> TokenKeys:
        return self.composer.keys

    def sid(self, email: str) -> str:
        return self.sids[email]

    def u(self, email: str) -> str:
        return f"/u/{self.keys.sign(self.sid(email), 'u')}"

    def p(self, email: str) -> str:
        return f"/p/{self.keys.sign(self.sid(email), 'p')}"

    def db(self) -> dict[str, list[tuple[Any, ...]]]:
        con = sqlite3.connect(self.settings.state_db)
        try:
            return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
        finally:
            con.close()

    def suppression(self, email: str) -> tuple[str, str] | None:
        rows = [r for r in self.db()["suppressions"] if r[0] == self.subs[email].key]
        return (rows[0][1], rows[0][2]) if rows else None

    def preference(self, email: str) -> frozenset[str] | None | str:
        rows = [r for r in self.db()["preferences"] if r[0] == self.sid(email)]
        if not rows:
            return "unset"
        return None if rows[0][1] is None else frozenset(json.loads(rows[0][1]))


def seed_people(settings: Settings, path: Path) -> tuple[dict[str, Subscriber], dict[str, str]]:
    subs, _ = load_subscribers(path, settings)
    ledger = Ledger(settings.state_db)
    try:
        sids = ledger.sids_for((s.key, s.email) for s in subs)
    finally:
        ledger.close()
    return {s.email: s for s in subs}, {s.email: sids[s.key] for s in subs}


@pytest.fixture
def site(project: Path, settings: Settings, composer: Composer) -> Iterator[Site]:
    path = project / "subscribers.example.yaml"
    subs, sids = seed_people(settings, path)
    app = create_app(settings, path, composer=composer)
    with TestClient(app, base_url=ORIGIN, follow_redirects=False) as client:
        yield Site(client, settings, composer, subs, sids)


ANA, BEN, CHLOE = "ana.researcher@example.org", "ben@example.com", "chloe@example.org"


def assert_plain_200(r: Any) -> None:
    assert r.status_code == 200
    assert "location" not in r.headers and "set-cookie" not in r.headers
    assert r.headers["content-type"].startswith("text/html")


# -- H1: one-click POST --------------------------------------------------------------------------
def test_one_click_urlencoded(site: Site) -> None:
    r = site.client.post(site.u(BEN), data=ONE_CLICK)
    assert_plain_200(r)
    assert "You are unsubscribed" in r.text and BEN not in r.text  # masked address only
    assert site.suppression(BEN) == ("unsubscribed", "one-click")
    assert site.suppression(ANA) is None


def test_one_click_multipart(site: Site) -> None:
    r = site.client.post(site.u(BEN), files={"List-Unsubscribe": (None, "One-Click")})
    assert r.request.headers["content-type"].startswith("multipart/form-data")
    assert_plain_200(r)
    assert site.suppression(BEN) == ("unsubscribed", "one-click")


def test_one_click_handwritten_multipart_like_a_mailbox_provider(site: Site) -> None:
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
            b"One-Click\r\n--XyZ--\r\n")
    r = site.client.post(site.u(BEN), content=body,
                         headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert_plain_200(r)
    assert site.suppression(BEN) == ("unsubscribed", "one-click")


def test_one_click_body_without_form_content_type(site: Site) -> None:
    r = site.client.post(site.u(BEN), content=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "text/plain"})
    assert_plain_200(r)
    assert site.suppression(BEN) is not None


def test_one_click_is_idempotent(site: Site) -> None:
    first = site.client.post(site.u(BEN), data=ONE_CLICK)
    before = site.db()["suppressions"]
    second = site.client.post(site.u(BEN), files={"List-Unsubscribe": (None, "One-Click")})
    assert_plain_200(first)
    assert_plain_200(second)
    assert site.db()["suppressions"] == before  # same row, same time
    events = [json.loads(e[3]) for e in site.db()["events"] if e[2] == "unsubscribe"]
    assert [e["new"] for e in events] == [True, False]


def test_unsubscribe_event_is_logged_without_the_token(site: Site) -> None:
    url = site.u(BEN)
    site.client.post(url, data=ONE_CLICK, headers={"User-Agent": "Mozilla/5.0 (MailScanner)"})
    (event,) = [e for e in site.db()["events"] if e[2] == "unsubscribe"]
    at, sid, _kind, detail = event
    assert sid == site.sid(BEN) and abs(at - time.time()) < 60
    d = json.loads(detail)
    assert d == {"kid": "t1", "ua": "Mozilla/5.0 (MailScanner)", "source": "one-click", "new": True}
    mac = url.rsplit(".", 1)[1]
    assert mac not in detail and BEN not in detail


@pytest.mark.parametrize("body", [{}, {"List-Unsubscribe": "one-click"}, {"List-Unsubscribe": "Yes"},
                                  {"unsubscribe": "1"}])
def test_post_without_the_one_click_pair_changes_nothing(site: Site, body: dict[str, str]) -> None:
    before = site.db()
    r = site.client.post(site.u(BEN), data=body)
    assert r.status_code == 400
    assert site.db() == before


def test_malformed_multipart_changes_nothing(site: Site) -> None:
    before = site.db()
    r = site.client.post(site.u(BEN), content=b"--nope\r\ngarbage",
                         headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert r.status_code == 400 and site.db() == before
    r = site.client.post(site.u(BEN), files={"List-Unsubscribe": ("f.txt", b"One-Click", "text/plain")})
    assert r.status_code == 400 and site.db() == before  # no file uploads


def test_large_body_is_refused(site: Site) -> None:
    before = site.db()
    r = site.client.post(site.u(BEN), data={**ONE_CLICK, "x": "a" * 100_000})
    assert r.status_code == 413 and site.db() == before


def test_trailing_slash_is_not_redirected(site: Site) -> None:
    r = site.client.post(site.u(BEN) + "/", data=ONE_CLICK)
    assert r.status_code == 404 and "location" not in r.headers


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "u", "GET, HEAD, POST"), ("DELETE", "u", "GET, HEAD, POST"), ("OPTIONS", "u", "GET, HEAD, POST"),
    ("PATCH", "p", "GET, HEAD, POST"), ("POST", "/healthz", "GET, HEAD"),
    ("POST", "/archive/2020-10", "GET, HEAD"), ("DELETE", "/manage", "GET, HEAD"),
])
def test_405_names_every_allowed_method(site: Site, method: str, path: str, allow: str) -> None:
    """RFC 9110 §15.5.6: a 405 carries Allow with every method the path serves, and the
    request changes nothing."""
    url = {"u": site.u(BEN), "p": site.p(BEN)}.get(path, path)
    before = site.db()
    r = site.client.request(method, url)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert site.db() == before


def test_405_allow_under_a_path_prefix(project: Path, settings: Settings, composer: Composer) -> None:
    from dataclasses import replace

    prefixed = replace(settings, base_url=ORIGIN + "/news")
    path = project / "subscribers.example.yaml"
    with TestClient(create_app(prefixed, path, composer=composer), base_url=ORIGIN) as c:
        r = c.request("PUT", "/news/u/anything")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"
        assert c.request("PUT", "/elsewhere/u/x").status_code == 404


def test_links_of_test_copies_work_and_change_nothing(site: Site) -> None:
    """`send-test` and `render` copies carry the sample id: their links answer 200 (so the
    author can try the one-click button of a real mailbox) and change nothing."""
    raw, _ = site.composer.sample(site.composer.issue("issues/2020-10.yaml"))
    m = message_from_bytes(raw, policy=policy.default)
    url = re.search(r"<(https://[^>]+)>", str(m["List-Unsubscribe"])).group(1)  # type: ignore[union-attr]
    before = site.db()
    r = site.client.post(url.replace(ORIGIN, ""), data=ONE_CLICK)
    assert_plain_200(r)
    assert "test or sample copy" in r.text
    p_link = re.search(rf"{ORIGIN}(/p/[^\s\"]+)", parts(raw)[1]).group(1)  # type: ignore[union-attr]
    assert site.client.get(p_link).status_code == 200
    assert site.db() == before


# -- H2: GET changes nothing ----------------------------------------------------------------------
def test_get_shows_a_confirmation_and_changes_nothing(site: Site) -> None:
    before = site.db()
    for _ in range(3):  # scanners fetch more than once
        r = site.client.get(site.u(BEN))
        assert_plain_200(r)
    assert site.client.head(site.u(BEN)).status_code == 200
    assert site.db() == before
    assert re.search(r'<form method="post" action="t1\.[^"]+">', r.text)
    assert '<button type="submit">Unsubscribe</button>' in r.text
    assert 'name="List-Unsubscribe" value="One-Click"' in r.text


def test_the_confirmation_button_unsubscribes(site: Site) -> None:
    page = site.client.get(site.u(BEN)).text
    action = re.search(r'action="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', page))
    r = site.client.post(f"/u/{action}", data=fields)
    assert_plain_200(r)
    assert site.suppression(BEN) == ("unsubscribed", "page")
    again = site.client.get(site.u(BEN))
    assert "You are unsubscribed" in again.text and "<form" not in again.text


# -- H3/H4: bad tokens and unsigned identifiers ---------------------------------------------------
def _bad_tokens(site: Site, purpose: str) -> dict[str, str]:
    sid = site.sid(BEN)
    good = site.keys.sign(sid, purpose)
    other = "p" if purpose == "u" else "u"
    last = good[-1]
    return {
        "forged": f"t1.{sid}.{'A' * 16}",
        "truncated": good[:-1],
        "truncated-more": good[: good.rindex(".")],
        "bit-flipped": good[:-1] + ("B" if last != "B" else "C"),
        "sid-swapped": f"t1.{site.sid(ANA)}.{good.rsplit('.', 1)[1]}",
        "unknown-kid": "zz" + good[2:],
        "other-list": TokenKeys(site.keys.keys, "other.example.org").sign(sid, purpose),
        "cross-purpose": site.keys.sign(sid, other),
        "guessed-key": TokenKeys(parse_keys("t1:guessed-secret-0000000000"), site.settings.list_id)
        .sign(sid, purpose),
        "unknown-person": site.keys.sign(new_sid(), purpose),
        "garbage": "..",
        "long": "A" * 3000,
        "newline": good + "%0A",
    }


@pytest.mark.parametrize("purpose", ["u", "p"])
def test_bad_tokens_get_404_and_change_nothing(site: Site, purpose: str) -> None:
    before = site.db()
    body = ONE_CLICK if purpose == "u" else {"action": "unsubscribe"}
    for name, token in _bad_tokens(site, purpose).items():
        for r in (site.client.get(f"/{purpose}/{token}"), site.client.post(f"/{purpose}/{token}", data=body)):
            if name == "garbage":  # the client makes "/u/.." into "/", the archive: not a /u/ route
                assert r.request.url.path == "/"
                continue
            assert r.status_code == 404, (name, r.request.method, r.status_code)
            assert "set-cookie" not in r.headers
            if name != "garbage":  # "/u/.." is normalised to "/" by the client: the router's 404
                assert "does not work" in r.text, name
    assert site.db() == before


@pytest.mark.parametrize("url", ["/u?email=ben@example.com", "/u/?email=ben@example.com",
                                 "/unsubscribe?email=ben@example.com", "/p?email=ben@example.com",
                                 "/u/ben@example.com", "/u/ben%40example.com",
                                 "/u/{sid}", "/p/{sid}"])
def test_unsigned_identifiers_are_not_accepted(site: Site, url: str) -> None:
    before = site.db()
    url = url.format(sid=site.sid(BEN))
    assert site.client.post(url, data=ONE_CLICK).status_code in (400, 404)
    assert site.client.post(url, data={"action": "unsubscribe"}).status_code in (400, 404)
    assert site.db() == before


def test_email_in_the_query_is_refused_even_with_a_valid_token(site: Site) -> None:
    before = site.db()
    r = site.client.post(site.u(ANA) + "?email=ben@example.com", data=ONE_CLICK)
    assert r.status_code == 400
    r = site.client.post(site.p(ANA) + "?email=ben@example.com", data={"action": "unsubscribe"})
    assert r.status_code == 400
    assert site.client.get(site.p(ANA) + "?Email=x").status_code == 400
    assert site.db() == before


def test_key_rotation(project: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project / "subscribers.example.yaml"
    _, sids = seed_people(settings, path)
    old, new = "old1:old-secret-0123456789abcdef", "new1:new-secret-0123456789abcdef"
    monkeypatch.setenv("NEWSLETTER_TOKEN_KEYS", old)
    old_token = Composer.load(settings=settings).keys.sign(sids[BEN], "u")
    monkeypatch.setenv("NEWSLETTER_TOKEN_KEYS", f"{new},{old}")
    rotated = Composer.load(settings=settings)
    assert rotated.keys.sign(sids[ANA], "u").startswith("new1.")
    with TestClient(create_app(settings, path, composer=rotated), base_url=ORIGIN) as c:
        assert c.post(f"/u/{old_token}", data=ONE_CLICK).status_code == 200
    monkeypatch.setenv("NEWSLETTER_TOKEN_KEYS", new)
    with TestClient(create_app(settings, path, composer=Composer.load(settings=settings)),
                    base_url=ORIGIN) as c:
        assert c.get(f"/u/{old_token}").status_code == 404  # old key removed: old links stop


# -- the preference page --------------------------------------------------------------------------
def ticked(html: str) -> set[str]:
    return set(re.findall(r'value="([a-z0-9-]+)" checked', html))


def test_preference_page_shows_the_file_topics(site: Site) -> None:
    r = site.client.get(site.p(ANA))
    assert_plain_200(r)
    assert ticked(r.text) == site.subs[ANA].topics and "depression" in ticked(r.text)
    assert r.text.count('type="checkbox"') == len(site.settings.taxonomy.labels)
    for slug in site.settings.taxonomy.labels:  # every box has its own label
        assert f'<label for="t-{slug}">' in r.text and f'id="t-{slug}"' in r.text
    assert "<fieldset" in r.text and "<legend>" in r.text
    assert "Unsubscribe from everything" in r.text
    assert ticked(site.client.get(site.p(CHLOE)).text) == set(site.settings.taxonomy.labels)  # all


def test_get_preference_page_changes_nothing(site: Site) -> None:
    before = site.db()
    site.client.get(site.p(ANA))
    site.client.head(site.p(ANA))
    assert site.db() == before


def test_save_topics(site: Site) -> None:
    r = site.client.post(site.p(ANA), data={"action": "save", "topic": ["empathy", "neuroscience"]})
    assert_plain_200(r)
    assert "Your topics are saved" in r.text and "Empathy" in r.text
    assert site.preference(ANA) == frozenset({"empathy", "neuroscience"})
    assert ticked(site.client.get(site.p(ANA)).text) == {"empathy", "neuroscience"}  # override wins
    (event,) = [e for e in site.db()["events"] if e[2] == "preferences"]
    assert json.loads(event[3])["topics"] == 2


def test_save_every_topic_means_all(site: Site) -> None:
    every = list(site.settings.taxonomy.labels)
    r = site.client.post(site.p(ANA), files=[("action", (None, "save"))] + [("topic", (None, t)) for t in every])
    assert_plain_200(r)
    assert site.preference(ANA) is None  # every topic, including ones added later
    assert "every article" in r.text


def test_save_without_topics_is_refused(site: Site) -> None:
    before = site.db()
    r = site.client.post(site.p(ANA), data={"action": "save"})
    assert r.status_code == 422
    assert 'role="alert"' in r.text and 'aria-describedby="form-error"' in r.text
    assert ticked(r.text) == set()  # the form as submitted, with the message
    assert site.db() == before


@pytest.mark.parametrize("data", [{"action": "save", "topic": ["empathy", "no-such-topic"]},
                                  {"action": "delete-account"}, {"topic": "empathy"}])
def test_bad_preference_posts_change_nothing(site: Site, data: dict[str, Any]) -> None:
    before = site.db()
    assert site.client.post(site.p(ANA), data=data).status_code == 400
    assert site.db() == before


def test_unsubscribe_from_the_preference_page(site: Site) -> None:
    r = site.client.post(site.p(BEN), data={"action": "unsubscribe"})
    assert_plain_200(r)
    assert site.suppression(BEN) == ("unsubscribed", "page")
    page = site.client.get(site.p(BEN)).text
    assert "You are unsubscribed" in page and "Subscribe again with these topics" in page
    assert "Unsubscribe from everything" not in page


def test_resubscribe_after_unsubscribing(site: Site) -> None:
    site.client.post(site.u(BEN), data=ONE_CLICK)
    r = site.client.post(site.p(BEN), data={"action": "resubscribe", "topic": ["training"]})
    assert_plain_200(r)
    assert "Welcome back" in r.text
    assert site.suppression(BEN) is None and site.preference(BEN) == frozenset({"training"})
    assert [e[2] for e in site.db()["events"]].count("resubscribe") == 1


def test_saving_topics_while_unsubscribed_does_not_resubscribe(site: Site) -> None:
    site.client.post(site.u(BEN), data=ONE_CLICK)
    r = site.client.post(site.p(BEN), data={"action": "save", "topic": ["training"]})
    assert r.status_code == 200 and site.suppression(BEN) is not None


def test_a_bounce_is_not_lifted_from_the_preference_page(site: Site) -> None:
    ledger = Ledger(site.settings.state_db)
    ledger.suppress(site.subs[BEN].key, "hard bounce: 550 5.1.1 no such user", "smtp")
    ledger.close()
    page = site.client.get(site.p(BEN)).text
    assert "could not be delivered" in page and "Subscribe again" not in page
    site.client.post(site.p(BEN), data={"action": "resubscribe", "topic": ["training"]})
    assert site.suppression(BEN) == ("hard bounce: 550 5.1.1 no such user", "smtp")
    # and a later one-click keeps the original reason (idempotent, nothing overwritten)
    assert site.client.post(site.u(BEN), data=ONE_CLICK).status_code == 200
    assert site.suppression(BEN)[1] == "smtp"  # type: ignore[index]


def test_subscriber_file_changes_are_picked_up(site: Site, project: Path) -> None:
    path = project / "subscribers.example.yaml"
    path.write_text(path.read_text().replace("topics: [empathy, alliance, training]", "topics: [suicide]"))
    state = site.client.app.state.newsletter  # type: ignore[attr-defined]
    state.subscribers._checked = 0.0  # skip the 2-second re-check interval
    assert ticked(site.client.get(site.p(BEN)).text) == {"suicide"}


# -- pages: headers, accessibility basics, privacy ------------------------------------------------
def test_security_headers_and_no_cookies(site: Site) -> None:
    for url in (site.u(ANA), site.p(ANA), "/manage", "/u/bad"):
        r = site.client.get(url)
        h = r.headers
        assert "set-cookie" not in h
        assert h["referrer-policy"] == "no-referrer" and h["cache-control"] == "no-store"
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        assert f"style-src '{CSS_HASH}'" in h["content-security-policy"]
        assert "<script" not in r.text.lower() and "http://" not in r.text and "https://" not in r.text
    style = re.search(r"<style>(.*?)</style>", site.client.get(site.p(ANA)).text, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert style == CSS
    assert CSS_HASH == "sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()


def test_access_log_never_contains_a_token(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="newsletter.serve")
    url = site.u(BEN)
    site.client.post(url, data=ONE_CLICK)
    site.client.get(site.p(BEN))
    text = caplog.text
    assert "POST /u/[token] 200" in text and "GET /p/[token] 200" in text
    assert url.split("/")[-1] not in text and site.sid(BEN) not in text


def test_healthz(site: Site) -> None:
    r = site.client.get("/healthz")
    assert r.status_code == 200 and r.text == "ok\n"


def test_manage_page(site: Site) -> None:
    r = site.client.get("/manage")
    assert_plain_200(r)
    assert "end of every issue" in r.text


# -- the web version ------------------------------------------------------------------------------
def start_campaign(settings: Settings, month: str) -> None:
    ledger = Ledger(settings.state_db)
    ledger.start_campaign(month, "hash", now_header(), force=False)
    ledger.close()


def test_archive_only_after_the_issue_was_sent(site: Site) -> None:
    assert site.client.get("/archive/2020-10").status_code == 404  # a draft is not public
    start_campaign(site.settings, "2020-10")
    r = site.client.get("/archive/2020-10")
    assert r.status_code == 200
    issue = site.composer.issue("issues/2020-10.yaml")
    for a in issue.articles:  # the web version holds every article (its layout: tests/web/test_site.py)
        assert a.title.replace("'", "&#39;") in r.text or a.title in r.text
    assert "__NL_" not in r.text and "Hello" not in r.text  # nobody to greet on the web
    assert "/u/" not in r.text and "/p/" not in r.text  # no personal links on the public page
    for s in site.subs.values():  # no personal data
        assert s.email not in r.text and (not s.name or s.name not in r.text)
    assert "unsafe-inline" not in r.headers["content-security-policy"]  # its own stylesheet, not the e-mail's
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize("month", ["2020-13", "2099-01", "..%2Fnewsletter", "2020-10.yaml", "latest"])
def test_archive_unknown_months(site: Site, month: str) -> None:
    start_campaign(site.settings, "2099-01")
    assert site.client.get(f"/archive/{month}").status_code == 404


def test_archive_drafts_option(project: Path, settings: Settings, composer: Composer) -> None:
    app = create_app(settings, project / "subscribers.example.yaml", composer=composer, archive_drafts=True)
    with TestClient(app, base_url=ORIGIN) as c:
        assert c.get("/archive/2020-12").status_code == 200


def test_the_e_mail_links_to_the_web_version(site: Site) -> None:
    raw, _ = site.composer.sample(site.composer.issue("issues/2020-10.yaml"))
    body, _ = parts(raw)
    assert f'href="{ORIGIN}/archive/2020-10"' in body


def test_base_url_with_a_path(project: Path, settings: Settings, composer: Composer) -> None:
    path = project / "subscribers.example.yaml"
    _, sids = seed_people(settings, path)
    prefixed = replace(settings, base_url="https://example.org/digest")
    app = create_app(prefixed, path, composer=composer)
    with TestClient(app, base_url="https://example.org") as c:
        token = composer.keys.sign(sids[BEN], "u")
        assert c.post(f"/digest/u/{token}", data=ONE_CLICK).status_code == 200
        assert c.get("/digest/healthz").status_code == 200


def test_busy_database_answers_503_and_retries(site: Site) -> None:
    state = site.client.app.state.newsletter  # type: ignore[attr-defined]
    state.ledger.db.execute("PRAGMA busy_timeout=20")
    blocker = sqlite3.connect(site.settings.state_db, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        r = site.client.post(site.u(BEN), data=ONE_CLICK)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
    finally:
        blocker.execute("ROLLBACK")
    assert site.suppression(BEN) is None
    # A lock held for a moment (a `send` committing) is ridden out by the retries.
    blocker.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.15, lambda: blocker.execute("ROLLBACK")).start()
    assert site.client.post(site.u(BEN), data=ONE_CLICK).status_code == 200
    assert site.suppression(BEN) == ("unsubscribed", "one-click")
    blocker.close()


# -- export -----------------------------------------------------------------------------------------
def test_subscribers_export(site: Site, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli import main

    site.client.post(site.p(ANA), data={"action": "save", "topic": ["empathy", "neuroscience"]})
    site.client.post(site.u(BEN), data=ONE_CLICK)
    out = project / "subscribers.new.yaml"
    assert main(["subscribers", "export", "--subscribers", "subscribers.example.yaml", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "exported 5 subscriber(s) (0 signed up on the web, 1 with topics changed on the web; 1 unsubscribed" in err
    assert (out.stat().st_mode & 0o777) == 0o600
    text = out.read_text()
    assert "# - email: ben@example.com  # unsubscribed on" in text
    subs, reader = read_subscribers(out, site.settings)
    assert not reader.errors
    by = {s.email: s for s in subs}
    assert BEN not in by
    assert by[ANA].topics == frozenset({"empathy", "neuroscience"}) and by[ANA].name == "Ana Researcher"
    assert by[CHLOE].topics is None and by[CHLOE].name == "Chloé Dubois"
    assert "Chloé Dubois" in text  # readable, not escaped
    original = {s.email: s for s in load_subscribers(project / "subscribers.example.yaml", site.settings)[0]}
    for email in set(by) - {ANA}:
        assert by[email].topics == original[email].topics
    assert main(["subscribers", "export", "--subscribers", "subscribers.example.yaml"]) == 0
    assert capsys.readouterr().out.split("\n", 4)[4] == text.split("\n", 4)[4]  # stdout: same list


def test_export_without_state_is_the_file(project: Path, settings: Settings,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli import main

    assert main(["subscribers", "export", "--subscribers", "subscribers.example.yaml"]) == 0
    assert not settings.state_db.exists()  # export never creates the database
    text = capsys.readouterr().out
    (project / "x.yaml").write_text(text)
    subs, _ = load_subscribers(project / "x.yaml", settings)
    orig, _ = load_subscribers(project / "subscribers.example.yaml", settings)
    assert [(s.email, s.name, s.topics) for s in subs] == [(s.email, s.name, s.topics) for s in orig]


# -- the serve command ------------------------------------------------------------------------------
def test_serve_command_runs_uvicorn_without_its_access_log(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from newsletter.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    assert main(["serve", "--port", "8099", "--subscribers", "subscribers.example.yaml"]) == 0
    assert seen["port"] == 8099 and seen["host"] == "127.0.0.1" and seen["access_log"] is False
    with TestClient(seen["app"], base_url=ORIGIN) as c:
        assert c.get("/healthz").status_code == 200


# -- a real server, a real browser, then a real send ------------------------------------------------
@contextmanager
def uvicorn_server(app: Any) -> Iterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def link_from_message(site: Site, email: str, kind: str) -> str:
    """The /p/ or /u/ link exactly as it appears in the HTML part of the reader's message."""
    composer = site.composer
    issue = composer.issue("issues/2020-10.yaml")
    sub = site.subs[email]
    cv = composer.compile(issue, composer.selection_for(issue, sub.topics), campaign=issue.month,
                          date=now_header())
    raw = cv.build(recipient_of(sub, site.sid(email), sub.topics))
    body, text = parts(raw)
    links = re.findall(rf'href="({re.escape(ORIGIN)}/{kind}/[^"]+)"', body)
    assert links and f"{links[0]}" in text
    return links[0]


def _luminance(rgb: str) -> float:
    vals = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in vals]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted([_luminance(fg), _luminance(bg)], reverse=True)
    return (a + 0.05) / (b + 0.05)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_browser_preferences_then_send(site: Site, project: Path) -> None:
    pw = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no system Chromium")
    app = create_app(site.settings, project / "subscribers.example.yaml", composer=site.composer)
    ana_link = link_from_message(site, ANA, "p")
    ben_link = link_from_message(site, BEN, "p")
    chloe_link = link_from_message(site, CHLOE, "u")
    requests: list[str] = []
    with uvicorn_server(app) as base, pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
            page = context.new_page()
            page.on("request", lambda req: requests.append(req.url))
            csp_errors: list[str] = []
            page.on("console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else None)

            # Ana: open the link from her message, change topics, save.
            page.goto(ana_link.replace(ORIGIN, base))
            assert page.title() == "Choose your topics – Practice Research Digest"
            assert page.get_by_label("Depression and Depressive Symptoms").is_checked()
            assert page.get_by_label("Group Psychotherapy").is_checked()
            assert not page.get_by_label("Empathy").is_checked()
            assert page.get_by_role("group", name="Topics you want to receive").is_visible()
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], "horizontal scrolling on a phone"
            # the stylesheet was allowed by the CSP hash and is applied
            save = page.get_by_role("button", name="Save topics")
            assert save.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(11, 92, 173)"
            box = save.bounding_box()
            assert box and box["height"] >= 44  # a comfortable touch target
            for sel in ("body", ".hint", "footer", "button.danger"):
                fg, bg = page.locator(sel).first.evaluate(
                    "e => { let b = e, c; while (b && (c = getComputedStyle(b).backgroundColor) === "
                    "'rgba(0, 0, 0, 0)') b = b.parentElement; return [getComputedStyle(e).color, c || 'rgb(255,255,255)']; }")
                assert contrast(fg, bg) >= 4.5, (sel, fg, bg)
            assert contrast("rgb(255,255,255)", "rgb(11, 92, 173)") >= 4.5

            # keyboard only: tab to the first box, toggle it with Space, focus is visible
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.id")
            assert focused == "t-adherence"
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none"
            page.keyboard.press("Space")
            assert page.get_by_label("Adherence").is_checked()
            page.keyboard.press("Space")  # and off again
            labels = site.settings.taxonomy.labels
            for slug in site.subs[ANA].topics or ():
                page.get_by_label(labels[slug], exact=True).uncheck()
            page.get_by_label("Empathy", exact=True).check()
            save.focus()
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.get_by_role("heading", level=1).inner_text() == "Your topics are saved"
            assert page.get_by_role("status").inner_text().startswith("Saved.")
            assert "Empathy" in page.content()
            with page.expect_navigation():
                page.get_by_role("link", name="Back to your topics").click()
            assert page.get_by_label("Empathy").is_checked()
            assert not page.get_by_label("Group Psychotherapy").is_checked()

            # Ben: from his preference page, unsubscribe from everything.
            page.goto(ben_link.replace(ORIGIN, base))
            with page.expect_navigation():
                page.get_by_role("button", name="Unsubscribe from everything").click()
            assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"

            # Chloé: the unsubscribe link of her message asks first; the button unsubscribes.
            page.goto(chloe_link.replace(ORIGIN, base))
            assert site.suppression(CHLOE) is None
            with page.expect_navigation():
                page.get_by_role("button", name="Unsubscribe").click()
            assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
            assert context.cookies() == []
            assert not csp_errors, csp_errors
        finally:
            browser.close()
    assert all(u.startswith(base) for u in requests), "a request left the server"
    assert site.preference(ANA) == frozenset({"empathy"})
    assert site.suppression(BEN) == ("unsubscribed", "page")
    assert site.suppression(CHLOE) == ("unsubscribed", "page")

    # Then a real `send` delivers according to those changes.
    delivered = run_send(project, "issues/2020-10.yaml")
    assert BEN not in delivered and CHLOE not in delivered
    issue = site.composer.issue("issues/2020-10.yaml")
    titles = [a.title for a in issue.articles]
    ana = delivered[ANA]  # empathy: the first article only (the file's topics gave the 2nd and 3rd)
    assert ana.count("Practice implications") == 1 and titles[0] in ana
    con = sqlite3.connect(site.settings.state_db)
    rows = dict(con.execute("SELECT email, variant || ':' || state FROM deliveries WHERE issue='2020-10'"))
    con.close()
    assert rows[ANA] == "0:sent"
    assert rows[BEN].endswith(":skipped") and rows[CHLOE].endswith(":skipped")
    assert "eli@example.org" in delivered  # everyone else as in the file


def run_send(project: Path, issue: str) -> dict[str, str]:
    """`newsletter send` in a subprocess (Maildir outbox); returns To address → HTML part
    (unescaped)."""
    r = subprocess.run([sys.executable, "-m", "newsletter.cli", "send", issue, "--subscribers",
                        "subscribers.example.yaml", "--quiet"], cwd=project, capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    out: dict[str, str] = {}
    for msg in mailbox.Maildir(project / "outbox", create=False):
        m = message_from_bytes(msg.as_bytes(), policy=policy.default)
        if m["Message-ID"].startswith(f"<{Path(issue).stem}."):  # this issue's campaign only
            out[m["To"].addresses[0].addr_spec] = html.unescape(parts(msg.as_bytes())[0])
    return out


def test_one_click_from_a_sent_message_then_next_send_skips(site: Site, project: Path) -> None:
    """The List-Unsubscribe header of a message `send` actually delivered works over a real
    server, and the next issue is not sent to that reader."""
    import httpx

    first = run_send(project, "issues/2020-12.yaml")
    assert CHLOE in first
    box = mailbox.Maildir(project / "outbox", create=False)
    raw = next(m.as_bytes() for m in box if CHLOE in str(m["To"]) and "<2020-12." in str(m["Message-ID"]))
    m = message_from_bytes(raw, policy=policy.default)
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.search(r"<(https://[^>]+)>", str(m["List-Unsubscribe"])).group(1)  # type: ignore[union-attr]
    app = create_app(site.settings, project / "subscribers.example.yaml", composer=site.composer)
    with uvicorn_server(app) as base:
        r = httpx.post(url.replace(ORIGIN, base), files={"List-Unsubscribe": (None, "One-Click")},
                       follow_redirects=False)
        assert r.status_code == 200 and not r.cookies
    second = run_send(project, "issues/2021-04.yaml")
    assert CHLOE not in second and second  # skipped; others still receive it


# -- load ---------------------------------------------------------------------------------------------
def test_concurrent_one_click_load_none_lost(tmp_path: Path) -> None:
    """bench/unsubscribe_load.py at a reduced size: a uvicorn server process, a client process,
    every POST answered 200 and recorded."""
    r = subprocess.run([sys.executable, str(REPO / "bench" / "unsubscribe_load.py"), "--n", "300",
                        "--workdir", str(tmp_path / "bench"), "--json"],
                       check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["ok"] == 300 and result["recorded"] == 300 and result["errors"] == 0
