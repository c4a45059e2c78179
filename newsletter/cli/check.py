from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import CheckFailed, InputError, NewsletterError, Problem
from .common import default_subscribers, examples, existing_file, root_of

EXAMPLES = examples(
    "newsletter check                              # every issue and the subscriber list",
    "newsletter check issues/2026-12.yaml --no-subscribers",
    "newsletter check --subscribers subscribers.yaml")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issues", nargs="*", help="issue files (default: every file in issues/)")
    p.add_argument("--subscribers", type=existing_file, help="subscriber list to validate too (default: subscribers.yaml "
                                         "or subscribers.example.yaml)")
    p.add_argument("--no-subscribers", action="store_true", help="skip the subscriber list")


def run(args: argparse.Namespace) -> int:
    from ..content.issue import read_issue
    from ..content.subscribers import read_subscribers
    from ..mail.compose import Composer

    composer = Composer.load(root_of(args))
    settings = composer.settings
    paths = [Path(p) for p in args.issues] or sorted(settings.issues_dir.glob("*.yaml"))
    problems: list[Problem] = []
    failed_checks: list[str] = []
    for path in paths:
        issue, reader = read_issue(path, settings)
        problems += sorted(reader.problems, key=lambda p: (p.line, p.col))  # in file order
        if issue is None:
            continue
        results = composer.check_all_variants(issue)
        bad = [(sel, c) for sel, checks in results.items() for c in checks if not c.ok]
        for sel, c in bad:
            failed_checks.append(f"{reader.path}: variant {list(sel)}: {c}")
        if not bad and not reader.errors:
            n = len(issue.articles)
            print(f"{reader.path}: ok ({n} articles, {len(results)} variants rendered and checked)")
    if not args.no_subscribers:
        sub_path = Path(args.subscribers) if args.subscribers else default_subscribers(settings.root)
        subs, reader = read_subscribers(sub_path, settings)
        problems += sorted(reader.problems, key=lambda p: (p.line, p.col))
        if not reader.errors:
            print(f"{reader.path}: ok ({len(subs)} subscribers)")
    for p in problems:
        print(str(p), file=sys.stderr)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise _Quiet(len(errors))
    if failed_checks:
        raise CheckFailed("\n".join(failed_checks))
    return 0


class _Quiet(NewsletterError):
    """Problems were already printed (warnings interleaved, in file order); only the count."""

    exit_code = InputError.exit_code

    def __init__(self, n: int) -> None:
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found; nothing was sent")
