from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .common import newest_issue, root_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issue", nargs="?", help="issue file or month (default: the newest in issues/)")


def run(args: argparse.Namespace) -> int:
    from ..content.config import load_settings
    from ..store.ledger import Ledger

    settings = load_settings(root_of(args))
    month = args.issue or newest_issue(settings.issues_dir).stem
    month = Path(month).stem
    if not settings.state_db.exists():
        raise UsageError(f"nothing has been sent yet (no state database at {settings.state_db})")
    ledger = Ledger.read_only(settings.state_db)
    try:
        campaign = ledger.campaign(month)
        if campaign is None:
            raise UsageError(f"issue {month} has not been sent yet")
        counts = ledger.counts(month)
        print(f"issue {month} (Date: {campaign[1]})")
        for state, n in counts.items():
            if n:
                print(f"  {state:9s} {n}")
        fb = ledger.feedback_counts(month)
        if any(fb.values()):  # from `newsletter bounces` and the relay webhooks (distinct readers)
            print(f"  bounced    {fb['hard']} hard (suppressed), {fb['soft']} soft")
            print(f"  complained {fb['complaint']} (unsubscribed)")
        for d in ledger.rows(month, ["failed", "unknown", "deferred"]):
            reply = f"{d.code or ''} {d.reply or ''}".strip()
            print(f"  {d.state:9s} {d.email}: {reply} (attempts {d.attempts})")
    finally:
        ledger.close()
    return 0
