"""`newsletter send` as a function: lock, pre-flight, campaign, dispatch, summary."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..content.textfile import display_path
from ..errors import CampaignLocked, NewsletterError
from ..mail.compose import Composer, now_header
from ..mail.verp import Verp
from ..store.ledger import Delivery, Ledger
from .dispatch import Dispatcher, ProgressHook, Summary, install_signal_handlers
from .plan import Entry, Plan, prepare, skip_kind
from .transports import transport_factory
from .transports.base import Transport


@dataclass
class SendOptions:
    dry_run: bool = False
    force: bool = False
    resend_unknown: bool = False
    connections: int | None = None


@contextmanager
def campaign_lock(state_dir: Path, issue: str) -> Iterator[None]:
    """One `send` per issue at a time; the second fails at once. The kernel drops the lock
    when its holder dies, so a crashed run never leaves a stale lock behind."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / f"send-{issue}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise CampaignLocked(f"issue {issue} is already being sent (by PID {holder}); "
                                 "wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def dry_run(composer: Composer, issue_path: Path, subscribers: Path) -> Plan:
    """Everything `send` checks, using the existing state read-only; opens no socket, writes nothing."""
    db = composer.settings.state_db
    ledger = Ledger.read_only(db) if db.exists() else None
    try:
        return prepare(composer, issue_path, subscribers, ledger, create_ids=False)
    finally:
        if ledger:
            ledger.close()


def send(composer: Composer, issue_path: Path, subscribers: Path, opts: SendOptions,
         factory: Callable[[], Transport] | None = None, progress: ProgressHook | None = None,
         ) -> tuple[Summary, dict[str, int]]:
    settings = composer.settings
    factory = factory or transport_factory(settings)
    issue = composer.issue(issue_path)
    with campaign_lock(settings.state_db.parent, issue.month):
        ledger = Ledger(settings.state_db, synchronous="FULL" if settings.durability == "disk" else "NORMAL")
        try:
            plan = prepare(composer, issue_path, subscribers, ledger)
            date = ledger.start_campaign(issue.month, plan.content_hash, now_header(), force=opts.force,
                                         subject=issue.subject, list_file=display_path(subscribers))
            recovered = ledger.recover_interrupted(issue.month)
            ledger.add_deliveries(issue.month, (
                (e.key, e.sid, e.email, e.variant,
                 "skipped" if e.skip_reason else "pending", e.skip_reason) for e in plan.entries))
            skips = Counter(skip_kind(e.skip_reason) for e in plan.entries if e.skip_reason)
            plan.entries = [e for e in plan.entries if not e.skip_reason]  # recorded; not needed now
            compiled = plan.compiled(composer, date)
            signer = None
            if settings.dkim is not None:
                from ..mail.dkim import load_signer

                signer = load_signer(settings.dkim)
            d = Dispatcher(settings, ledger, plan, compiled, factory,
                           connections=opts.connections or settings.connections, signer=signer,
                           progress=progress, envelope=envelope_for(composer, issue.month))
            due = [_lean(row, e) for row in ledger.iter_due(issue.month, resend_unknown=opts.resend_unknown)
                   if (e := d.entries.get(row.email_key)) is not None and not e.skip_reason]
            summary = asyncio.run(_main(d, due))
            summary.skipped += sum(skips.values())
            summary.skip_reasons.update(skips)
            if recovered:
                summary.replies.append(f"{recovered} message(s) interrupted by an earlier crash are "
                                       "now 'unknown' (not re-sent; see `newsletter status`)")
            counts = ledger.counts(issue.month)
            if d.error is None and counts["pending"] == 0 and counts["deferred"] == 0 and counts["sending"] == 0:
                ledger.finish(issue.month)
            if d.error is not None:
                ledger.recover_interrupted(issue.month)
                d.error.summary = summary  # type: ignore[attr-defined]
                raise d.error
            return summary, counts
        finally:
            ledger.close()


def envelope_for(composer: Composer, issue: str) -> Callable[[str], str] | None:
    """MAIL FROM by subscriber id: `bounce_address` as VERP (LOCAL+TOKEN@domain, the token
    signed and naming the issue and subscriber); None: the fixed envelope_from."""
    bounce = composer.settings.feedback.bounce_address
    if not bounce:
        return None
    verp = Verp(bounce, composer.keys)
    return lambda sid: verp.address(issue, sid)


def _lean(d: Delivery, e: Entry) -> Delivery:
    """The same row, sharing the plan's strings instead of holding copies of them: the list
    of everyone still due stays in memory for the whole run."""
    return Delivery(e.key, e.sid if e.sid == d.sid else d.sid, e.email if e.email == d.email else d.email,
                    sys.intern(d.variant), sys.intern(d.state), d.attempts, d.code, d.reply,
                    d.next_attempt, d.date)


async def _main(d: Dispatcher, due: list) -> Summary:  # type: ignore[type-arg]
    task = asyncio.current_task()
    assert task is not None
    install_signal_handlers(task)
    return await d.run(due)


__all__ = ["NewsletterError", "SendOptions", "campaign_lock", "dry_run", "send"]
