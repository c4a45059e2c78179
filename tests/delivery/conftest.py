"""Shared by the delivery tests: a project sending through a real aiosmtpd server (STARTTLS +
AUTH with a private CA), short retry settings, and a look at the ledger."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.delivery.dispatch import Summary
from newsletter.delivery.sending import SendOptions, send
from newsletter.delivery.transports import Transport
from newsletter.mail.compose import Composer

from ..conftest import add_config, write_subscribers
from ..smtp_servers import Scripted, start_aiosmtpd

ISSUE = Path("issues/2020-10.yaml")
FAST = {"defer_seconds": 0, "backoff_seconds": 0.01, "connect_retries": 3, "breaker_threshold": 3}
FAST_RETRY = "retry:\n" + "".join(f"  {k}: {v}\n" for k, v in FAST.items())


def set_retry(project: Path, **values: float) -> None:
    """Replace the `retry:` block of the project's newsletter.yaml: FAST with `values` over it."""
    cfg = project / "newsletter.yaml"
    lines, out, skipping = cfg.read_text().splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith("retry:"):
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        out.append(line)
    cfg.write_text("".join(out) + "retry:\n" + "".join(f"  {k}: {v}\n" for k, v in {**FAST, **values}.items()))


@pytest.fixture(params=["pipelining", "one-by-one"])
def smtp(request, project: Path, tls_ca, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scripted]:  # type: ignore[no-untyped-def]
    """A STARTTLS + AUTH aiosmtpd server and a project configured to use it; every test runs
    with the server offering PIPELINING (RFC 2920) and without."""
    ctx, ca_file = tls_ca
    handler = Scripted(pipelining=request.param == "pipelining")
    c = start_aiosmtpd(handler, tls=ctx, auth=("mailer", "pa55word"))
    monkeypatch.setenv("NEWSLETTER_SMTP_CA_FILE", str(ca_file))
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "pa55word")
    add_config(project, smtp_config(c.port) + FAST_RETRY)
    yield handler
    c.stop()


def smtp_config(port: int, **extra: object) -> str:
    """The `smtp:` block for a local STARTTLS + AUTH server (timeouts short for the tests)."""
    lines = [f"  {k}: {v}" for k, v in {"timeout": 5, **extra}.items()]
    return "\n".join(["smtp:", "  host: 127.0.0.1", f"  port: {port}", "  security: starttls",
                      "  username: mailer", *lines]) + "\n"


def send_issue(project: Path, n: int = 20, opts: SendOptions | None = None,
               factory: Callable[[], Transport] | None = None, topics: str = "all") -> tuple[Summary, dict[str, int]]:
    """`send` the October issue to subscribers.yaml (n readers, written if it is missing)."""
    subs = project / "subscribers.yaml"
    if not subs.exists():
        write_subscribers(project, n, topics=topics)
    composer = Composer.load(project)
    return send(composer, ISSUE, subs, opts or SendOptions(), factory)


def states(project: Path) -> dict[str, str]:
    """address → state of every delivery of the October issue."""
    db = sqlite3.connect(project / "state" / "newsletter.sqlite3")
    try:
        return dict(db.execute("SELECT email, state FROM deliveries WHERE issue='2020-10'"))
    finally:
        db.close()


def rows(project: Path) -> dict[str, tuple[str, int, int | None, str | None]]:
    """address → (state, attempts, code, reply) of every delivery of the October issue."""
    db = sqlite3.connect(project / "state" / "newsletter.sqlite3")
    try:
        return {r[0]: r[1:] for r in db.execute(
            "SELECT email, state, attempts, code, reply FROM deliveries WHERE issue='2020-10'")}
    finally:
        db.close()
