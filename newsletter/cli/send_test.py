"""`newsletter send-test`: one [TEST] copy to any address (not recorded as a delivery)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .common import examples, existing_file, find_subscriber, newest_issue, parse_topics, root_of

EXAMPLES = examples(
    "newsletter send-test --to me@example.org                        # the newest issue, everything",
    "newsletter send-test issues/2026-12.yaml --to me@example.org --as eli@example.org",
    "newsletter send-test --to me@example.org --topics cbt,empathy   # what a reader of those gets",
    "newsletter send-test --to me@example.org --as eli@example.org --full   # even if Eli gets nothing")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file (default: the newest in issues/)")
    p.add_argument("--to", required=True, help="address to send the test copy to")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--as", dest="as_email", metavar="SUBSCRIBER", help="send what this subscriber gets")
    who.add_argument("--topics", help="send what a reader of these topics gets (comma-separated)")
    p.add_argument("--full", action="store_true",
                   help="send the whole issue even when that reader gets nothing this month")
    p.add_argument("--subscribers", type=existing_file, help="subscriber list for --as")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..delivery.sendtest import BadTestRequest, send_test
    from ..delivery.transports import describe
    from ..mail.compose import Composer

    composer = Composer.load(root_of(args))
    settings = composer.settings
    issue = composer.issue(Path(args.issue) if args.issue else newest_issue(settings.issues_dir))
    topics = parse_topics(args.topics, settings.taxonomy) if args.topics else None
    subscriber = None
    if args.as_email:
        subscriber = find_subscriber(settings, args.subscribers, args.as_email, "--as")
    try:
        reply = asyncio.run(send_test(composer, issue, args.to, topics=topics, subscriber=subscriber,
                                      full=args.full))
    except BadTestRequest as exc:
        if exc.field == "reader":  # send_test's words for its inputs, as this command names them
            flag = "--as" if args.as_email else "--topics"
            raise UsageError(f"{flag}: {exc.problem}; --full sends the whole issue anyway") from None
        raise UsageError(f"--{exc.field}: {exc.problem}") from None
    print(f"test message sent to {args.to} via {describe(settings)}: {reply.code} {reply.text}")
    return 0
