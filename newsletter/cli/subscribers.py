"""`newsletter subscribers export`: the subscriber file with the changes readers made on the
web pages applied, so the author can keep their file in step.

Readers who confirmed a signup on the web are included, with their consent record (when they
asked and confirmed, the source, the topics) as comments. Topics changed on the web replace the file's topics. Unsubscribed (and otherwise
suppressed) addresses are left out of the list and named in comments at the end: they stay
suppressed in the state database either way, so re-adding them to the file sends nothing.
People in the state database who are no longer in the file are not exported.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .common import default_subscribers, examples, existing_file, print_warnings, root_of

EXAMPLES = examples(
    "newsletter subscribers export --out subscribers.yaml   # the list with web changes merged in")

if TYPE_CHECKING:
    from ..content.config import Settings
    from ..content.subscribers import Subscriber
    from ..store.ledger import ConsentRecord


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = sub.add_parser("export", help="write the list with web-page changes applied (YAML)",
                       description="Write the subscriber list with the unsubscribes and topic "
                                   "changes made on the web pages applied.", epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--subscribers", type=existing_file, help="subscriber list (default: subscribers.yaml, else "
                                         "subscribers.example.yaml)")
    e.add_argument("--out", default="-", help="file to write, or - for standard output (default)")


def run(args: argparse.Namespace) -> int:
    from ..content.config import load_settings
    from ..content.subscribers import load_subscribers

    settings = load_settings(root_of(args))
    path = Path(args.subscribers) if args.subscribers else default_subscribers(settings.root)
    subs, reader = load_subscribers(path, settings)
    print_warnings(reader.problems)
    text, stats = export_yaml(settings, subs, source=path)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        _write_atomic(Path(args.out), text)
    print(f"exported {stats['kept']} subscriber(s) ({stats['web']} signed up on the web, {stats['changed']} "
          f"with topics changed on the web; {stats['left']} unsubscribed or suppressed, listed as comments)"
          + ("" if args.out == "-" else f" to {args.out}"), file=sys.stderr)
    return 0


def export_yaml(settings: Settings, subs: list[Subscriber], *,
                source: Path) -> tuple[str, dict[str, int]]:
    """The list as YAML text: the file's subscribers and the readers who confirmed a signup on
    the web, each with the topics that `send` uses, the consent record of web signups as
    comments, suppressed addresses as comments at the end; and counts for the summary."""
    import yaml

    from ..delivery.plan import web_only
    from ..store.ledger import Ledger

    prefs: dict[str, frozenset[str] | None] = {}
    suppressed: dict[str, tuple[str, str, float, str]] = {}
    sids: dict[str, str] = {}
    consents: dict[str, list[ConsentRecord]] = {}
    web: list[Subscriber] = []
    if settings.state_db.exists():
        ledger = Ledger.read_only(settings.state_db)
        try:
            web = web_only(subs, ledger)
            subs = subs + web
            sids = ledger.sids_for(((s.key, s.email) for s in subs), create=False)
            prefs = ledger.preferences()
            suppressed = {k: (r.reason, r.source, r.created, r.detail)
                          for k, r in ledger.suppression_rows().items()}
            consents = ledger.consent_records()
        finally:
            ledger.close()
    labels = settings.taxonomy.labels
    blocks: list[str] = []
    left: list[str] = []
    changed = 0
    for s in subs:
        record = [_consent_line(settings, c) for c in consents.get(s.key, [])]
        if s.key in suppressed:
            reason, src, when, detail = suppressed[s.key]
            why = " ".join(f"{_REASONS.get(reason, reason)}{': ' + detail if detail else ''}".split())[:120]
            left.append(f"# - email: {_display_email(s.email)}  # {why} on {_day(when)} ({src})\n"
                        + "".join(f"#   {line}\n" for line in record))
            continue
        topics = s.topics
        sid = sids.get(s.key)
        if sid in prefs:
            chosen = prefs[sid]
            known = None if chosen is None else frozenset(t for t in chosen if t in labels)
            if known is None or known:
                changed += s.line > 0 and known != s.topics
                topics = known
        entry: dict[str, object] = {"email": _display_email(s.email)}
        if s.name:
            entry["name"] = s.name
        entry["topics"] = "all" if topics is None else settings.taxonomy.order(topics)
        dumped = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, default_flow_style=None, width=100)
        blocks.append("".join(f"# {line}\n" for line in record) + dumped)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"# Subscriber list exported by `newsletter subscribers export` on {now}\n"
            f"# from {source.name} and the state database: topics chosen on the web are applied, readers\n"
            "# who confirmed a signup on the web are included (their consent record as a comment).\n"
            "# Unsubscribed and suppressed addresses are listed as comments at the end;\n"
            "# they stay suppressed in the state database whether or not they are in this file.\n")
    body = "".join(blocks) if blocks else "[]\n"
    tail = ""
    if left:
        tail = "\n# Unsubscribed or suppressed (nothing is sent to them):\n" + "".join(left)
    web_kept = sum(1 for w in web if w.key not in suppressed)
    return head + body + tail, {"kept": len(blocks), "changed": changed, "left": len(left), "web": web_kept}


def _day(ts: float, fmt: str = "%Y-%m-%d") -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(fmt)


def _consent_line(settings: Settings, c: ConsentRecord) -> str:
    topics = "every topic" if c.topics is None else ", ".join(settings.taxonomy.order(c.topics))
    return (f"signed up on the web: requested {_day(c.requested, '%Y-%m-%d %H:%M UTC')}, confirmed "
            f"{_day(c.confirmed, '%Y-%m-%d %H:%M UTC')} (source: {c.source}; topics: {topics})")


_REASONS = {"unsubscribed": "unsubscribed", "hard-bounce": "hard bounce", "soft-bounces": "repeated soft bounces",
            "complaint": "spam complaint"}


def _display_email(addr: str) -> str:
    """The domain in Unicode when it was written that way (the loader turns it back into the
    same A-label), so the exported file reads like the one the author wrote."""
    import idna

    local, _, domain = addr.rpartition("@")
    if "xn--" not in domain:
        return addr
    try:
        return f"{local}@{idna.decode(domain)}"
    except idna.IDNAError:
        return addr


def _write_atomic(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600  # personal data: private
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc}") from None
