"""`newsletter preview [ISSUE] [--port N] [--no-browser]`: the live preview in the browser."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .common import examples, existing_file, root_of, whole_number

EXAMPLES = examples(
    "newsletter preview                         # the index of all issues, at http://127.0.0.1:8000",
    "newsletter preview issues/2026-12.yaml     # open one issue",
    "newsletter preview --port 0 --no-browser   # any free port; print the address")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file to open (default: the index of all issues)")
    p.add_argument("--port", type=whole_number(0, 65535, "a port number"), default=8000, help="port on 127.0.0.1 (default: 8000; 0 picks a "
                                                          "free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.add_argument("--subscribers", type=existing_file, help="subscriber list for “as subscriber” (default: subscribers.yaml "
                                         "or subscribers.example.yaml)")


def run(args: argparse.Namespace) -> int:
    from ..content.config import CONFIG_NAME, find_root
    from ..web.preview.app import serve
    from ..web.preview.model import PreviewState

    root = find_root(root_of(args))
    if not (root / CONFIG_NAME).is_file():
        raise UsageError(f"{root}: no {CONFIG_NAME} here or in a parent folder (use --root)")
    extra, path = None, "/"
    if args.issue:
        issue = Path(args.issue)
        if not issue.is_file():
            raise UsageError(f"{args.issue}: no such issue file")
        if issue.resolve().parent != (root / "issues").resolve():
            extra = issue
        path = f"/issue/{issue.stem}"
    subscribers = Path(args.subscribers) if args.subscribers else None
    state = PreviewState(root, subscribers=subscribers, extra_issue=extra)
    serve(state, port=args.port, open_browser=not args.no_browser, path=path)
    return 0
