"""`read_bounces` against a real Dovecot (IMAPS and POP3S) and local Maildir/mbox files: after a
real send to the outbox, DSNs and complaints about real readers are read, matched by VERP or by
Message-ID, recorded once, and the mailbox is marked, moved or emptied as asked."""

from __future__ import annotations

import mailbox
import re
from pathlib import Path

import pytest

from newsletter.delivery.bounces import MailboxError, Outcome, ReadOptions, read_bounces
from newsletter.delivery.sending import SendOptions, send
from newsletter.mail.compose import Composer
from newsletter.mail.verp import Verp
from newsletter.store.ledger import Ledger

from ..conftest import add_config, write_subscribers
from ..mailboxes import Mailbox, personalise

ISSUE = "2021-04"
READERS = [f"reader{i:05d}@example.org" for i in range(6)]


def _site(project: Path, *, verp: bool = True) -> Composer:
    if verp:
        add_config(project, "bounce_address: bounces@news.example.org")
    write_subscribers(project, len(READERS))
    composer = Composer.load(project)
    summary, _ = send(composer, Path(f"issues/{ISSUE}.yaml"), project / "subscribers.yaml", SendOptions())
    assert summary.sent == len(READERS)
    return composer


def _about(composer: Composer, name: str, address: str, *, verp: bool = True) -> bytes:
    """Corpus sample `name` as a mail system would write it about `address`'s copy."""
    led = Ledger.read_only(composer.settings.state_db)
    try:
        person = led.person_by_key(address)
    finally:
        led.close()
    assert person is not None
    sid = person[0]
    token = Verp("bounces@news.example.org", composer.keys).token(ISSUE, sid)
    return personalise(name, address=address, token=token, sid=sid, utoken=composer.keys.sign(sid, "u"),
                       issue=ISSUE, envelope=None if verp else "digest@news.example.org")


def _suppressed(composer: Composer) -> dict[str, str]:
    led = Ledger.read_only(composer.settings.state_db)
    try:
        return led.suppressions()
    finally:
        led.close()


def _outcomes(run) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(str(s.outcome) for s in run.settled)


def test_imap_hard_soft_complaint_and_the_rest(project: Path, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    composer = _site(project)
    outbox = mailbox_module_messages(project)
    assert all(re.match(r"<bounces\+t1\.202104\.[a-z2-7]{15}\.[a-z2-7]{13}@news\.example\.org>$", m["Return-Path"])
               for m in outbox)  # VERP on every copy
    assert len({m["Return-Path"] for m in outbox}) == len(READERS)
    mailbox.append(
        _about(composer, "postfix-user-unknown.eml", READERS[0]),
        _about(composer, "gmail-quota-gave-up.eml", READERS[1]),
        _about(composer, "yahoo-cfl-complaint.eml", READERS[2]),
        _about(composer, "qmail-user-unknown.eml", READERS[3]),        # non-standard, via flufl.bounce
        _about(composer, "out-of-office-exchange.eml", READERS[4]),
        _about(composer, "postfix-delayed.eml", READERS[4]),
        _about(composer, "reader-reply.eml", READERS[5]),
        personalise("postfix-not-on-list.eml", envelope="bounces@news.example.org"),  # backscatter: not ours
    )
    run = read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.imaps))
    assert run.warnings == []
    assert _outcomes(run) == sorted([Outcome.SUPPRESSED, Outcome.COUNTED, Outcome.UNSUBSCRIBED, Outcome.SUPPRESSED,
                                     Outcome.IGNORED, Outcome.IGNORED, Outcome.NOT_BOUNCE, Outcome.UNMATCHED])
    assert all(s.target.how == "VERP" for s in run.settled if s.target)
    assert _suppressed(composer) == {READERS[0]: "hard-bounce", READERS[2]: "complaint", READERS[3]: "hard-bounce"}
    flags = mailbox.flags()
    seen = [b"\\Seen" in f for f in flags]
    assert seen == [True, True, True, True, False, True, False, False]  # auto-reply, other mail, not ours: unread
    assert all(b"NewsletterDone" in f for f in flags)
    # running it again changes nothing, even with new copies of the same messages
    mailbox.append(_about(composer, "postfix-user-unknown.eml", READERS[0]))
    again = read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.imaps))
    assert [s.outcome for s in again.settled] == [Outcome.SEEN]
    assert _suppressed(composer) == {READERS[0]: "hard-bounce", READERS[2]: "complaint", READERS[3]: "hard-bounce"}
    led = Ledger.read_only(composer.settings.state_db)
    assert led.feedback_counts(ISSUE) == {"hard": 2, "soft": 1, "complaint": 1}
    led.close()


def mailbox_module_messages(project: Path) -> list[mailbox.MaildirMessage]:
    box = mailbox.Maildir(project / "outbox", create=False)
    return [box.get_message(k) for k in box.keys()]  # noqa: SIM118


def test_message_id_matching_without_verp(project: Path, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    composer = _site(project, verp=False)
    assert all(m["Return-Path"] == "<digest@news.example.org>" for m in mailbox_module_messages(project))
    mailbox.append(_about(composer, "sendmail-user-unknown.eml", READERS[0], verp=False),
                   _about(composer, "microsoft-jmrp-complaint.eml", READERS[1], verp=False))
    run = read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.imaps))
    assert [(s.outcome, s.target.how if s.target else "") for s in run.settled] == [
        (Outcome.SUPPRESSED, "Message-ID"), (Outcome.UNSUBSCRIBED, "Message-ID")]
    assert _suppressed(composer) == {READERS[0]: "hard-bounce", READERS[1]: "complaint"}


def test_forged_bounces_change_nothing(project: Path, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    composer = _site(project)
    genuine = _about(composer, "postfix-user-unknown.eml", READERS[0]).decode()
    token = re.search(r"bounces\+([^@]+)@", genuine).group(1)  # type: ignore[union-attr]
    sid = re.search(rf"<{ISSUE}\.([A-Za-z0-9_-]{{12}})@", genuine).group(1)  # type: ignore[union-attr]
    utoken = composer.keys.sign(sid, "u")
    # 1. the genuine bounce with its VERP signature changed
    forged = genuine.replace(token, token[:-3] + ("bbb" if token.endswith("aaa") else "aaa"))
    # 2. a bounce naming a reader by address only (anyone could write it)
    address_only = personalise("postfix-not-on-list.eml", address=READERS[1], envelope="digest@news.example.org")
    # 3. a Message-ID of an issue never sent to them, no VERP and no genuine unsubscribe token
    guessed = (genuine.replace(f"bounces+{token}@", "digest@").replace(f"<{ISSUE}.{sid}", f"<2020-10.{sid}")
               .replace(utoken, "t1.AAAAAAAAAAAA.AAAAAAAAAAAAAAAA"))
    guessed = guessed.replace("Message-Id: <", "Message-Id: <guessed.", 1)
    mailbox.append(forged.encode(), address_only, guessed.encode())
    run = read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.imaps))
    assert [s.outcome for s in run.settled] == [Outcome.FORGED, Outcome.UNMATCHED, Outcome.UNMATCHED]
    assert any("bad signature" in w for w in run.warnings)
    assert _suppressed(composer) == {}


def test_huge_and_malformed_messages_are_skipped_with_a_warning(project: Path, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    add_config(project, "bounces:\n  max_message_bytes: 20000")
    composer = _site(project)
    huge = _about(composer, "postfix-user-unknown.eml", READERS[0]) + b"x" * 30_000
    broken = (b'From: MAILER-DAEMON@mx.example.net\r\nMessage-ID: <broken@mx.example.net>\r\nContent-Type: '
              b'multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain'
              b"\r\n\r\nnothing here\r\n--b--\r\n")
    mailbox.append(huge, broken, _about(composer, "postfix-user-unknown.eml", READERS[1]))
    run = read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.imaps))
    assert len(run.warnings) == 2 and "over the 20,000-byte limit" in run.warnings[0]
    assert "without any per-recipient" in run.warnings[1]
    assert [s.outcome for s in run.settled] == [Outcome.SUPPRESSED]
    assert _suppressed(composer) == {READERS[1]: "hard-bounce"}
    assert [b"\\Seen" in f for f in mailbox.flags()] == [False, False, True]  # the skipped stay unread


@pytest.mark.parametrize("how", ["delete", "move"])
def test_delete_or_move_processed_messages(project: Path, mailbox: Mailbox, how: str) -> None:  # type: ignore[no-untyped-def]
    composer = _site(project)
    mailbox.append(_about(composer, "postfix-user-unknown.eml", READERS[0]),
                   _about(composer, "reader-reply.eml", READERS[1]))
    opts = ReadOptions(mailbox.imaps, "delete") if how == "delete" else ReadOptions(mailbox.imaps, "move", "Bounces")
    read_bounces(composer.settings, composer.keys, opts)
    assert mailbox.count() == 1  # the reader's reply stays
    if how == "move":
        assert mailbox.count("Bounces") == 1


def test_pop3(project: Path, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    composer = _site(project)
    mailbox.append(_about(composer, "exim-dsn-status-5.0.0.eml", READERS[0]),
                   _about(composer, "vacation-auto-replied.eml", READERS[1]))
    run = read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.pop3s))
    assert [s.outcome for s in run.settled] == [Outcome.SUPPRESSED, Outcome.IGNORED]
    assert mailbox.count() == 2  # POP3 cannot mark: the ledger remembers
    again = read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.pop3s, "delete"))
    assert [s.outcome for s in again.settled] == [Outcome.SEEN, Outcome.SEEN]
    assert mailbox.count() == 1  # the processed bounce is gone, the auto-reply stays


def test_wrong_password_and_untrusted_certificate(project: Path, mailbox: Mailbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    composer = _site(project)
    monkeypatch.setenv("NEWSLETTER_BOUNCES_PASSWORD", "wrong")
    with pytest.raises(MailboxError, match="login failed"):
        read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.imaps))
    monkeypatch.delenv("NEWSLETTER_BOUNCES_CA_FILE")
    with pytest.raises(MailboxError, match="TLS failure"):
        read_bounces(composer.settings, composer.keys, ReadOptions(mailbox.pop3s))


@pytest.mark.parametrize("spec", ["imap://127.0.0.1/INBOX", "pop3://127.0.0.1", "imaps://u:p@127.0.0.1/INBOX",
                                  "ftp://127.0.0.1/x", "no/such/box"])
def test_refused_sources(project: Path, spec: str) -> None:
    composer = _site(project)
    with pytest.raises(MailboxError):
        read_bounces(composer.settings, composer.keys, ReadOptions(spec))


@pytest.mark.parametrize("kind", ["maildir", "mbox"])
def test_local_maildir_and_mbox(project: Path, kind: str) -> None:
    composer = _site(project)
    box: mailbox.Maildir | mailbox.mbox = (mailbox.Maildir(project / "bounces", create=True) if kind == "maildir"
                                           else mailbox.mbox(project / "bounces.mbox", create=True))
    for m in (_about(composer, "exchange-online-recipient-not-found.eml", READERS[0]),
              _about(composer, "microsoft-jmrp-complaint.eml", READERS[1])):
        box.add(m)
    box.flush()
    spec = "bounces" if kind == "maildir" else "bounces.mbox"
    dry = read_bounces(composer.settings, composer.keys, ReadOptions(spec, dry_run=True))
    assert [s.outcome for s in dry.settled] == [Outcome.SUPPRESSED, Outcome.UNSUBSCRIBED] and _suppressed(composer) == {}
    run = read_bounces(composer.settings, composer.keys, ReadOptions(spec))
    assert [s.outcome for s in run.settled] == [Outcome.SUPPRESSED, Outcome.UNSUBSCRIBED]
    read_bounces(composer.settings, composer.keys, ReadOptions(spec, "delete"))
    assert len((mailbox.Maildir(project / "bounces") if kind == "maildir" else mailbox.mbox(project / "bounces.mbox"))
               .keys()) == 0
