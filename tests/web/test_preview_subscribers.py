"""The preview's "as subscriber" search: the index (order of results, counts, lookup), the JSON
endpoint, and the typeahead in a real Chromium over a list of 5,000 readers. (How it scales to
100,000 is measured in bench/subscriber_search.py, not asserted here.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from newsletter.content.subscribers import Subscriber
from newsletter.web.preview.subscribers import COUNT_LIMIT, SubscriberIndex

from ..conftest import write_subscribers
from .conftest import TestClient, open_issue


def index(*people: tuple[str, str]) -> SubscriberIndex:
    return SubscriberIndex([Subscriber(email, name, None) for email, name in people], [])


def emails(found: Any) -> list[str]:
    return [s.email for s in found.items]


def test_results_prefix_of_address_then_word_of_name_then_anywhere() -> None:
    people = index(("zoe.eliot@example.org", "Zoe Eliot"), ("ann@example.org", "Ann Elise"),
                   ("eli@example.org", "Eli"), ("mary@elis.example", "Mary"), ("celine@example.org", ""))
    assert emails(people.search("eli")) == ["eli@example.org", "zoe.eliot@example.org", "ann@example.org",
                                            "mary@elis.example", "celine@example.org"]
    assert emails(people.search("ELI", limit=2)) == ["eli@example.org", "zoe.eliot@example.org"]
    found = people.search("eli", limit=2)
    assert (found.matches, found.more, found.total) == (5, False, 5)
    assert emails(people.search("  ann  ")) == ["ann@example.org"]
    assert emails(people.search("@elis.")) == ["mary@elis.example"]
    assert people.search("nobody").items == [] and people.search("nobody").matches == 0
    assert emails(people.search("", limit=2)) == ["zoe.eliot@example.org", "ann@example.org"]


@pytest.mark.parametrize("query", ["a\tb", "a\nb", "a b", "org\nann", "org ann"])
def test_a_query_never_matches_across_fields_or_readers(query: str) -> None:
    people = index(("b@example.org", "A"), ("ann@example.org", "Ann"))
    assert people.search(query).items == []


def test_counts_stop_at_the_limit() -> None:
    people = SubscriberIndex([Subscriber(f"reader{i:05d}@example.org", f"Reader {i}", None)
                              for i in range(COUNT_LIMIT + 50)], [])
    found = people.search("reader", limit=12)
    assert len(found.items) == 12 and found.matches == COUNT_LIMIT and found.more
    assert emails(found)[0] == "reader00000@example.org"


def test_find_by_address_in_any_case() -> None:
    people = index(("Ana.Researcher@example.org", "Ana"), ("jo@xn--strae-oqa.de", "Jo"))
    assert people.find(" ana.researcher@EXAMPLE.org ") is not None
    assert people.find("jo@straße.de") is not None and people.find("jo@STRASSE.de") is None
    assert people.find("") is None and people.find("nobody@example.org") is None


def test_endpoint_and_the_page_holds_no_list(project: Path, client: TestClient) -> None:
    write_subscribers(project, 5000, name="subscribers.yaml")
    page = client.get("/issue/2020-10").text
    assert "reader04999@example.org" not in page and "search 5,000 subscribers by address or name" in page
    data = client.get("/subscribers", params={"q": "reader0499", "limit": "3"}).json()
    assert data == {"items": [{"email": f"reader0499{i}@example.org", "name": f"Reader 499{i}",
                               "topics": "all topics"} for i in range(3)],
                    "matches": 10, "more": False, "total": 5000}
    assert client.get("/subscribers", params={"q": "reader", "limit": "999"}).json()["more"] is True
    chosen = client.get("/issue/2020-10", params={"variant": "subscriber", "sub": "READER00042@example.org"}).text
    assert "to Reader 42 &lt;reader00042@example.org&gt;" in chosen and 'value="reader00042@example.org"' in chosen


def test_browser_typeahead_with_the_keyboard(project: Path, page: Any, server: str) -> None:
    from playwright.sync_api import expect

    write_subscribers(project, 5000, name="subscribers.yaml")
    desktop = open_issue(page, server)
    box = page.locator("#sub-input")
    box.fill("reader0421")
    options = page.locator("#sub-list [role=option]")
    expect(options).to_have_count(10)
    expect(options.first).to_contain_text("Reader 4210 <reader04210@example.org>")
    expect(page.locator("#sub-list .more")).to_have_text("10 of 5,000 subscribers")
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(page.locator("#summary")).to_contain_text("to Reader 4211 <reader04211@example.org>")
    expect(desktop.locator("body")).to_contain_text("Hello Reader,")  # greeted by first name
    assert "sub=reader04211%40example.org" in page.url and "variant=subscriber" in page.url
    expect(page.locator(".chosen")).to_contain_text("Reader 4211 · all topics")
    box.fill("Reader 1")
    expect(page.locator("#sub-list .more")).to_have_text(re.compile(r"^12 of 1,000\+ matching; keep typing"))
    box.press("Escape")
    expect(page.locator("#sub-list")).to_be_hidden()
    box.fill("nobody at all")
    expect(page.locator("#sub-list .more")).to_have_text("no subscriber matches")
