"""Thin command line: parse arguments, call one function, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
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


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a command as Ctrl-C does: cleanly, exit 130


def main(argv: Sequence[str] | None = None) -> int:
    """The `newsletter` command (`argv` None: the process's own arguments). Returns the exit
    code of README's table."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # first of all, so that a SIGTERM at any moment (loading, pre-flight) is a clean stop
        # and never kills the process halfway; `send` turns both signals into a graceful stop
        # while messages are in flight
        with contextlib.suppress(ValueError):  # not the main thread (main() called from a thread)
            signal.signal(signal.SIGTERM, _terminate)
        return _run(argv)
    except NewsletterError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        with contextlib.suppress(ValueError):
            for sig, handler in before.items():
                # the process's own command is over: a late signal must not turn its exit into
                # a kill; a caller in-process gets its handlers back
                signal.signal(sig, signal.SIG_IGN if argv is None else handler or signal.SIG_DFL)
        if argv is None:
            # A KeyboardInterrupt (Ctrl-C, SIGTERM) that struck code run from a string (e.g. the
            # methods dataclasses generate while a module loads) leaves CPython's "unhandled
            # KeyboardInterrupt" flag set although it was handled here, and under `python -m`
            # the process then dies by SIGINT instead of exiting 130. Every string evaluation
            # resets that flag first; this one ends cleanly.
            exec("None", {})  # noqa: S102


def _run(argv: Sequence[str] | None) -> int:
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
    code: int = modules[args.command].run(args)
    return code
