"""progress: plain lines when not on a terminal (CI, logs), with a final count."""

from __future__ import annotations

import io

from newsletter.cli.progress import Progress


def test_plain_lines_off_a_terminal() -> None:
    out = io.StringIO()
    p = Progress(out)
    p.start(3)
    for state in ("sent", "deferred", "sent"):
        p.update(state)
    p.finish()
    text = out.getvalue()
    assert text.startswith("sending to 3 recipients")
    assert "3/3 sent 2 deferred 1 failed 0 unknown 0" in text.splitlines()[-1]


def test_quiet_prints_nothing() -> None:
    out = io.StringIO()
    p = Progress(out, quiet=True)
    p.start(2)
    p.update("sent")
    assert out.getvalue() == ""
