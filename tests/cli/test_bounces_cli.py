"""The issue's Done-when, as a user runs it: send to the outbox, bounces for two readers (one hard,
one soft) and a complaint land in the Dovecot mailbox, `newsletter bounces`, then the next
`send --dry-run` leaves out the hard-bounced and complaining readers but not the soft one, and
`status` and `subscribers export` show it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.mail.compose import Composer
from newsletter.mail.verp import Verp
from newsletter.store.ledger import Ledger

from ..conftest import add_config, write_subscribers
from ..mailboxes import Mailbox, personalise
from .test_cli import cli

ISSUE = "2021-04"


def test_bounces_done_when(project: Path, mailbox: Mailbox) -> None:
    add_config(project, f"bounce_address: bounces@news.example.org\nbounces:\n  mailbox: {mailbox.imaps}")
    write_subscribers(project, 5)
    sent = cli(project, "send", f"issues/{ISSUE}.yaml", "--subscribers", "subscribers.yaml")
    assert sent.returncode == 0, sent.stderr
    composer = Composer.load(project)
    verp = Verp("bounces@news.example.org", composer.keys)
    led = Ledger.read_only(project / "state" / "newsletter.sqlite3")
    sids = {f"reader{i:05d}@example.org": led.person_by_key(f"reader{i:05d}@example.org")[0]  # type: ignore[index]
            for i in range(3)}
    led.close()

    def about(name: str, addr: str) -> bytes:
        sid = sids[addr]
        return personalise(name, address=addr, token=verp.token(ISSUE, sid), sid=sid,
                           utoken=composer.keys.sign(sid, "u"), issue=ISSUE)

    mailbox.append(about("gmail-no-such-user.eml", "reader00000@example.org"),
                   about("postfix-mailbox-full.eml", "reader00001@example.org"),
                   about("yahoo-cfl-complaint.eml", "reader00002@example.org"))
    run = cli(project, "bounces")  # credentials and CA from the environment (the mailbox fixture)
    assert run.returncode == 0, run.stderr
    assert "hard reader00000@example.org (2021-04): 5.1.1" in run.stdout and "→ suppressed" in run.stdout
    assert "soft reader00001@example.org (2021-04): 5.2.2" in run.stdout and "1 of 3 within 30 days" in run.stdout
    assert "complaint reader00002@example.org (2021-04): abuse" in run.stdout and "→ unsubscribed" in run.stdout
    again = cli(project, "bounces")
    assert again.returncode == 0 and "0 message(s): nothing new" in again.stdout  # already done: not even read

    dry = cli(project, "send", f"issues/{ISSUE}.yaml", "--subscribers", "subscribers.yaml", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    out = dry.stdout + dry.stderr
    assert "would go to 3 of 5" in out and "2 skipped: 1 suppressed: complaint; 1 suppressed: hard-bounce" in out, out

    from newsletter.delivery.sending import dry_run
    plan = dry_run(Composer.load(project), Path(f"issues/{ISSUE}.yaml"), project / "subscribers.yaml")
    skipped = {e.email: e.skip_reason for e in plan.entries if e.skip_reason}
    assert skipped == {"reader00000@example.org": "suppressed (hard-bounce)",
                       "reader00002@example.org": "suppressed (complaint)"}

    status = cli(project, "status", ISSUE)
    assert re.search(r"^    bounced: hard \(suppressed\) +1\n    bounced: soft +1\n    complained \(unsubscribed\) +1$",
                     status.stdout, re.MULTILINE), status.stdout

    export = cli(project, "subscribers", "export", "--subscribers", "subscribers.yaml")
    assert "# - email: reader00000@example.org  # hard bounce: 5.1.1" in export.stdout
    assert "# - email: reader00002@example.org  # spam complaint: abuse" in export.stdout
    listed = [line for line in export.stdout.splitlines() if not line.startswith("#")]
    assert any("reader00001@example.org" in line for line in listed)  # the soft one stays on the list


def test_bounces_without_a_mailbox_or_with_bad_credentials(project: Path, mailbox: Mailbox,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    r = cli(project, "bounces")
    assert r.returncode == 2 and "no bounce mailbox" in r.stderr and "Traceback" not in r.stderr
    write_subscribers(project, 1)
    assert cli(project, "send", "--subscribers", "subscribers.yaml").returncode == 0
    monkeypatch.setenv("NEWSLETTER_BOUNCES_PASSWORD", "wrong")
    r = cli(project, "bounces", mailbox.imaps)
    assert r.returncode == 4 and "login failed" in r.stderr and "Traceback" not in r.stderr
    monkeypatch.delenv("NEWSLETTER_BOUNCES_PASSWORD")
    r = cli(project, "bounces", mailbox.imaps)
    assert r.returncode == 4 and "NEWSLETTER_BOUNCES_PASSWORD" in r.stderr
