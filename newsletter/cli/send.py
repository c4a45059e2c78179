from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Interrupted, UsageError
from .common import (
    default_subscribers,
    examples,
    existing_file,
    newest_issue,
    print_warnings,
    root_of,
    whole_number,
)

EXAMPLES = examples(
    "newsletter send --dry-run                   # the newest issue: who would get what; nothing sent",
    "newsletter send --dry-run --verbose         # … and every reader skipped, with the reason",
    "newsletter send issues/2026-12.yaml         # dispatch (resumable: just run it again)",
    "newsletter send --subscribers subscribers.yaml --connections 8")

if TYPE_CHECKING:
    from ..content.config import Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file (default: the unfinished campaign if there is one, "
                                            "with its list; else the newest in issues/)")
    p.add_argument("--subscribers", type=existing_file, help="subscriber list (default: subscribers.yaml, else "
                                         "subscribers.example.yaml)")
    p.add_argument("--dry-run", action="store_true", help="check and plan only: no connection, no writes")
    p.add_argument("--force", action="store_true",
                   help="resume even though the issue, templates or configuration changed")
    p.add_argument("--resend-unknown", action="store_true",
                   help="also re-send messages whose outcome is unknown (same Message-ID)")
    p.add_argument("--connections", type=whole_number(1, 64),
                   help="parallel SMTP connections, 1 to 64 (default from config: 4)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--verbose", action="store_true", help="with --dry-run: list every reader skipped and why")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C / SIGTERM while loading (sending.send handles its own)
        raise Interrupted("interrupted before sending began; nothing was sent") from None


def _run(args: argparse.Namespace) -> int:
    from ..content.textfile import display_path
    from ..delivery.plan import describe_skips, skip_kind
    from ..delivery.sending import SendOptions, dry_run, resume_command, send
    from ..delivery.transports import describe
    from ..mail.compose import Composer
    from .progress import Progress

    composer = Composer.load(root_of(args))
    settings = composer.settings
    issue_path, subs = _what_to_send(args, settings)
    if args.dry_run:
        plan = dry_run(composer, issue_path, subs)
        for w in plan.warnings:
            print(w, file=sys.stderr)
        sending = [e for e in plan.entries if not e.skip_reason]
        variants = Counter(e.selection for e in sending)
        print(f"dry run: {plan.issue.subject!r} would go to {len(sending)} of {len(plan.entries)} "
              f"subscribers via {describe(settings)}")
        for sel, n in sorted(variants.items()):
            titles = "; ".join(plan.issue.articles[i].title for i in sel)
            print(f"  {n:6d} × articles {[i + 1 for i in sel]}: {titles[:100]}")
        skipped = [e for e in plan.entries if e.skip_reason]
        if skipped:
            reasons = Counter(skip_kind(e.skip_reason) for e in skipped)
            print(f"  {len(skipped):6d} skipped: {describe_skips(reasons, settings.no_match)}")
        if args.verbose:
            for e in skipped:
                print(f"  skipped {e.email}: {e.skip_reason}")
        elif skipped:
            print("  (--verbose lists the readers skipped)")
        print("nothing was sent or written")
        return 0
    print(f"sending {display_path(issue_path)} to {display_path(subs)} via {describe(settings)}", file=sys.stderr)
    opts = SendOptions(force=args.force, resend_unknown=args.resend_unknown,
                       connections=args.connections)
    try:
        summary, counts = send(composer, issue_path, subs, opts, progress=Progress(quiet=args.quiet))
    except Exception as exc:
        s = getattr(exc, "summary", None)
        if s is not None:
            print(s.line(), file=sys.stderr)
        raise
    attempted = summary.sent + summary.deferred + summary.failed + summary.unknown
    if not attempted and counts["sent"]:
        print(f"nothing left to send: this issue already went to {counts['sent']} recipient(s) "
              f"({counts['failed']} failed, {counts['unknown']} unknown, {counts['skipped']} skipped)")
    else:
        print(summary.line())
        if summary.skip_reasons:
            print(f"skipped {summary.skipped}: {describe_skips(summary.skip_reasons, settings.no_match)}")
    for line in summary.replies:
        print(line)
    left = counts["deferred"] + counts["pending"]
    if left:
        print(f"{left} recipient(s) still to do (deferred: retried after their backoff); "
              f"resume with: {resume_command(settings, issue_path, subs)}")
    if counts["unknown"]:
        print(f"{counts['unknown']} recipient(s) with unknown outcome: see `newsletter status`; "
              "re-send them only with --resend-unknown")
    if settings.smtp is None:
        print(f"messages are in the local Maildir outbox {settings.outbox} (no SMTP server configured)")
    return 3 if left else 0


def _what_to_send(args: argparse.Namespace, settings: Settings) -> tuple[Path, Path]:
    """The issue and list named, else (a bare `newsletter send`) the one unfinished campaign
    with the list it was sent to, else the newest issue and the default list."""
    from ..content.textfile import display_path
    from ..delivery.sending import resume_command, unfinished

    if args.issue or args.subscribers:
        issue = Path(args.issue) if args.issue else newest_issue(settings.issues_dir)
        subs = Path(args.subscribers) if args.subscribers else default_subscribers(settings.root)
        return issue, subs
    open_campaigns = unfinished(settings)
    if len(open_campaigns) > 1:
        raise UsageError("several campaigns are unfinished; name the one to resume:\n" + "\n".join(
            f"  {resume_command(settings, c.issue_path, c.subscribers or default_subscribers(settings.root))}"
            for c in open_campaigns))
    if not open_campaigns:
        return newest_issue(settings.issues_dir), default_subscribers(settings.root)
    c = open_campaigns[0]
    subs = c.subscribers or default_subscribers(settings.root)
    print(f"resuming the unfinished campaign of issue {c.issue} ({display_path(c.issue_path)} to "
          f"{display_path(subs)}); name an issue to send another", file=sys.stderr)
    return c.issue_path, subs


__all__ = ["add_arguments", "print_warnings", "run"]
