"""The preview's outbox: the index (kept between refreshes, paging, search, "[TEST] only",
clearing up to what the author saw), its pages over HTTP, and the whole flow in Chromium."""

from __future__ import annotations

import mailbox
import os
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from newsletter.web.preview.outbox import OutboxIndex

from .conftest import TestClient


def fill_outbox(project: Path, n: int, *, test_every: int = 5) -> list[str]:
    """`n` messages, oldest first: every `test_every`-th a [TEST] copy; returns their keys."""
    box = mailbox.Maildir(project / "outbox", create=True)
    keys = []
    for i in range(n):
        msg = EmailMessage()
        msg["Subject"] = f"{'[TEST] ' if i % test_every == 0 else ''}Digest {i:03d}: Café and Crème"
        msg["From"] = "Practice Research Digest <digest@news.example.org>"
        msg["To"] = f"Réader {i} <reader{i:03d}@example.org>"
        msg["Date"] = "Mon, 30 Nov 2026 09:00:00 +0000"
        msg.set_content(f"Hello Réader {i},\nread https://example.org/a/{i}\n")
        msg.add_alternative(f'<html><body><p>Hello <a href="https://example.org/a/{i}">the <b>article</b></a> and '
                            f'<a href="https://news.example.org/u/tok{i}">unsubscribe</a></p></body></html>',
                            subtype="html")
        keys.append(box.add(msg.as_bytes()))
    return keys


def age(project: Path) -> None:
    """Make the outbox folders look unchanged for a while (as between two saves of an issue)."""
    for sub in ("new", "cur"):
        os.utime(project / "outbox" / sub, ns=(1_000_000_000, 1_000_000_000))


def test_index_lists_again_only_when_a_folder_changed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fill_outbox(project, 30)
    age(project)
    listings = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda p: listings.append(p) or real(p))
    index = OutboxIndex(project / "outbox")
    assert index.page(limit=5).total == 30 and len(listings) == 2  # new/ and cur/
    for _ in range(5):
        index.page(limit=5)
    assert len(listings) == 2  # nothing re-listed while the folders are unchanged
    fill_outbox(project, 1)
    assert index.page(limit=5).total == 31 and len(listings) == 4


def test_pages_search_and_test_only(project: Path) -> None:
    keys = fill_outbox(project, 60)
    index = OutboxIndex(project / "outbox")
    first = index.page(limit=25)
    assert [i.key for i in first.items] == keys[::-1][:25] and (first.total, first.matching) == (60, 60)
    assert [i.key for i in index.page(offset=50, limit=25).items] == keys[::-1][50:]
    assert index.page(offset=999, limit=25).offset == 59  # past the end: the last one
    found = index.page(query="digest 04", limit=25)
    assert found.matching == 10 and [i.key for i in found.items] == keys[49:39:-1]
    assert index.page(query="READER007@", limit=25).matching == 1
    tests = index.page(test_only=True, limit=25)
    assert tests.matching == 12 and all(i.subject.startswith("[TEST] ") for i in tests.items)
    assert index.page(query="café", test_only=True, limit=5).matching == 12
    assert index.page(query="Réader 7 <", limit=5).matching == 1  # the decoded display name


def test_clear_removes_what_the_author_saw_and_nothing_newer(project: Path) -> None:
    fill_outbox(project, 20)
    index = OutboxIndex(project / "outbox")
    shown = index.page(test_only=True)
    assert shown.matching == 4
    newer = fill_outbox(project, 6)  # arrive while the confirmation page is open
    assert index.clear(query="", test_only=True, upto=shown.newest) == 4
    left = index.page(limit=100)
    assert left.total == 22 and {i.key for i in left.items if i.is_test} == {newer[0], newer[5]}
    assert index.clear(query="", test_only=False, upto=index.page().newest) == 22
    assert index.page().total == 0


def test_message_keys_are_only_listed_names(project: Path) -> None:
    (key,) = fill_outbox(project, 1)
    index = OutboxIndex(project / "outbox")
    assert index.message(key) is not None
    for bad in ("../../newsletter.yaml", "/etc/passwd", "new", "", key + "x"):
        assert index.message(bad) is None


def test_outbox_pages(project: Path, client: TestClient) -> None:
    keys = fill_outbox(project, 60)
    assert client.get("/outbox", follow_redirects=False).headers["location"] == "/outbox/"
    page = client.get("/outbox/").text
    assert "1–25 of 60, newest first" in page and "Digest 059: Café and Crème" in page
    assert 'href="/outbox/?from=25" rel="next"' in page and "Clear the outbox (60 messages)…" in page
    older = client.get("/outbox/?from=50").text
    assert "51–60 of 60" in older and 'rel="prev"' in older and 'rel="next"' not in older
    found = client.get("/outbox/", params={"q": "reader00", "test": "1"}).text
    assert "1–2 of 2 matching (60 in all)" in found and "Delete these 2 messages…" in found
    confirm = client.get("/outbox/clear", params={"q": "reader00", "test": "1"}).text
    assert "deletes <b>2 messages</b>" in confirm and "whose subject starts with [TEST]" in confirm
    upto = re.search(r'name="upto" value="([^"]+)"', confirm)
    assert upto and upto.group(1) == keys[5]
    form = {"q": "reader00", "test": "1", "upto": upto.group(1)}
    assert client.post("/outbox/clear", data=form, headers={"Origin": "http://evil.example"}).status_code == 403
    r = client.post("/outbox/clear", data=form, follow_redirects=False)  # no confirm=yes: nothing happens
    assert r.status_code == 303 and len(os.listdir(project / "outbox" / "new")) == 60
    r = client.post("/outbox/clear", data=form | {"confirm": "yes"})
    assert "Deleted 2 messages." in r.text and len(os.listdir(project / "outbox" / "new")) == 58


def test_message_view_decodes_headers_and_lists_links(project: Path, client: TestClient) -> None:
    (key,) = fill_outbox(project, 1)
    raw = (project / "outbox" / "new" / key).read_bytes()
    assert b"=?utf-8?" in raw  # the subject and display name are RFC 2047 encoded on the wire
    page = client.get(f"/outbox/{key}").text
    assert "<h1>[TEST] Digest 000: Café and Crème</h1>" in page
    assert "<th>To</th><td>Réader 0 &lt;reader000@example.org&gt;</td>" in page
    assert "=?utf-8?" in page  # the headers as sent, too (under "As sent")
    assert 'id="letter-text">Hello Réader 0,' in page
    links = re.findall(r'<li>([^<]*) <a href="([^"]+)"', page)
    assert links == [("the article", "https://example.org/a/0"), ("unsubscribe", "https://news.example.org/u/tok0")]
    assert client.get(f"/outbox/{key}/eml").content == raw
    assert client.get("/outbox/nope").status_code == 404


def test_browser_outbox_search_page_and_clear(project: Path, page: Any, server: str) -> None:
    from playwright.sync_api import expect

    fill_outbox(project, 40)
    page.goto(f"{server}/outbox/")
    page.wait_for_function("() => window.__previewReady === true")
    expect(page.locator("#outbox-count")).to_have_text("1–25 of 40, newest first")
    page.click("a[rel=next]")
    expect(page.locator("#outbox-count")).to_have_text("26–40 of 40, newest first")
    page.fill("input[name=q]", "reader01")
    page.check("input[name=test]")
    page.click("button:has-text('Search')")
    expect(page.locator("#outbox-count")).to_have_text("1–2 of 2 matching (40 in all), newest first")
    expect(page.locator(".messages tbody tr")).to_have_count(2)
    fill_outbox(project, 1)  # a new message shows up without a reload (it matches nothing here)
    page.goto(f"{server}/outbox/")
    page.wait_for_function("() => window.__previewReady === true")
    page.evaluate("() => { window.__sameDocument = 'yes'; }")
    fill_outbox(project, 1)
    expect(page.locator("#outbox-count")).to_have_text("1–25 of 42, newest first")
    assert page.evaluate("() => window.__sameDocument") == "yes"
    page.locator(".messages a").first.click()
    expect(page.locator("h1")).to_have_text("[TEST] Digest 000: Café and Crème")
    expect(page.frame_locator("#frame-message").locator("body")).to_contain_text("unsubscribe")
    page.click("text=Back to the outbox")
    page.check("input[name=test]")
    page.click("button:has-text('Search')")
    page.click("#clear-link")
    expect(page.locator("h1")).to_have_text("Clear the outbox?")
    page.click("#clear-confirm")
    expect(page.locator("#done")).to_have_text("Deleted 10 messages.")
    expect(page.locator("#outbox-count")).to_have_text("1–25 of 32, newest first")
