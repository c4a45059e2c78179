"""Thin command line: parse arguments, call one function, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import NewsletterError

COMMANDS = {
    "new": "start the next issue file: every key, an example article, the topics",
    "check": "validate issues and the subscriber list, render every variant and check it",
    "cite": "print the APA 7 reference of a DOI (from references/, or looked up and cached)",
    "render": "write the finished HTML, text and .eml of an issue (or one reader's copy)",
    "send-test": "send one [TEST] copy to any address (not recorded as a delivery)",
    "send": "dispatch an issue to the subscriber list (resumable)",
    "status": "show the delivery state of an issue",
    "bounces": "read the bounce mailbox: suppress hard bounces and complaints, count soft bounces",
    "preview": "live preview in the browser while writing",
    "serve": "the public pages: unsubscribe, preferences, archive, feeds, signup",
    "site": "the public archive as static files (site build --out DIR)",
    "subscribers": "subscriber list tools (export the merged list)",
}


EXAMPLES = """\
the author's loop:
  newsletter new                          # start next month's issue file
  newsletter preview issues/2026-12.yaml  # watch it in the browser while writing
  newsletter check                        # every issue and the subscriber list
  newsletter send-test --to me@example.org
  newsletter send                         # the newest issue to the list (resumable)
  newsletter status                       # every campaign, one line each

`newsletter COMMAND --help` shows each command's options and examples."""


def main(argv: Sequence[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="newsletter", description="Compose, preview and send a "
                                     "monthly research-digest newsletter.", epilog=EXAMPLES,
                                     formatter_class=raw)
    parser.add_argument("--root", help="project folder (default: nearest folder with newsletter.yaml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {}
    for name, help_text in COMMANDS.items():
        mod = importlib.import_module(f"newsletter.cli.{name.replace('-', '_')}")
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=mod.EXAMPLES,
                           formatter_class=raw)
        mod.add_arguments(p)
        modules[name] = mod
    args = parser.parse_args(argv)
    try:
        code: int = modules[args.command].run(args)
        return code
    except NewsletterError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
