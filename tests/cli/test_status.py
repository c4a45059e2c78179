"""`newsletter status`: every campaign on one line, one campaign's story, --json (real CLI in a
subprocess, after a real `send` into the Maildir outbox)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from newsletter.store.ledger import Ledger, Reason

from .test_cli import assert_clean, cli


def test_status_before_and_after_sending(project: Path) -> None:
    result = cli(project, "status")
    assert result.returncode == 0 and result.stdout == "nothing has been sent yet\n"
    assert cli(project, "status", "--json").stdout == "[]\n"
    sent = cli(project, "send", "issues/2020-10.yaml", "--quiet")
    assert sent.returncode == 0, sent.stderr
    assert "skipped 2: 2 readers have no article on their topics this month (no_match: skip)" in sent.stdout
    ledger = Ledger(project / "state" / "newsletter.sqlite3")
    ledger.suppress("eli@example.org", Reason.UNSUBSCRIBED, "web")  # Eli unsubscribed after reading it
    ledger.close()

    listing = cli(project, "status")
    assert_clean(listing)
    assert re.fullmatch(r"2020-10  finished \d{4}-\d\d-\d\d \d\d:\d\d [+-]\d{4}  sent 4, skipped 2  "
                        r'"Practice Research Digest: October 2020"\n', listing.stdout), listing.stdout

    story = cli(project, "status", "issues/2020-10.yaml")
    assert_clean(story)
    lines = story.stdout.splitlines()
    assert lines[0] == "issue 2020-10: Practice Research Digest: October 2020"
    assert lines[1] == "  list      subscribers.example.yaml"
    assert re.fullmatch(r"  started   \S+ \S+ \S+ \(Date: .+\)", lines[2])
    assert re.search(r"^    sent +4\n    skipped +2\n  since the send:\n    bounced: hard \(suppressed\) +0\n"
                     r"    bounced: soft +0\n    complained \(unsubscribed\) +0\n    unsubscribed on the web page +1$",
                     story.stdout, re.MULTILINE), story.stdout

    data = json.loads(cli(project, "status", "2020-10", "--json").stdout)
    assert data["issue"] == "2020-10" and data["list_file"] == "subscribers.example.yaml"
    assert data["states"]["sent"] == 4 and data["since_send"]["unsubscribed"] == 1 and data["recipients"] == []
    everything = json.loads(cli(project, "status", "--json").stdout)
    assert [c["issue"] for c in everything] == ["2020-10"]

    missing = cli(project, "status", "2020-12")
    assert missing.returncode == 2
    assert missing.stderr == "issue 2020-12 has not been sent yet (`newsletter status` lists the campaigns)\n"
