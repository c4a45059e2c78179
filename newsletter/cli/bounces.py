"""`newsletter bounces`: read the bounce mailbox once; suppress hard bounces and complaints, count
soft bounces. Running it again changes nothing (each message is recorded by its Message-ID)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from .common import examples, root_of

EXAMPLES = examples(
    "newsletter bounces                                  # the mailbox of bounces.mailbox in newsletter.yaml",
    "newsletter bounces --dry-run                        # what would be suppressed; nothing changes",
    "newsletter bounces imaps://mail.example.org/INBOX --move-to Processed",
    "newsletter bounces ~/Maildir/bounces --delete")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", help="imaps://host[:port]/FOLDER, pop3s://host[:port] or a Maildir/mbox "
                   "path (default: bounces.mailbox in newsletter.yaml); the user name and password come from "
                   "NEWSLETTER_BOUNCES_USER and NEWSLETTER_BOUNCES_PASSWORD")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--delete", action="store_true", help="delete processed bounces and reports from the mailbox "
                      "(default: mark them read)")
    what.add_argument("--move-to", metavar="FOLDER", help="move processed bounces and reports to this IMAP folder")
    p.add_argument("--dry-run", action="store_true", help="show what would happen; change nothing anywhere")


def run(args: argparse.Namespace) -> int:
    from ..delivery.bounces import Outcome, ReadOptions, read_bounces
    from ..mail.compose import Composer

    composer = Composer.load(root_of(args))
    action = "delete" if args.delete else "move" if args.move_to else "mark"
    result = read_bounces(composer.settings, composer.keys,
                          ReadOptions(args.source, action, args.move_to, args.dry_run))
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    counts: Counter[Outcome] = Counter()
    prefix = "would be " if args.dry_run else ""
    for s in result.settled:
        counts[s.outcome] += 1
        if s.target is None or s.finding is None:
            continue
        issue = f" ({s.target.issue})" if s.target.issue else ""
        what = f"{s.finding.status} {s.finding.detail}".strip()[:100]
        note = f"; {s.note}" if s.note else ""
        print(f"  {s.kind} {s.target.email}{issue}: {what} → {prefix}{s.outcome}{note} [by {s.target.how}]")
    summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items(), key=lambda kv: list(Outcome).index(kv[0])))
    print(f"{result.description}: {len(result.settled)} message(s): {summary or 'nothing new'}"
          + (f"; {len(result.warnings)} skipped with a warning" if result.warnings else "")
          + (" (dry run: nothing changed)" if args.dry_run else ""))
    return 0
