"""`newsletter send` as a function: lock, pre-flight, campaign, dispatch, summary."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shlex
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..content.config import Settings, find_root
from ..content.textfile import display_path
from ..errors import (
    CampaignLocked,
    CheckFailed,
    FatalSMTPError,
    Interrupted,
    NewsletterError,
    StateError,
    TransientError,
)
from ..mail.compose import Composer, now_header
from ..mail.verp import Verp
from ..store import private_folder
from ..store.ledger import Delivery, Ledger
from .dispatch import Dispatcher, ProgressHook, Summary
from .plan import Entry, Plan, prepare, skip_kind
from .stopping import StopReason
from .transports import transport_factory
from .transports.base import Transport

REMOVED = "removed from the list"


@dataclass
class SendOptions:
    dry_run: bool = False
    force: bool = False
    resend_unknown: bool = False
    connections: int | None = None


@dataclass(frozen=True)
class Unfinished:
    """A campaign with someone still pending or deferred, and what it was sent with."""

    issue: str
    issue_path: Path
    subscribers: Path | None  # None: recorded before lists were kept


@contextmanager
def campaign_lock(state_dir: Path, issue: str) -> Iterator[None]:
    """One `send` per issue at a time; the second fails at once. The kernel drops the lock
    when its holder dies, so a crashed run never leaves a stale lock behind."""
    path = state_dir / f"send-{issue}.lock"
    try:
        private_folder(state_dir)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StateError(f"{path}: cannot create the lock in the state folder: {exc.strerror or exc}") from None
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


def unfinished(settings: Settings) -> list[Unfinished]:
    """Campaigns not finished yet (oldest first), read-only; [] when nothing was ever sent."""
    if not settings.state_db.exists():
        return []
    ledger = Ledger.read_only(settings.state_db)
    try:
        rows = ledger.unfinished()
    finally:
        ledger.close()
    return [Unfinished(issue, settings.root / (ipath or f"issues/{issue}.yaml"),
                       settings.root / lpath if lpath else None) for issue, ipath, lpath in rows]


def resume_command(settings: Settings, issue_path: Path, subscribers: Path) -> str:
    """The exact command that finishes this campaign, from the working directory."""
    words = ["newsletter"]
    if find_root() != settings.root:
        words += ["--root", display_path(settings.root)]
    words += ["send", display_path(issue_path), "--subscribers", display_path(subscribers)]
    return " ".join(shlex.quote(w) for w in words)


def send(composer: Composer, issue_path: Path, subscribers: Path, opts: SendOptions,
         factory: Callable[[], Transport] | None = None, progress: ProgressHook | None = None,
         ) -> tuple[Summary, dict[str, int]]:
    """Send the issue to everyone on the list not yet sent to; returns this run's summary and
    the campaign's counts by state. Raises a NewsletterError subclass for every way a run can
    stop early (its message says how to go on), Interrupted (exit 130) for Ctrl-C / SIGTERM."""
    settings = composer.settings
    resume = resume_command(settings, issue_path, subscribers)
    dispatching = False
    try:
        factory = factory or transport_factory(settings)
        issue = composer.issue(issue_path)
        with campaign_lock(settings.state_db.parent, issue.month):
            ledger = Ledger(settings.state_db, synchronous="FULL" if settings.durability == "disk" else "NORMAL")
            try:
                plan = prepare(composer, issue_path, subscribers, ledger)
                date = ledger.start_campaign(issue.month, plan.content_hash, now_header(), force=opts.force,
                                             subject=issue.subject, list_file=display_path(subscribers),
                                             paths=(_recorded(settings, issue_path), _recorded(settings, subscribers)))
                recovered, not_sent = ledger.recover_interrupted(issue.month)
                ledger.add_deliveries(issue.month, (
                    (e.key, e.sid, e.email, e.variant,
                     "skipped" if e.skip_reason else "pending", e.skip_reason) for e in plan.entries))
                removed = ledger.skip_removed(issue.month, {e.key for e in plan.entries}, REMOVED)
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
                dispatching = True
                summary = asyncio.run(_main(d, due))
                dispatching = False
                if removed:
                    skips[REMOVED] += removed
                summary.skipped += sum(skips.values())
                summary.skip_reasons.update(skips)
                if recovered:
                    summary.replies.append(f"{recovered} message(s) interrupted by an earlier crash are "
                                           "now 'unknown' (not re-sent; see `newsletter status`)")
                if not_sent:
                    summary.replies.append(f"{not_sent} message(s) an earlier crash interrupted before their end "
                                           "were not delivered: sent now")
                counts = ledger.counts(issue.month)
                if summary.stop is None and counts["pending"] == counts["deferred"] == counts["sending"] == 0:
                    ledger.finish(issue.month)
                if summary.stop is not None:
                    ledger.recover_interrupted(issue.month)
                    raise _stopped(summary, d, counts, resume)
                return summary, counts
            finally:
                ledger.close()
    except KeyboardInterrupt:  # Ctrl-C / SIGTERM outside the dispatch (pre-flight): nothing in flight
        where = "while sending" if dispatching else "before sending began; nothing was sent"
        raise Interrupted(f"interrupted {where}. To send: {resume}") from None


def _recorded(settings: Settings, path: Path) -> str:
    """How a campaign remembers a file: relative to the project folder when inside it."""
    full = path.resolve()
    try:
        return str(full.relative_to(settings.root.resolve()))
    except ValueError:
        return str(full)


def _stopped(summary: Summary, d: Dispatcher, counts: dict[str, int], resume: str) -> NewsletterError:
    """The exception for a run that stopped early, carrying its summary."""
    left = counts["pending"] + counts["deferred"]
    reason, message = summary.stop, summary.stop_message
    err: NewsletterError
    if reason == StopReason.INTERRUPTED:
        by = d.stopper.signal or "a signal"
        err = Interrupted(f"interrupted by {by}: messages in flight were finished or recorded; {left} "
                          f"recipient(s) still to send. Resume with: {resume}")
    elif reason == StopReason.STATE and d.ledger_error is not None:
        err = d.ledger_error
    elif reason == StopReason.FATAL:
        err = FatalSMTPError(message)
    elif reason == StopReason.TOO_LARGE:
        err = CheckFailed(message)
    else:
        err = TransientError(f"{message}\nResume with: {resume}")
    err.summary = summary
    return err


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


async def _main(d: Dispatcher, due: list[Delivery]) -> Summary:
    with d.stopper.signals():
        return await d.run(due)


__all__ = ["NewsletterError", "SendOptions", "Unfinished", "campaign_lock", "dry_run", "resume_command", "send",
           "unfinished"]
