"""`newsletter new [MONTH]`: start next month's issue file (never overwrites one)."""

from __future__ import annotations

import argparse

from .common import examples, root_of

EXAMPLES = examples(
    "newsletter new              # issues/<the month after the newest issue>.yaml",
    "newsletter new 2026-12      # issues/2026-12.yaml")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("month", nargs="?", metavar="MONTH",
                   help="YYYY-MM (default: the month after the newest issue in issues/)")


def run(args: argparse.Namespace) -> int:
    from ..content.config import load_settings
    from ..content.issue import read_issue
    from ..content.scaffold import next_issue_month, parse_month, write_issue
    from ..content.textfile import display_path

    settings = load_settings(root_of(args))
    month = parse_month(args.month) if args.month else next_issue_month(settings.issues_dir)
    path = write_issue(settings, month)
    _, reader = read_issue(path, settings)
    shown = display_path(path)
    print(f"wrote {shown}: {len(reader.errors)} values to fill in (`newsletter check {shown}` lists "
          f"them); watch it as you write with `newsletter preview {shown}`")
    return 0
