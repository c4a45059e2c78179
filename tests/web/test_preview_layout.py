"""The preview's layout in a real Chromium at a phone (390 px), a small laptop (1024 px) and a wide
screen (1680 px): nothing wider than the window, both e-mail frames whole (side by side when there
is room, one above the other when not), the subscriber picker inside the window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ISSUE, TITLES, WAIT_MS, edit
from .test_preview_outbox import fill_outbox

WIDTHS = {"phone": (390, 844), "laptop": (1024, 768), "wide": (1680, 1000)}

# Every element's box against the window, and each frame against the box that clips it.
REPORT = """() => {
  const W = document.documentElement.clientWidth;
  const wider = [...document.querySelectorAll("body *")].filter(el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (!r.width || s.visibility === "hidden" || el.closest("[hidden]")) return false;
    let clip = el.parentElement;  // inside a scrolling or clipping box, its own box is what counts
    while (clip && clip !== document.body && !["auto", "hidden", "scroll"].includes(getComputedStyle(clip).overflowX))
      clip = clip.parentElement;
    const limit = clip && clip !== document.body ? clip.getBoundingClientRect() : {left: 0, right: W};
    return r.left < limit.left - 0.5 || r.right > limit.right + 0.5;
  }).map(el => el.id || el.className || el.tagName);
  const frames = [...document.querySelectorAll(".frame")].filter(f => f.offsetParent).map(f => {
    const r = f.querySelector("iframe").getBoundingClientRect(), box = f.closest(".frames").getBoundingClientRect();
    return {id: f.querySelector("iframe").id, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            whole: r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.left >= 0 && r.right <= W + 0.5,
            inner: f.querySelector("iframe").contentWindow.innerWidth};
  });
  return {scroll: document.documentElement.scrollWidth, width: W, wider, frames};
}"""


@pytest.fixture(params=list(WIDTHS))
def sized(request: pytest.FixtureRequest, browser: Any, server: str) -> Iterator[tuple[str, Any]]:
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(WAIT_MS)
    yield request.param, pg
    context.close()
    assert not errors, errors


def settle(page: Any) -> dict[str, Any]:
    page.wait_for_function("() => window.__previewReady === true")
    page.wait_for_timeout(150)  # the frames are scaled after their first layout
    report: dict[str, Any] = page.evaluate(REPORT)
    assert report["scroll"] <= report["width"], f"horizontal overflow: {report}"
    assert not report["wider"], f"wider than the window or than the box that holds them: {report['wider']}"
    for frame in report["frames"]:
        assert frame["whole"], f"frame cut off: {frame}"
    return report


def test_issue_page(sized: tuple[str, Any], server: str) -> None:
    from playwright.sync_api import expect

    size, page = sized
    page.goto(f"{server}/issue/2020-10")
    expect(page.frame_locator("#frame-desktop").locator("body")).to_contain_text(TITLES[0])
    report = settle(page)
    desktop, phone = report["frames"]
    assert (desktop["inner"], phone["inner"]) == (800, 375)  # scaled, never narrowed
    if size == "phone":
        assert phone["top"] >= desktop["bottom"]  # one above the other
    else:
        assert abs(phone["top"] - desktop["top"]) < 1 and phone["left"] >= desktop["right"]  # side by side
    for tab in ("text", "source", "email"):
        page.click(f"a[data-tab={tab}]")
        settle(page)
    page.click("a[data-view=desktop]")
    (only,) = settle(page)["frames"]
    assert only["id"] == "frame-desktop" and (only["right"] - only["left"] >= 780 or size == "phone")
    page.click("a[data-view=both]")
    page.fill("#sub-input", "e")  # the picker and its suggestions stay inside the window
    expect(page.locator("#sub-list [role=option]").first).to_be_visible()
    settle(page)


def test_issue_page_with_problems(sized: tuple[str, Any], server: str) -> None:
    from playwright.sync_api import expect

    _, page = sized
    page.goto(f"{server}/issue/2020-10")
    expect(page.frame_locator("#frame-desktop").locator("body")).to_contain_text(TITLES[0])
    page.wait_for_function("() => window.__previewReady === true")
    edit(ISSUE, "topics: [neuroscience, empathy]", "topics: [neuroscience, empaty, " + "x" * 300 + "]")
    expect(page.locator("#viewer")).to_have_class("viewer stale")
    settle(page)


def test_index_outbox_and_message(sized: tuple[str, Any], server: str, project: Path) -> None:
    from playwright.sync_api import expect

    _, page = sized
    fill_outbox(project, 30)
    for path in ("/", "/outbox/", "/outbox/?q=reader0&test=1", "/outbox/clear"):
        page.goto(server + path)
        settle(page)
    page.goto(f"{server}/outbox/")
    page.locator(".messages a").first.click()
    expect(page.frame_locator("#frame-message").locator("body")).to_contain_text("unsubscribe")
    (frame,) = settle(page)["frames"]
    assert frame["inner"] == 800
