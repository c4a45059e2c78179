from __future__ import annotations

import argparse
from pathlib import Path

from .common import find_subscriber, newest_issue, parse_topics, root_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file (default: the newest in issues/)")
    p.add_argument("--to", required=True, help="address to send the test copy to")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--as", dest="as_email", metavar="SUBSCRIBER", help="send what this subscriber gets")
    who.add_argument("--topics", help="send what a reader of these topics gets (comma-separated)")
    p.add_argument("--subscribers", help="subscriber list for --as")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..delivery.sendtest import send_test
    from ..delivery.transports import describe
    from ..mail.compose import Composer

    composer = Composer.load(root_of(args))
    settings = composer.settings
    issue = composer.issue(Path(args.issue) if args.issue else newest_issue(settings.issues_dir))
    topics = parse_topics(args.topics, settings.taxonomy) if args.topics else None
    subscriber = None
    if args.as_email:
        subscriber = find_subscriber(settings, args.subscribers, args.as_email, "--as")
    reply = asyncio.run(send_test(composer, issue, args.to, topics=topics, subscriber=subscriber))
    print(f"test message sent to {args.to} via {describe(settings)}: {reply.code} {reply.text}")
    return 0
