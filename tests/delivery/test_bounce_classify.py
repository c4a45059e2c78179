"""Classifying what lands in the bounce mailbox: a corpus of DSNs, feedback reports, auto-replies
and non-standard bounces in the shapes real mail systems produce (tests/bounces/), each with its
expected class; and hostile input that must be skipped with a reason, never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.delivery.bounces import Kind, Malformed, classify

from ..mailboxes import CORPUS, personalise

LIMIT = 2_000_000
# sample → (kind, how it was read, RFC 3463 status or feedback type of the deciding finding)
EXPECTED = {
    "postfix-user-unknown.eml": (Kind.HARD, "dsn", "5.1.1"),
    "postfix-mailbox-full.eml": (Kind.SOFT, "dsn", "5.2.2"),
    "postfix-host-not-found.eml": (Kind.HARD, "dsn", "5.4.4"),
    "postfix-delayed.eml": (Kind.DELAYED, "dsn", "4.4.1"),
    "postfix-policy-rejection.eml": (Kind.SOFT, "dsn", "5.7.1"),
    "postfix-not-on-list.eml": (Kind.HARD, "dsn", "5.1.1"),
    "positive-dsn-delivered.eml": (Kind.DELIVERED, "dsn", "2.0.0"),
    "exim-dsn-status-5.0.0.eml": (Kind.HARD, "dsn", "5.1.1"),  # Status 5.0.0: the diagnostic decides
    "exim-plain-bounce.eml": (Kind.HARD, "heuristic", ""),
    "sendmail-user-unknown.eml": (Kind.HARD, "dsn", "5.1.1"),
    "sendmail-warning-delayed.eml": (Kind.DELAYED, "dsn", "4.4.7"),
    "qmail-user-unknown.eml": (Kind.HARD, "heuristic", "5.1.1"),
    "qmail-mailbox-full.eml": (Kind.SOFT, "heuristic", "5.2.2"),
    "qmail-no-status-code.eml": (Kind.HARD, "heuristic", "5.1.1"),
    "exchange-online-recipient-not-found.eml": (Kind.HARD, "dsn", "5.1.10"),
    "outlookcom-policy-block.eml": (Kind.SOFT, "dsn", "5.7.1"),
    "exchange-2003-plain-ndr.eml": (Kind.HARD, "heuristic", "5.1.1"),
    "gmail-no-such-user.eml": (Kind.HARD, "dsn", "5.1.1"),
    "gmail-delay.eml": (Kind.DELAYED, "dsn", "4.4.1"),
    "gmail-quota-gave-up.eml": (Kind.SOFT, "dsn", "4.2.2"),
    "yahoo-failure-notice.eml": (Kind.HARD, "heuristic", ""),
    "ses-bounce-email.eml": (Kind.HARD, "dsn", "5.1.1"),
    "global-dsn-smtputf8.eml": (Kind.HARD, "dsn", "5.1.1"),
    "opensmtpd-action-error.eml": (Kind.HARD, "dsn", "5.1.1"),
    "yahoo-cfl-complaint.eml": (Kind.COMPLAINT, "arf", "abuse"),
    "microsoft-jmrp-complaint.eml": (Kind.COMPLAINT, "arf", "abuse"),
    "arf-not-spam.eml": (Kind.OTHER, "arf", "not-spam"),
    "out-of-office-exchange.eml": (Kind.AUTO_REPLY, "auto-reply", None),
    "vacation-auto-replied.eml": (Kind.AUTO_REPLY, "auto-reply", None),
    "out-of-office-german.eml": (Kind.AUTO_REPLY, "auto-reply", None),
    "read-receipt-mdn.eml": (Kind.AUTO_REPLY, "auto-reply", None),
    "reader-reply.eml": (Kind.OTHER, "", None),
}


def test_every_sample_has_an_expectation() -> None:
    files = {p.name for p in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED)
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name: str) -> None:
    kind, how, status = EXPECTED[name]
    report = classify(personalise(name), max_bytes=LIMIT)
    assert (report.kind, report.how) == (kind, how)
    main = report.main
    if status is None:
        assert main is None
    else:
        assert main is not None and main.status == status
        if kind in (Kind.HARD, Kind.SOFT, Kind.DELAYED):
            assert main.address == ("stranger@example.org" if "not-on-list" in name else "ben@example.com")


@pytest.mark.parametrize(("status", "diagnostic", "kind"), [
    ("5.1.1", "", Kind.HARD), ("5.1.2", "", Kind.HARD), ("5.1.10", "", Kind.HARD), ("5.1.6", "", Kind.HARD),
    ("5.2.1", "", Kind.HARD), ("5.4.4", "", Kind.HARD),
    ("5.2.2", "", Kind.SOFT), ("5.7.1", "", Kind.SOFT), ("5.7.26", "", Kind.SOFT), ("5.3.4", "", Kind.SOFT),
    ("4.2.2", "", Kind.SOFT), ("4.4.7", "", Kind.SOFT), ("5.5.0", "", Kind.SOFT),
    ("5.0.0", "smtp; 550 5.1.1 no such user", Kind.HARD), ("5.0.0", "smtp; 550 5.7.1 spam", Kind.SOFT),
    ("5.0.0", "smtp; 550 unknown user", Kind.HARD), ("5.0.0", "smtp; 554 rejected", Kind.SOFT),
    ("5.0.0", "", Kind.SOFT), ("", "smtp; 452 try later", Kind.SOFT),
])
def test_status_classes(status: str, diagnostic: str, kind: Kind) -> None:
    """The hard/soft rule over RFC 3463 codes, in a DSN of the simplest shape."""
    diag = f"Diagnostic-Code: {diagnostic}\n" if diagnostic else ""
    dsn = (f"From: MAILER-DAEMON@mx.example.net\nContent-Type: multipart/report; report-type=delivery-status; "
           f'boundary="b"\n\n--b\nContent-Type: text/plain\n\nfailed\n--b\nContent-Type: message/delivery-status\n\n'
           f"Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; a@example.com\nAction: failed\n"
           f"Status: {status}\n{diag}\n--b--\n").encode()
    assert classify(dsn, max_bytes=LIMIT).kind == kind


@pytest.mark.parametrize("subject", ["=?utf-8?q?R=C3=A9ponse_automatique_:_absent?=", "Out of Office: April",
                                     "=?iso-8859-1?q?Abwesenheitsnotiz?=", "AUTOMATIC REPLY: x"])
def test_auto_reply_subjects_even_encoded(subject: str) -> None:
    msg = f"From: someone@example.org\nSubject: {subject}\nMessage-ID: <a@example.org>\n\nBack soon.\n".encode()
    assert classify(msg, max_bytes=LIMIT).kind == Kind.AUTO_REPLY


# -- hostile input -------------------------------------------------------------------------------
def test_oversize_is_refused_before_parsing() -> None:
    with pytest.raises(Malformed, match="over the 10,000-byte limit"):
        classify(b"x" * 10_001, max_bytes=10_000)


@pytest.mark.parametrize("data", [
    # a report that says delivery-status but carries no recipient block
    (b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
     b"x\n--b--\n"),
    # a feedback report without its feedback part, and one without Feedback-Type
    (b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
     b"x\n--b--\n"),
    (b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\n\n--b\n'
     b"Content-Type: message/feedback-report\n\nUser-Agent: x\n--b--\n"),
    # MIME nested deeper than anyone writes, and too many parts
    b'Content-Type: multipart/mixed; boundary="a"\n\n' + b"".join(
        f'--a\nContent-Type: multipart/mixed; boundary="a{i}"\n\n'.encode() for i in range(3000)),
    (b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
     + b"--b\nContent-Type: text/plain\n\nx\n" * 800 + b"--b--\n"),
])
def test_malformed_reports_are_skipped_with_a_reason(data: bytes) -> None:
    with pytest.raises(Malformed):
        classify(data, max_bytes=LIMIT)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_classify_or_are_refused_never_crash(data: bytes) -> None:
    try:
        report = classify(data, max_bytes=LIMIT)
    except Malformed:
        return
    assert report.kind in Kind


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(EXPECTED)), st.integers(0, 20_000), st.integers(1, 400))
def test_truncated_or_damaged_samples_never_crash(name: str, cut: int, flip: int) -> None:
    data = bytearray(personalise(name))
    data = data[: min(cut, len(data))] or bytearray(b"x")
    data[len(data) // flip % len(data)] ^= 0x55
    try:
        classify(bytes(data), max_bytes=LIMIT)
    except Malformed:
        pass
