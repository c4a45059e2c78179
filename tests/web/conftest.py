"""Shared by the preview's tests: the example's facts, saving files as editors do, the real
preview server on a free port and a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette would rather have `httpx2`; `httpx` is what is installed
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

from newsletter.web.preview.app import PreviewServer, create_app, listen
from newsletter.web.preview.model import PreviewState

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ISSUE = "issues/2020-10.yaml"
TITLES = ["Physiological Synchronization in the Psychotherapy Relationship",
          "What are Patients' Experiences of Psychological Therapy?",
          "Group Therapy for Mood Disorders: A Meta-Analysis"]
MARKS = ["Kleinbub and colleagues", "McPherson, Wicks and Tercelli", "Janis and colleagues"]  # one per article
WAIT_MS = 5000


def save(path: Path | str, text: str) -> None:
    """Save as editors do: write a temporary file beside it, then rename it over the old one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def edit(path: Path | str, old: str, new: str) -> None:
    text = Path(path).read_text(encoding="utf-8")
    assert old in text, old
    save(path, text.replace(old, new, 1))


@pytest.fixture
def client(project: Path) -> Iterator[TestClient]:
    state = PreviewState(project)
    app = create_app(state, watch_files=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        c.state = state  # type: ignore[attr-defined]
        yield c


def frame_html(page_html: str) -> str:
    import html

    m = re.search(r'<iframe id="frame-desktop"[^>]*srcdoc="([^"]*)"', page_html)
    assert m, "no desktop frame"
    return html.unescape(m.group(1))


# -- a real browser -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package for the browser tests)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def server(project: Path) -> Iterator[str]:
    """The real server (uvicorn, file watcher, event stream) on a free port, in a thread."""
    sock = listen(0)
    srv = PreviewServer(create_app(PreviewState(project)))
    thread = srv.start_in_thread(sock)
    assert srv.started, "the preview server did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    srv.stop()
    thread.join(10)
    assert not thread.is_alive(), "the preview server did not stop"


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1680, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(WAIT_MS)
    yield pg
    context.close()
    assert not errors, errors


def open_issue(page: Any, server: str, query: str = "") -> Any:
    from playwright.sync_api import expect

    page.goto(f"{server}/issue/2020-10{query}")
    desktop = page.frame_locator("#frame-desktop")
    expect(desktop.locator("body")).to_contain_text(TITLES[0] if not query else "Hello")
    page.wait_for_function("() => window.__previewReady === true")
    page.evaluate("() => { window.__sameDocument = 'yes'; }")  # gone if the page ever reloads
    return desktop


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("() => window.__sameDocument") == "yes"


def pick_subscriber(page: Any, typed: str, email: str) -> None:
    """Choose a subscriber in the "as subscriber" search box, as the author does: type, click."""
    page.fill("#sub-input", typed)
    page.locator(f"#sub-list [role=option][data-email='{email}']").click()
