from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .common import examples, existing_file, find_subscriber, newest_issue, parse_topics, root_of

EXAMPLES = examples(
    "newsletter render issues/2026-12.yaml --out out/     # out/2026-12.html, .txt and .eml",
    "newsletter render --topics cbt,empathy               # what a reader of those topics gets",
    "newsletter render --as ben@example.com               # what one subscriber gets")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file (default: the newest in issues/)")
    p.add_argument("--out", default="out", help="folder to write into (default: out/)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--as", dest="as_email", metavar="EMAIL",
                     help="write what this subscriber would receive")
    who.add_argument("--topics", help="write what a reader of these topics (slugs or labels, "
                                      "comma-separated) would receive")
    p.add_argument("--subscribers", type=existing_file, help="subscriber list for --as")


def run(args: argparse.Namespace) -> int:
    from ..mail.checks import failures
    from ..mail.compose import Composer, parts

    composer = Composer.load(root_of(args))
    settings = composer.settings
    path = Path(args.issue) if args.issue else newest_issue(settings.issues_dir)
    issue = composer.issue(path)
    name, email, topics = "Sample Reader", "reader@example.org", None
    if args.topics:
        topics = parse_topics(args.topics, settings.taxonomy)
        if not composer.selection_for(issue, topics):
            raise UsageError(f"--topics: a reader of {', '.join(sorted(topics)) or 'no topic'} "
                             f"gets no article of this issue (no_match is '{settings.no_match}')")
    if args.as_email:
        sub = find_subscriber(settings, args.subscribers, args.as_email, "--as")
        name, email, topics = sub.name, sub.email, sub.topics
        if not composer.selection_for(issue, topics):
            raise UsageError(f"--as: {sub.email} gets no article of this issue (their topics match none; "
                             f"no_match is '{settings.no_match}')")
    raw, rendered = composer.sample(issue, topics, name=name, email=email)
    html, text = parts(raw)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = issue.month if not (args.as_email or args.topics) else f"{issue.month}-personal"
    (out / f"{stem}.html").write_text(html, encoding="utf-8")
    (out / f"{stem}.txt").write_text(text, encoding="utf-8")
    (out / f"{stem}.eml").write_bytes(raw)
    from ..mail.checks import check_message

    for c in check_message(raw, html, text):
        print(c)
    print(f"wrote {out / stem}.html, .txt and .eml ({len(rendered.selection)} of "
          f"{len(issue.articles)} articles)")
    return 2 if failures(check_message(raw, html, text)) else 0
