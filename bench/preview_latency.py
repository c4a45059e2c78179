"""Save-to-updated-page latency of `newsletter preview`, in a real headless Chromium.

Runs the real server (uvicorn, watchfiles, server-sent events) on a throw-away copy of the
project, opens an issue, then saves the issue file a number of times, each time with a new
article title. For each save, the time runs from just before the file is replaced until the
page has the new message in its desktop frame (the frame has loaded the new `srcdoc` and the
next animation frame has run). Prints every edit and the median.

With `--outbox N` the project's Maildir outbox holds N messages first (as after a `send` with no
SMTP server configured): each a real [TEST] copy's headers with its own Subject, To and key, and
a short body (the page reads only headers; 20,000 full 28 KB copies would be 560 MB of disk).
The outbox panel beside the issue is refreshed with every save, so this measures what a big
outbox costs each save.

    .venv/bin/python bench/preview_latency.py [--edits N] [--in-place] [--outbox N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ISSUE = "2020-10"
TITLE = "Physiological Synchronization in the Psychotherapy Relationship"

# Resolves with the time the marker first shows in the desktop frame after a live update.
WATCH = """(marker) => {
  window.__seen = window.__seen || {};
  const frame = document.getElementById('frame-desktop');
  const check = () => {
    if (frame.contentDocument.body.innerText.includes(marker)) {
      document.removeEventListener('preview:updated', check);
      requestAnimationFrame(() => { window.__seen[marker] = Date.now(); });
    }
  };
  document.addEventListener('preview:updated', check);
}"""


def copy_project(dest: Path) -> None:
    """The frozen example site (tests/fixtures/site) plus the project's templates."""
    shutil.copytree(REPO / "tests" / "fixtures" / "site", dest, dirs_exist_ok=True)
    shutil.copytree(REPO / "templates", dest / "templates")


def save(path: Path, text: str, in_place: bool) -> None:
    if in_place:
        path.write_text(text, encoding="utf-8")
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # as most editors save


def fill_outbox(root: Path, n: int) -> None:
    """n messages in root/outbox: a real test copy's headers, varied, with a short body."""
    import mailbox

    from newsletter.mail.compose import Composer

    composer = Composer.load(root)
    issue = composer.issue(root / "issues" / f"{ISSUE}.yaml")
    raw, _ = composer.sample(issue)
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    head = "\r\n".join(line for line in head.split("\r\n")
                        if not line.lower().startswith(("subject:", "to:", "content-", "mime-version")))
    box = mailbox.Maildir(root / "outbox", create=True)
    for i in range(n):
        subject = f"{'[TEST] ' if i % 50 == 0 else ''}{issue.subject}"
        box.add((f"Subject: {subject}\r\nTo: Reader {i} <reader{i:06d}@example.org>\r\n{head}\r\n"
                 f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                 f"Hello Reader {i},\r\n" + "A line of the issue.\r\n" * 20).encode())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edits", type=int, default=15, help="number of saves to time (default 15)")
    ap.add_argument("--in-place", action="store_true", help="truncate and rewrite instead of rename")
    ap.add_argument("--outbox", type=int, default=0, help="messages in the outbox first (default 0)")
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} is missing; cannot run the browser benchmark", file=sys.stderr)
        return 2
    os.environ.setdefault("NEWSLETTER_TOKEN_KEYS", "bench:bench-secret-key-0123456789abcdef")
    from playwright.sync_api import sync_playwright

    from newsletter.web.preview.app import PreviewServer, create_app, listen
    from newsletter.web.preview.model import PreviewState
    from newsletter.web.preview.watch import DEBOUNCE_MS, STEP_MS

    with tempfile.TemporaryDirectory(prefix="preview-bench-") as tmp:
        root = Path(tmp)
        copy_project(root)
        os.chdir(root)
        if args.outbox:
            t = time.time()
            fill_outbox(root, args.outbox)
            os.sync()  # the steady state of a big outbox, not 20,000 files still being written back
            print(f"outbox: {args.outbox:,} messages written in {time.time() - t:.0f} s")
        issue = root / "issues" / f"{ISSUE}.yaml"
        original = issue.read_text(encoding="utf-8")
        sock = listen(0)
        state = PreviewState(root)
        getattr(state, "warm", lambda: None)()  # what the server does at start-up, before the clock runs
        server = PreviewServer(create_app(state))
        thread = server.start_in_thread(sock)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/issue/{ISSUE}"
        latencies: list[float] = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1680, "height": 1000})
                page.set_default_timeout(10_000)
                page.goto(url)
                page.wait_for_function("() => window.__previewReady === true")
                for i in range(args.edits + 1):  # the first edit warms up and is not counted
                    marker = f"Edit number {i} of the benchmark"
                    page.evaluate(WATCH, marker)
                    time.sleep(0.3)  # let the previous save settle so each edit stands alone
                    start = time.time() * 1000
                    save(issue, original.replace(TITLE, marker), args.in_place)
                    page.wait_for_function("(m) => window.__seen && window.__seen[m]", arg=marker)
                    shown = page.evaluate("(m) => window.__seen[m]", marker)
                    if i:
                        latencies.append(shown - start)
                        print(f"edit {i:2d}: {shown - start:6.0f} ms")
                browser.close()
        finally:
            server.stop()
            thread.join(10)
            os.chdir(REPO)
    lat = sorted(latencies)
    print(f"\nsave-to-updated-page latency over {len(lat)} edits "
          f"({'in place' if args.in_place else 'rename'}; watcher debounce {DEBOUNCE_MS} ms, "
          f"step {STEP_MS} ms; {args.outbox:,} messages in the outbox):")
    print(f"  median {statistics.median(lat):.0f} ms · min {lat[0]:.0f} ms · max {lat[-1]:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
