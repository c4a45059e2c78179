"""`newsletter bounces` as a function: read the bounce mailbox, classify each message, find whom
it is about, record it once, then mark, move or delete what was processed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ...content.config import Settings
from ...errors import UsageError
from ...mail.tokens import TokenKeys
from ...store.ledger import Ledger
from .classify import Kind, Malformed, classify
from .match import Matcher, haystack
from .settle import FINISHED, Outcome, Settled, settle
from .sources import Source, open_source


@dataclass(frozen=True)
class ReadOptions:
    """`source` overrides bounces.mailbox; `action`: mark | move | delete (what happens to the
    processed messages); `move_to` the IMAP folder for move; `dry_run`: change nothing anywhere."""

    source: str | None = None
    action: str = "mark"
    move_to: str | None = None
    dry_run: bool = False


@dataclass
class BounceRun:
    """What one run found: where it read, one `Settled` per message, the warnings."""

    description: str
    settled: list[Settled] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_bounces(settings: Settings, keys: TokenKeys, opts: ReadOptions,
                 env: Mapping[str, str] = os.environ) -> BounceRun:
    """Process the bounce mailbox once. Raises MailboxError (exit 4) for a mailbox that cannot
    be used as configured, TransientError (exit 3) when it cannot be reached."""
    spec = opts.source or settings.feedback.bounces.mailbox
    if not spec:
        raise UsageError("no bounce mailbox: give one (imaps://host/FOLDER, pop3s://host or a "
                              "Maildir/mbox path) or set bounces.mailbox in newsletter.yaml")
    source = open_source(spec, settings.root, env)
    folder = opts.move_to or settings.feedback.bounces.move_to
    action = "move" if opts.action == "mark" and opts.move_to else opts.action
    if action == "move" and (not folder or not source.description.startswith("imaps://")):
        raise UsageError("--move-to needs an IMAP mailbox (imaps://…) and a folder name")
    db = settings.state_db
    if not db.exists():
        raise UsageError(f"nothing has been sent yet (no state database at {db}), so no bounce can be ours")
    ledger = Ledger.read_only(db) if opts.dry_run else Ledger(db)
    run = BounceRun(source.description)
    try:
        source.open(readonly=opts.dry_run)
        try:
            done, looked = _process(settings, keys, ledger, source, opts.dry_run, run)
            if not opts.dry_run:
                source.finish(done, looked, action=action, folder=folder)
        finally:
            source.close()
    finally:
        ledger.close()
    return run


def _process(settings: Settings, keys: TokenKeys, ledger: Ledger, source: Source, dry_run: bool,
             run: BounceRun) -> tuple[list[str], list[str]]:
    matcher = Matcher(settings, keys, ledger)
    limit = settings.feedback.bounces.max_message_bytes
    done: list[str] = []
    looked: list[str] = []
    for item in source.items():
        key = f"mid:{item.message_id}" if item.message_id else ""
        previous = ledger.inbound_outcome(key) if key else None
        if previous is None and item.size > limit:
            run.warnings.append(f"{source.description} message {item.ref}: skipped: {item.size:,} bytes, over "
                                f"the {limit:,}-byte limit (bounces.max_message_bytes)")
            continue
        data = b""
        if previous is None:
            data = source.fetch(item.ref)
            key = key or f"sha256:{hashlib.sha256(data).hexdigest()}"
            previous = ledger.inbound_outcome(key)
        if previous is not None:
            s = Settled(key, Outcome.SEEN, stored=previous)
        else:
            try:
                report = classify(data, max_bytes=limit)
            except Malformed as exc:
                run.warnings.append(f"{source.description} message {item.ref}: skipped: {exc}")
                continue
            match = None
            if report.kind in (Kind.HARD, Kind.SOFT, Kind.COMPLAINT):
                match = matcher.match(haystack(data, report.message), report)
                if match.verdict == "forged":
                    run.warnings.append(f"{source.description} message {item.ref}: {match.note}; nothing changed")
            s = settle(ledger, settings, key, "bounce mailbox", report.kind, report.main, match, dry_run=dry_run)
        run.settled.append(s)
        looked.append(item.ref)
        if s.stored in FINISHED:
            done.append(item.ref)
    return done, looked
