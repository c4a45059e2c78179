"""preview: routes over HTTP (Starlette's TestClient) and the live page in a real headless Chromium."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import warnings
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette would rather have `httpx2`; `httpx` is what is installed
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

from newsletter.mail.compose import parts
from newsletter.web.preview.model import PreviewState
from newsletter.web.preview.watch import classify

from .conftest import (
    ISSUE,
    MARKS,
    TITLES,
    assert_not_reloaded,
    edit,
    frame_html,
    open_issue,
    pick_subscriber,
    save,
)


# -- HTTP ---------------------------------------------------------------------------------------------
def test_index_lists_issues_newest_first_with_titles_and_status(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    months = re.findall(r'<span class="month">([^<]+)</span>', r.text)
    assert months == ["April 2021", "December 2020", "October 2020"]
    assert "Group Therapy for Mood Disorders: A Meta-Analysis" in r.text
    assert r.text.count('class="status ok"') == 3


def test_index_counts_problems(client: TestClient) -> None:
    edit(ISSUE, "topics: [neuroscience, empathy]", "topics: [neuroscience, empaty]")
    edit(ISSUE, "topics: [group, efficacy, medication]", "topics: [grup]")
    r = client.get("/")
    assert "2 problems" in r.text
    assert r.text.count('class="status ok"') == 2


def test_issue_page_shows_the_message_that_is_sent(client: TestClient, composer: Any) -> None:
    r = client.get("/issue/2020-10")
    assert r.status_code == 200
    assert 'id="frame-desktop"' in r.text and 'id="frame-phone"' in r.text
    issue = composer.issue(ISSUE)
    html, text = parts(composer.sample(issue)[0])
    assert client.get("/issue/2020-10/html").text == html  # the same pipeline, byte for byte
    assert '<base target="_blank">' + html.split("<head>", 1)[1][:200] in frame_html(r.text)
    assert "Hello Sample," in text and "Hello Sample," in r.text  # greeted by first name
    assert re.search(r"^Subject: Practice Research Digest: October 2020$", r.text, re.MULTILINE)
    assert "KB of HTML as sent" in r.text and "Gmail clips at about 102 KB" in r.text
    combinations = client.get("/issue/2020-10/combinations").text
    assert combinations == "Every combination of articles (7) passes these checks."
    assert 'href="/issue/2020-10?variant=all&amp;tab=source&amp;view=both#eml-L' in r.text


def test_variant_by_topics_and_by_subscriber(client: TestClient) -> None:
    shown = frame_html(client.get("/issue/2020-10?variant=topics&topic=depression").text)
    assert MARKS[1] in shown and MARKS[0] not in shown and MARKS[2] not in shown
    eli = client.get("/issue/2020-10?variant=subscriber&sub=eli@example.org").text
    assert MARKS[0] in frame_html(eli) and MARKS[2] not in frame_html(eli)
    assert "Hello Eli," in frame_html(eli)
    assert "Eli &lt;eli@example.org&gt;" in eli
    farah = client.get("/issue/2020-10?variant=subscriber&sub=farah@example.com").text
    assert "receives nothing this month" in farah
    assert re.search(r'<button type="submit" id="send-button" disabled>', farah)
    unknown = client.get("/issue/2020-10?variant=subscriber&sub=nobody@example.com").text
    assert "not in subscribers.example.yaml" in unknown


def test_subscriber_list_problems_do_not_block_the_preview(client: TestClient) -> None:
    with open("subscribers.example.yaml", "a", encoding="utf-8") as f:
        f.write("- email: ana@@example.org\n")
    r = client.get("/issue/2020-10")
    assert "The subscriber list has 1 problem" in r.text
    assert re.search(r"subscribers\.example\.yaml:\d+:10</code> \[6\]\.email: invalid", r.text)
    assert "- email: ana@@example.org" in r.text
    assert TITLES[0] in frame_html(r.text)


def test_eml_download(client: TestClient) -> None:
    r = client.get("/issue/2020-10/eml?variant=subscriber&sub=ana.researcher@example.org")
    assert r.status_code == 200
    assert r.headers["content-type"] == "message/rfc822"
    assert r.headers["content-disposition"] == 'attachment; filename="2020-10-ana.researcher.eml"'
    msg = email.message_from_bytes(r.content, policy=email.policy.default)
    assert msg["Subject"] == "Practice Research Digest: October 2020"
    assert msg["To"] == "Ana Researcher <ana.researcher@example.org>"


def test_broken_issue_is_located_and_quoted_then_recovers(client: TestClient) -> None:
    original = Path(ISSUE).read_text(encoding="utf-8")
    edit(ISSUE, "topics: [neuroscience, empathy]", "topics: [neuroscience, empaty]")
    r = client.get("/issue/2020-10")
    assert r.status_code == 200
    assert "issues/2020-10.yaml:8:28</code> articles[0].topics[1]: unknown topic &#39;empaty&#39;" in r.text
    assert "8 │ </span>    topics: [neuroscience, empaty]" in r.text
    assert 'id="viewer" class="viewer" data-tab="email" data-view="both" data-toggle hidden' in r.text
    assert client.get("/issue/2020-10/eml").status_code == 409
    save(ISSUE, original)
    r = client.get("/issue/2020-10")
    # (what remains are the example's warnings about articles without a DOI)
    assert 'class="problem error"' not in r.text and TITLES[0] in frame_html(r.text)


def test_template_and_config_errors_are_shown_not_raised(client: TestClient) -> None:
    state: PreviewState = client.state  # type: ignore[attr-defined]
    edit("templates/issue.mjml", "{{ name }}", "{{ name }")
    state.reload()  # what the watcher does when a template changes
    r = client.get("/issue/2020-10")
    assert r.status_code == 200 and re.search(r"templates/issue\.mjml:\d+:1</code>", r.text)
    edit("templates/issue.mjml", "{{ name }", "{{ name }}")
    edit("newsletter.yaml", "no_match: skip", "no_match: sometimes")
    state.reload()
    index = client.get("/").text
    assert "newsletter.yaml:11:11</code> no_match: must be &#39;skip&#39; or &#39;full&#39;" in index
    assert "11 │ </span>no_match: sometimes" in index
    assert index.count("not checked") == 3 and 'class="status ok"' not in index
    edit("newsletter.yaml", "no_match: sometimes", "no_match: skip")
    state.reload()
    assert TITLES[0] in frame_html(client.get("/issue/2020-10").text)


def test_send_test_lands_in_the_outbox(client: TestClient, project: Path) -> None:
    r = client.post("/issue/2020-10/send-test", headers={"Accept": "application/json"},
                    data={"to": "me@example.org", "variant": "topics", "topic": "group"})
    assert r.status_code == 200 and r.json()["ok"], r.text
    assert "Sent to me@example.org via Maildir outbox" in r.json()["message"]
    new = list((project / "outbox" / "new").iterdir())
    assert len(new) == 1
    msg = email.message_from_bytes(new[0].read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "[TEST] Practice Research Digest: October 2020"
    html, _ = parts(new[0].read_bytes())
    assert MARKS[2] in html and MARKS[0] not in html
    page = client.get("/issue/2020-10").text
    key = re.search(r'<a href="/outbox/([^"]+)">\[TEST\] Practice Research Digest', page)
    assert key, "the message is not listed in the outbox panel"
    shown = client.get(f"/outbox/{key.group(1)}")
    assert shown.status_code == 200 and "[TEST] Practice Research Digest" in shown.text
    assert client.get(f"/outbox/{key.group(1)}/eml").content == new[0].read_bytes()
    assert client.get("/outbox/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_send_test_without_javascript_redirects_back(client: TestClient) -> None:
    r = client.post("/issue/2020-10/send-test", data={"to": "not an address"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/issue/2020-10?variant=all&sent=")
    page = client.get(r.headers["location"]).text
    assert "To: invalid e-mail address &#39;not an address&#39;" in page and "--to" not in page


def test_send_disabled_with_the_reason_when_no_transport(client: TestClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSLETTER_SMTP_PASSWORD", raising=False)
    with open("newsletter.yaml", "a", encoding="utf-8") as f:
        f.write("smtp:\n  host: smtp.example.org\n  port: 587\n  security: starttls\n  username: me\n")
    client.state.reload()  # type: ignore[attr-defined]
    page = client.get("/issue/2020-10").text
    assert '<button type="submit" id="send-button" disabled>' in page
    assert "no transport: smtp.username is set but the environment variable NEWSLETTER_SMTP_PASSWORD" in page


def test_requests_from_elsewhere_are_refused(client: TestClient) -> None:
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    r = client.post("/issue/2020-10/send-test", data={"to": "me@example.org"},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def test_unknown_issue_is_404(client: TestClient) -> None:
    r = client.get("/issue/1999-01")
    assert r.status_code == 404 and "issues/1999-01.yaml" in r.text


def test_assets(client: TestClient) -> None:
    assert client.get("/static/preview.css").headers["content-type"].startswith("text/css")
    js = client.get("/static/preview.js")
    assert js.headers["content-type"].startswith("text/javascript") and "EventSource" in js.text


def test_classify_changed_paths(project: Path) -> None:
    state = PreviewState(project)
    added = 1

    def kinds(*names: str) -> set[str]:
        return classify(state, {(added, str(project / n)) for n in names})

    assert kinds("issues/2020-10.yaml") == {"issue"}
    assert kinds("templates/issue.txt") == {"templates"}
    assert kinds("newsletter.yaml") == {"config"}
    assert kinds("subscribers.example.yaml") == {"subscribers"}
    assert kinds("outbox/new/123.M1P2Q3.host") == {"outbox"}
    assert kinds("issues/.2020-10.yaml.swp", "issues/2020-10.yaml~", "state/x.sqlite3", "README.md") == set()


def test_command_serves_until_interrupted(project: Path) -> None:
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "newsletter.cli", "preview", "issues/2021-04.yaml",
                             "--port", "0", "--no-browser"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/issue/2021-04", line)
        assert url, line
        with urllib.request.urlopen(url.group(0), timeout=10) as r:
            assert "April 2021" in r.read().decode()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_command_rejects_a_missing_issue(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli import main

    assert main(["preview", "issues/1999-01.yaml", "--no-browser"]) == 2
    assert capsys.readouterr().err == "issues/1999-01.yaml: no such issue file\n"


def test_port_in_use_is_a_clear_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli import main

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code = main(["preview", "--port", str(port), "--no-browser"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"127.0.0.1:{port} is already in use (another preview?); choose a free port with --port N\n"


def test_browser_index_then_issue(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    page.goto(server + "/")
    expect(page.locator(".issues .month")).to_have_text(["April 2021", "December 2020", "October 2020"])
    expect(page.locator(".issues > li").nth(2)).to_contain_text(TITLES[2])
    expect(page.locator(".issues .status.ok")).to_have_count(3)
    page.wait_for_function("() => window.__previewReady === true")
    edit(ISSUE, "topics: [neuroscience, empathy]", "topics: [neuroscience, empaty]")
    expect(page.locator(".issues > li").nth(2).locator(".status.bad")).to_have_text("1 problem")
    edit(ISSUE, "topics: [neuroscience, empaty]", "topics: [neuroscience, empathy]")
    expect(page.locator(".issues .status.ok")).to_have_count(3)
    page.click("text=October 2020")
    page.wait_for_url(f"{server}/issue/2020-10")
    for frame_id in ("#frame-desktop", "#frame-phone"):
        expect(page.frame_locator(frame_id).locator("body")).to_contain_text(TITLES[2])
    widths = page.evaluate("""() => ['frame-desktop', 'frame-phone'].map(
        id => document.getElementById(id).contentWindow.innerWidth)""")
    assert widths == [800, 375]
    expect(page.locator("#checks li.ok")).to_have_count(8)
    expect(page.locator("#combinations")).to_have_text("Every combination of articles (7) passes these checks.")


def test_browser_phone_width_and_tabs(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    open_issue(page, server)
    page.click("a[data-view=phone]")
    expect(page.locator("#frame-desktop")).to_be_hidden()
    expect(page.locator("#frame-phone")).to_be_visible()
    assert page.evaluate("() => document.getElementById('frame-phone').contentWindow.innerWidth") == 375
    assert "view=phone" in page.url
    page.click("a[data-tab=text]")
    expect(page.locator("#text-panel pre")).to_contain_text("PRACTICE IMPLICATIONS")
    expect(page.locator("#frame-phone")).to_be_hidden()
    page.click("a[data-tab=email]")
    expect(page.locator("#frame-phone")).to_be_visible()
    assert_not_reloaded(page)


def test_browser_switch_variant(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    desktop = open_issue(page, server)
    page.check("input[name=topic][value=depression]")
    expect(desktop.locator("body")).not_to_contain_text(MARKS[0])
    expect(desktop.locator("body")).to_contain_text(MARKS[1])
    expect(page.locator("#summary")).to_contain_text("a reader of Depression and Depressive Symptoms")
    assert "variant=topics" in page.url and "topic=depression" in page.url
    pick_subscriber(page, "eli", "eli@example.org")
    expect(desktop.locator("body")).to_contain_text("Hello Eli,")
    expect(desktop.locator("body")).to_contain_text(MARKS[0])
    expect(desktop.locator("body")).not_to_contain_text(MARKS[1])
    assert page.is_checked("input[name=variant][value=subscriber]")
    pick_subscriber(page, "Farah", "farah@example.com")
    expect(page.locator("#notice")).to_contain_text("receives nothing this month")
    expect(page.locator("#viewer")).to_be_hidden()
    expect(page.locator("#send-button")).to_be_disabled()
    page.check("input[name=variant][value=all]")
    expect(desktop.locator("body")).to_contain_text(MARKS[2])
    assert_not_reloaded(page)


def test_browser_live_edit_without_reload(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    desktop = open_issue(page, server)
    edit(ISSUE, TITLES[0], "Bodies in Sync")
    expect(desktop.locator("body")).to_contain_text("Bodies in Sync")
    expect(page.frame_locator("#frame-phone").locator("body")).to_contain_text("Bodies in Sync")
    expect(page.locator("#text-panel")).to_contain_text("Bodies in Sync\n==============")
    # written in place too (truncate, then write), as some editors do
    Path(ISSUE).write_text(Path(ISSUE).read_text().replace("Bodies in Sync", "Hearts in Sync"))
    expect(desktop.locator("body")).to_contain_text("Hearts in Sync")
    assert_not_reloaded(page)


def test_browser_broken_yaml_shows_located_error_then_recovers(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    desktop = open_issue(page, server)
    original = Path(ISSUE).read_text(encoding="utf-8")
    edit(ISSUE, 'title: "What are', 'title: What: are "')
    problem = page.locator("#problems .problem.error")  # (the example also has warnings)
    expect(problem).to_contain_text("issues/2020-10.yaml:28:16")
    expect(problem).to_contain_text("YAML syntax error")
    expect(problem.locator(".quote")).to_contain_text("""- title: What: are " Patients'""")
    # the last good render stays on screen, dimmed, under the error banner; nothing can be sent
    expect(page.locator("#viewer")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("#stale-note")).to_contain_text("Last good version")
    expect(desktop.locator("body")).to_contain_text(TITLES[1])
    assert float(page.evaluate("() => getComputedStyle(document.querySelector('#viewer .frames')).opacity")) < 0.6
    banner, viewer = (page.locator(sel).bounding_box() for sel in ("#error-banner", "#viewer"))
    assert banner and viewer and banner["y"] + banner["height"] <= viewer["y"]
    expect(page.locator("#send-button")).to_be_disabled()
    save(ISSUE, original.replace(TITLES[1], "Fixed and Live Again"))
    expect(page.locator("#problems .problem.error")).to_have_count(0)
    expect(page.locator("#viewer")).not_to_have_class(re.compile(r"\bstale\b"))
    expect(desktop.locator("body")).to_contain_text("Fixed and Live Again")
    expect(page.locator("#send-button")).to_be_enabled()
    assert_not_reloaded(page)


def test_browser_template_and_subscriber_changes_apply_live(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    desktop = open_issue(page, server)
    edit("templates/issue.mjml", "Practice implications", "What this means in practice")
    expect(desktop.locator("body")).to_contain_text("What this means in practice")
    edit("templates/issue.mjml", "{{ name }}", "{{ name }")
    expect(page.locator("#problems .problem.error .where")).to_contain_text("templates/issue.mjml:")
    expect(page.locator("#viewer")).to_have_class(re.compile(r"\bstale\b"))  # the last good, dimmed
    edit("templates/issue.mjml", "{{ name }", "{{ name }}")
    expect(page.locator("#viewer")).to_have_class("viewer")
    expect(desktop.locator("body")).to_contain_text("What this means in practice")
    with open("subscribers.example.yaml", "a", encoding="utf-8") as f:
        f.write("- email: gus@example.org\n  name: Gus\n  topics: [group]\n")
    page.fill("#sub-input", "gu")
    expect(page.locator("#sub-list [role=option]")).to_have_text(["Gus <gus@example.org>1 topic(s)"])
    assert_not_reloaded(page)


def test_browser_download_eml(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    open_issue(page, server)
    page.click("a[data-tab=source]")
    expect(page.locator("#source-panel .headers")).to_contain_text("List-Unsubscribe-Post:")
    with page.expect_download() as info:
        page.click("#download-eml")
    download = info.value
    assert download.suggested_filename == "2020-10.eml"
    raw = Path(download.path()).read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Practice Research Digest: October 2020"
    assert TITLES[2] in parts(raw)[0]


def test_browser_send_test_appears_in_outbox(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    open_issue(page, server)
    expect(page.locator("#send-reason")).to_contain_text("Maildir outbox")
    page.fill("#send-form input[name=to]", "author@example")  # the browser's own check lets it through
    page.click("#send-button")
    status = page.locator("#send-status")
    expect(status).to_have_text(re.compile(r"^To: .*The part after the @-sign is not valid"))  # the page's words
    expect(status).not_to_contain_text("--to")
    expect(status).to_have_class(re.compile(r"\bbad\b"))
    page.fill("#send-form input[name=to]", "author@example.org")
    page.click("#send-button")
    expect(page.locator("#send-status")).to_contain_text("Sent to author@example.org")
    item = page.locator("#outbox li").first
    expect(item).to_contain_text("[TEST] Practice Research Digest: October 2020")
    expect(item).to_contain_text("author@example.org")
    assert_not_reloaded(page)
    item.locator("a").click()
    expect(page.locator("h1")).to_have_text("[TEST] Practice Research Digest: October 2020")
    expect(page.frame_locator("#frame-message").locator("body")).to_contain_text(TITLES[0])


def test_server_survives_a_vanishing_issue(page: Any, server: str) -> None:
    from playwright.sync_api import expect

    open_issue(page, server)
    moved = Path("issues/2020-10.yaml").rename("2020-10.yaml.bak")
    expect(page.locator("main")).to_contain_text("There is no issue '2020-10'")
    moved.rename(ISSUE)
    expect(page.frame_locator("#frame-desktop").locator("body")).to_contain_text(TITLES[0])
