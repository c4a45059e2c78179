"""Ctrl-C and SIGTERM, as a user (or systemd, or docker) sends them to the real CLI: a graceful
stop at any moment, every outcome recorded, the summary true, exit 130 with the command that
resumes; a bare `newsletter send` resumes the unfinished campaign."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import add_config, write_subscribers
from ..smtp_servers import Scripted, wait_for
from .conftest import rows


def _cli(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "newsletter.cli", *args], cwd=project, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())


def _send(project: Path, *args: str) -> subprocess.Popen[str]:
    return _cli(project, "send", "issues/2020-10.yaml", "--quiet", "--subscribers", "subscribers.yaml", *args)


def _in_state(project: Path, state: str) -> int:
    try:
        db = sqlite3.connect(f"file:{project / 'state' / 'newsletter.sqlite3'}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return 0
    try:
        return int(db.execute("SELECT COUNT(*) FROM deliveries WHERE state=?", (state,)).fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


RESUME = "Resume with: newsletter send issues/2020-10.yaml --subscribers subscribers.yaml"


@pytest.mark.parametrize("slow,grace,signals,in_flight", [
    # the transactions in flight finish within the grace period: delivered, recorded
    ("every reply", 10, 1, "sent"),
    # the grace period ends while the replies to the end of the message are awaited: unknown
    ("end of data", 0.3, 1, "unknown"),
    # it ends before the message was sent: not delivered, pending, its attempt not counted
    ("MAIL", 0.3, 1, "pending"),
    # a second signal does not wait for the grace period
    ("end of data", 30, 2, "unknown"),
])
def test_sigterm_stops_gracefully(project: Path, smtp: Scripted, slow: str, grace: float, signals: int,
                                  in_flight: str) -> None:
    write_subscribers(project, 8)
    add_config(project, f"grace_seconds: {grace}\nconnections: 4\n")
    if slow == "every reply":
        smtp.reply_delay, smtp.delay = 0.3, 0.3
    elif slow == "end of data":
        smtp.delay = 4
    else:
        smtp.reply_delay = 4
    p = _send(project)
    wait_for(lambda: _in_state(project, "sending") >= 4, 60)
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    if signals == 2:
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=60)
    took = time.monotonic() - stopped
    assert p.returncode == 130, err
    assert "Traceback" not in err and "interrupted by SIGTERM" in err and RESUME in err
    got = rows(project)
    states = sorted(r[0] for r in got.values())
    assert states == sorted([in_flight] * 4 + ["pending"] * 4), got
    n = {s: states.count(s) for s in ("sent", "unknown")}
    assert f"sent {n['sent']}, deferred 0, failed 0, unknown {n['unknown']}," in err  # the summary is true
    if in_flight == "sent":
        assert len(smtp.received) == 4
    else:
        assert took < 3  # the grace period (or the second signal), not the server's 4 s
    if in_flight == "pending":
        assert all(r[1] == 0 for r in got.values())  # cut short by us: nobody's attempt
    if in_flight == "sent":  # the resume finishes the job, nobody twice
        smtp.reply_delay = smtp.delay = 0
        p = _send(project)
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert sorted(smtp.counts().values()) == [1] * 8


def _handles_sigterm(pid: int) -> bool:
    """The process has installed its SIGTERM handler (Linux: bit 15 of SigCgt)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return bool(caught and int(caught.group(1), 16) & (1 << (signal.SIGTERM - 1)))


@pytest.mark.parametrize("after", [0.0, 0.5])
def test_sigterm_during_preflight_is_a_clean_stop(project: Path, smtp: Scripted, after: float) -> None:
    """From the moment the program runs (before that, only the interpreter exists) until the
    first message: exit 130, nothing recorded wrongly, nothing sent. The relay's slow EHLO (the
    pre-flight's last step) keeps the run before its first message however fast the machine is."""
    write_subscribers(project, 5)
    smtp.ehlo_delay = 3.0
    p = _send(project)
    wait_for(lambda: _handles_sigterm(p.pid), 30)
    time.sleep(after)
    p.send_signal(signal.SIGTERM)
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)  # never killed by the signal (-15)
    assert "Traceback" not in err and "interrupted" in err
    assert not [c for c in smtp.commands if c.startswith("MAIL")]
    assert _in_state(project, "sending") == _in_state(project, "sent") == 0  # (the file may have no tables yet)
    if after:
        smtp.ehlo_delay = 0.0
        p = _send(project)
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert sorted(smtp.counts().values()) == [1] * 5


def test_bare_send_resumes_the_unfinished_campaign_with_its_list(project: Path, smtp: Scripted) -> None:
    write_subscribers(project, 6, name="readers.yaml")
    smtp.mail_nth[3] = "553 5.7.1 <digest@news.example.org>: sender address rejected"
    p = _cli(project, "send", "issues/2020-10.yaml", "--quiet", "--subscribers", "readers.yaml", "--connections", "1")
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 4, err
    smtp.mail_nth.clear()
    p = _cli(project, "send", "--quiet")  # no issue, no list: the unfinished campaign, its list
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert re.search(r"resuming the unfinished campaign of issue 2020-10 \(issues/2020-10\.yaml to readers\.yaml\)",
                     err), err
    assert sorted(smtp.counts().values()) == [1] * 6


def test_bare_send_names_the_unfinished_campaigns_when_there_are_several(project: Path, smtp: Scripted) -> None:
    write_subscribers(project, 3)
    smtp.mail_nth.update({1: "553 5.7.1 sender address rejected", 2: "553 5.7.1 sender address rejected"})
    for issue in ("issues/2020-10.yaml", "issues/2020-12.yaml"):
        p = _cli(project, "send", issue, "--quiet", "--subscribers", "subscribers.yaml", "--connections", "1")
        p.communicate(timeout=60)
        assert p.returncode == 4
    p = _cli(project, "send", "--quiet")
    _out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "several campaigns are unfinished" in err
    for issue in ("2020-10", "2020-12"):
        assert f"newsletter send issues/{issue}.yaml --subscribers subscribers.yaml" in err
    assert not smtp.received
