"""`newsletter site build --out DIR`: the public archive as static files (the same pages and
feeds `newsletter serve` answers with), for any static host."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import examples, root_of

EXAMPLES = examples(
    "newsletter site build --out public/            # the archive and feeds of the issues sent so far",
    "newsletter site build --out /tmp/look --drafts # unsent issues too, for a local look")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="write the archive, topic pages and feeds as static files",
                       description="Write the public archive (index, issue pages, topic pages, Atom feeds, "
                                   "one stylesheet) as static files. Only issues whose dispatch has started "
                                   "are included.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--out", required=True, help="folder to write into (created if missing)")
    b.add_argument("--drafts", action="store_true", help="also include issues not sent yet (for a local look)")


def run(args: argparse.Namespace) -> int:
    from ..content.config import load_settings
    from ..store.ledger import Ledger
    from ..web.public.site import Site, build

    settings = load_settings(root_of(args))
    published: dict[str, float] = {}
    if settings.state_db.exists():
        ledger = Ledger.read_only(settings.state_db)
        try:
            published = ledger.campaign_starts()
        finally:
            ledger.close()
    site = Site(settings, drafts=args.drafts)
    out = Path(args.out)
    written = build(site, out, published)
    issues = len(site.archive.issues(published))
    if not issues:
        print("no issue is public yet (an issue becomes public when `newsletter send` starts it; "
              "--drafts shows drafts)", file=sys.stderr)
    print(f"wrote {len(written)} files ({issues} issue(s), {len(settings.taxonomy.labels)} topics, feeds) to {out}")
    print("serve them so that /archive/2020-10 finds archive/2020-10.html (see docs/deployment.md)")
    return 0
