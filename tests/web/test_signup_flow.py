"""End to end with real parts: a real uvicorn server, Debian's Chromium (Playwright), the real
Maildir outbox and the real `newsletter send --dry-run`; and the 1,000-request burst of
bench/signup_load.py against a `newsletter serve` process."""

from __future__ import annotations

import json
import mailbox
import re
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from newsletter.content.config import Settings
from newsletter.mail.compose import Composer, parts
from newsletter.web.public.app import create_app
from tests.web.test_public import CHROMIUM_ARGS, uvicorn_server
from tests.web.test_site import publish

REPO = Path(__file__).resolve().parent.parent.parent
ORIGIN = "https://news.example.org"
READER = "browser.reader@example.org"


def dry_run_count(project: Path) -> int:
    r = subprocess.run([sys.executable, "-m", "newsletter.cli", "send", "issues/2020-10.yaml", "--dry-run",
                        "--subscribers", "subscribers.example.yaml"], cwd=project, capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    m = re.search(r"would go to (\d+) of (\d+) subscribers", r.stdout)
    assert m, r.stdout
    return int(m.group(1))


def confirmation_link(project: Path, to: str) -> str:
    found = []
    for msg in mailbox.Maildir(project / "outbox", create=False):
        m = message_from_bytes(msg.as_bytes(), policy=policy.default)
        if m["To"].addresses[0].addr_spec == to:
            found += re.findall(r'href="(https://[^"]+/confirm/[^"]+)"', parts(msg.as_bytes())[0])
    assert len(set(found)) == 1, found
    return found[0]


def test_browser_subscribe_confirm_then_send_counts_the_reader(project: Path, settings: Settings,
                                                               composer: Composer) -> None:
    pw = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no system Chromium")
    publish(settings, "2020-10")
    before = dry_run_count(project)
    app = create_app(settings, project / "subscribers.example.yaml", composer=composer)
    requests: list[str] = []
    problems: list[str] = []
    with uvicorn_server(app) as base, pw.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=False)
            page = context.new_page()
            page.on("request", lambda req: requests.append(req.url))
            page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type in ("error", "warning")
                    else None)
            page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))

            def no_overflow() -> None:
                width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert width[0] <= width[1], (page.url, width)

            page.goto(f"{base}/subscribe")
            no_overflow()
            page.get_by_label("E-mail address").fill(READER)
            page.get_by_label("Name").fill("Browser Reader")
            assert page.get_by_label("Empathy").is_checked()
            assert not page.locator("#website").is_visible() or page.locator("#website").bounding_box()["x"] < 0  # type: ignore[index]
            with page.expect_navigation():
                page.get_by_role("button", name="Subscribe").click()
            assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"
            assert dry_run_count(project) == before  # not before confirming

            link = confirmation_link(project, READER)
            page.goto(link.replace(ORIGIN, base))
            with page.expect_navigation():
                page.get_by_role("button", name="Confirm my subscription").click()
            assert page.get_by_role("heading", level=1).inner_text() == "You are subscribed"

            for path in ("/archive/", "/archive/2020-10", "/topics/empathy", "/feed.atom",
                         "/topics/empathy/feed.atom"):
                response = page.goto(f"{base}{path}")
                assert response is not None and response.status == 200, path
                no_overflow()
            page.goto(f"{base}/archive/2020-10")
            anchor = page.locator("nav.toc a").first.get_attribute("href")
            assert anchor and page.locator(anchor).count() == 1
            assert context.cookies() == []
        finally:
            browser.close()
    assert not problems, problems
    assert all(u.startswith((base, "data:")) for u in requests), "a request left the server"
    assert dry_run_count(project) == before + 1


def test_a_thousand_concurrent_signups(tmp_path: Path) -> None:
    """1,000 POST /subscribe for distinct addresses and 50 for one, at once, at a `newsletter serve`
    process: one confirmation each, none lost, none doubled, one for the repeated address."""
    r = subprocess.run([sys.executable, str(REPO / "bench" / "signup_load.py"), "--n", "1000", "--same", "50",
                        "--workdir", str(tmp_path / "bench"), "--json"],
                       check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["ok"] == 1050 and result["errors"] == 0
    assert result["messages"] == 1001 and result["lost"] == 0 and result["duplicates"] == 0
    assert result["same_messages"] == 1 and result["requests_recorded"] == 1001
