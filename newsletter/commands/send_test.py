from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from . import default_subscribers, newest_issue, parse_topics, print_warnings, root_of
from ..errors import NewsletterError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file (default: the newest in issues/)")
    p.add_argument("--to", required=True, help="address to send the test copy to")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--as", dest="as_email", metavar="SUBSCRIBER", help="send what this subscriber gets")
    who.add_argument("--topics", help="send what a reader of these topics gets (comma-separated)")
    p.add_argument("--subscribers", help="subscriber list for --as")


def run(args: argparse.Namespace) -> int:
    from ..addresses import AddressError, normalize_address
    from ..compose import Composer
    from ..sendtest import send_test
    from ..subscribers import load_subscribers
    from ..transports import describe

    composer = Composer.load(root_of(args))
    settings = composer.settings
    issue = composer.issue(Path(args.issue) if args.issue else newest_issue(settings.issues_dir))
    topics = parse_topics(args.topics, settings.taxonomy) if args.topics else None
    subscriber = None
    if args.as_email:
        subs, reader = load_subscribers(args.subscribers or default_subscribers(settings.root), settings)
        print_warnings(reader.problems)
        try:
            addr = normalize_address(args.as_email.strip())[0]
        except AddressError as exc:
            raise NewsletterError(f"--as: {exc}") from None
        local, _, domain = addr.rpartition("@")
        key = f"{local.casefold()}@{domain.lower()}"
        found = [s for s in subs if s.key == key]
        if not found:
            raise NewsletterError(f"--as: {args.as_email} is not in {reader.path}")
        subscriber = found[0]
    reply = asyncio.run(send_test(composer, issue, args.to, topics=topics, subscriber=subscriber))
    print(f"test message sent to {args.to} via {describe(settings)}: {reply.code} {reply.text}")
    return 0
