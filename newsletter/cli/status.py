"""`newsletter status [ISSUE] [--json]`: one campaign's story, or every campaign on one line."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .common import examples, root_of

if TYPE_CHECKING:
    from ..store.reports import CampaignReport

EXAMPLES = examples(
    "newsletter status                       # every campaign, one line each",
    "newsletter status issues/2026-12.yaml   # that campaign: counts, bounces, failed recipients",
    "newsletter status 2026-12 --json        # the same for scripts")
SHOWN = 50  # recipients listed in the text output (--json lists all)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file or month (default: every campaign, one line each)")
    p.add_argument("--json", action="store_true", help="machine-readable output (JSON)")


def run(args: argparse.Namespace) -> int:
    from ..content.config import load_settings
    from ..store.ledger import Ledger

    settings = load_settings(root_of(args))
    if not settings.state_db.exists():
        if args.issue is None:
            print("[]" if args.json else "nothing has been sent yet")
            return 0
        raise UsageError(f"nothing has been sent yet (no state database at {settings.state_db})")
    ledger = Ledger.read_only(settings.state_db)
    try:
        if args.issue is None:
            reports = ledger.campaign_reports()
            if args.json:
                print(json.dumps([r.as_json() for r in reports], indent=2, ensure_ascii=False))
            else:
                print("\n".join(one_line(r) for r in reports) or "nothing has been sent yet")
            return 0
        month = Path(args.issue).stem
        report = ledger.campaign_report(month)
    finally:
        ledger.close()
    if report is None:
        raise UsageError(f"issue {month} has not been sent yet (`newsletter status` lists the "
                              "campaigns)")
    print(json.dumps(report.as_json(), indent=2, ensure_ascii=False) if args.json else story(report))
    return 0


def when(t: float | None) -> str:
    """A Unix time as local time with its UTC offset (`2026-12-01 09:14 +0100`), '-' for None."""
    return "-" if t is None else datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M %z")


def one_line(r: CampaignReport) -> str:
    """`2026-12  finished 2026-12-01 09:14 +0100  sent 4, skipped 2  "Subject"`."""
    from ..store.reports import STATE_GROUP

    counts = ", ".join(f"{row.key} {row.value}" for row in r.rows if row.group == STATE_GROUP and row.value)
    progress = f"finished {when(r.finished)}" if r.finished else f"started {when(r.started)}, not finished"
    subject = f'  "{r.subject}"' if r.subject else ""
    return f"{r.issue}  {progress}  {counts or 'no recipients'}{subject}"


def story(r: CampaignReport) -> str:
    """The whole report: subject, list, times, each figure, then the recipients with problems."""
    from ..store.reports import SINCE_GROUP, STATE_GROUP

    lines = [f"issue {r.issue}: {r.subject or '(subject not recorded)'}",
             f"  list      {r.list_file or '(not recorded)'}",
             f"  started   {when(r.started)} (Date: {r.date_header})",
             f"  finished  {when(r.finished) if r.finished else 'not yet: run `newsletter send` again'}",
             "  recipients by state:"]
    width = max(len(row.label) for row in r.rows)
    lines += [f"    {row.label:<{width}}  {row.value}" for row in r.rows if row.group == STATE_GROUP and row.value]
    lines.append("  since the send:")
    lines += [f"    {row.label:<{width}}  {row.value}" for row in r.rows if row.group == SINCE_GROUP]
    if r.problems:
        lines.append("  recipients to look at:")
        for d in r.problems[:SHOWN]:
            reply = f"{d.code or ''} {d.reply or ''}".strip() or "no reply recorded"
            lines.append(f"    {d.state:8s} {d.email}: {reply} (attempts {d.attempts})")
        if len(r.problems) > SHOWN:
            lines.append(f"    … and {len(r.problems) - SHOWN} more (--json lists them all)")
    return "\n".join(lines)
