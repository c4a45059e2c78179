"""README's exit-code table is exactly what the code does: one table of cases, each the real CLI
in a subprocess against a real server where it needs one, covers every documented code; exit 1
is left to bugs (no expected error has it)."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import newsletter
from newsletter.errors import NewsletterError

from .conftest import REPO, TEST_KEYS, add_config, make_site, write_subscribers
from .smtp_servers import Scripted, free_port, start_aiosmtpd, wait_for


def readme_codes() -> dict[int, str]:
    """code → meaning, from the table in README.md."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| (.+?) \|$", text, re.MULTILINE)}


@dataclass
class Env:
    """What a case may use: its own site, servers that live as long as the test, the
    environment of its process, and a signal to send it once it runs."""

    site: Path
    stack: ExitStack
    tls: ssl.SSLContext
    env: dict[str, str] = field(default_factory=dict)
    signal: signal.Signals | None = None

    def relay(self, handler: Scripted, *, size_limit: int | None = None, password: str = "pa55word") -> None:
        """Point the site at a STARTTLS + AUTH aiosmtpd server running `handler`."""
        c = start_aiosmtpd(handler, tls=self.tls, auth=("mailer", "pa55word"), size_limit=size_limit)
        self.stack.callback(c.stop)
        self.env["NEWSLETTER_SMTP_PASSWORD"] = password
        add_config(self.site, f"smtp:\n  host: 127.0.0.1\n  port: {c.port}\n  security: starttls\n  timeout: 5\n"
                   "  username: mailer\nretry:\n  defer_seconds: 0\n  backoff_seconds: 0.01\n  connect_retries: 2\n")


def _send(*extra: str) -> list[str]:
    return ["send", "issues/2020-10.yaml", "--quiet", "--subscribers", "subscribers.yaml", *extra]


def _test_to(to: str = "author@example.org") -> list[str]:
    return ["send-test", "issues/2020-10.yaml", "--to", to]


def _done(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    return _send()


def _broken_issue(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    (e.site / "issues" / "2020-10.yaml").write_text("month: [2020-10\n")
    return _send()


def _over_size(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    e.relay(Scripted(), size_limit=5000)
    return _send()


def _test_refused(reply: str, where: str = "rcpt") -> Callable[[Env], list[str]]:
    def case(e: Env) -> list[str]:
        e.relay(Scripted(**{where: {"*": [reply]}}))
        return _test_to()
    return case


def _not_sent(e: Env) -> list[str]:
    return ["status", "2020-10"]


def _unreachable(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    add_config(e.site, f"smtp:\n  host: 127.0.0.1\n  port: {free_port()}\n  security: starttls\n"
                       "retry:\n  backoff_seconds: 0.01\n  connect_retries: 2\n")
    return _send()


def _deferred(e: Env) -> list[str]:
    write_subscribers(e.site, 2)
    e.relay(Scripted(rcpt={"*": ["451 4.7.1 greylisted, come back later"] * 4}))
    return _send()


def _bad_password(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    e.relay(Scripted(), password="not-it")
    return _send()


def _empty_password(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    e.relay(Scripted(), password="")
    return _send()


def _locked(e: Env) -> list[str]:
    from newsletter.delivery.sending import campaign_lock

    write_subscribers(e.site, 3)
    e.stack.enter_context(campaign_lock(e.site / "state", "2020-10"))
    return _send()


def _state_unwritable(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    (e.site / "blocker").write_text("a file, not a folder\n")
    add_config(e.site, "state_db: blocker/newsletter.sqlite3\n")
    return _send()


def _content_changed(e: Env) -> list[str]:
    from newsletter.delivery.sending import SendOptions, send
    from newsletter.mail.compose import Composer

    write_subscribers(e.site, 3)
    handler = Scripted(rcpt={"reader00001@example.org": ["451 4.7.1 greylisted"]})
    e.relay(handler)
    os.environ.update(e.env)  # the first run, in this process, sets the campaign up (restored after)
    send(Composer.load(e.site), e.site / "issues/2020-10.yaml", e.site / "subscribers.yaml", SendOptions())
    issue = e.site / "issues" / "2020-10.yaml"
    issue.write_text(issue.read_text().replace("This month", "This month, revised,"))
    return _send()


def _registries_down(e: Env) -> list[str]:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens
    e.env.update(NEWSLETTER_CROSSREF_URL=url, NEWSLETTER_DOI_URL=url)
    return ["check", "--online", "--no-subscribers", "--timeout", "2"]


def _interrupted(e: Env) -> list[str]:
    write_subscribers(e.site, 3)
    e.signal = signal.SIGTERM
    return _send()


# (code, what, how to get there, a word the message must contain)
CASES: list[tuple[int, str, Callable[[Env], list[str]], str]] = [
    (0, "sent to the outbox", _done, "sent 3"),
    (2, "broken issue", _broken_issue, "issues/2020-10.yaml:2:1: YAML syntax error"),
    (2, "a message over the relay's SIZE", _over_size, "(SIZE)"),
    (2, "send-test: the address refused", _test_refused("553 5.1.3 bad address syntax"), "553 5.1.3"),
    (2, "send-test: the message too large", _test_refused("552 5.3.4 message too big", "data"), "552 5.3.4"),
    (2, "status of an issue never sent", _not_sent, "nothing has been sent"),
    (3, "relay unreachable", _unreachable, "no connection to the relay worked"),
    (3, "recipients still deferred", _deferred, "still to do"),
    (3, "send-test deferred", _test_refused("451 4.7.1 greylisted"), "try again later"),
    (4, "authentication refused", _bad_password, "535"),
    (4, "password variable empty", _empty_password, "NEWSLETTER_SMTP_PASSWORD"),
    (4, "send-test refused by policy", _test_refused("550 5.7.26 unauthenticated", "data"), "5.7.26"),
    (5, "already being sent", _locked, "already being sent"),
    (6, "state database cannot be written", _state_unwritable, "blocker/send-2020-10.lock: cannot create"),
    (7, "DOI registries unreachable", _registries_down, "could not check"),
    (8, "content changed since the campaign began", _content_changed, "--force"),
    (130, "SIGTERM during pre-flight", _interrupted, "interrupted"),
]


@pytest.fixture
def envs(tmp_path: Path, tls_ca, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Env]]:  # type: ignore[no-untyped-def]
    ctx, ca_file = tls_ca
    monkeypatch.setenv("NEWSLETTER_TOKEN_KEYS", TEST_KEYS)
    monkeypatch.setenv("NEWSLETTER_SMTP_CA_FILE", str(ca_file))
    monkeypatch.delenv("NEWSLETTER_SMTP_PASSWORD", raising=False)
    saved = dict(os.environ)
    with ExitStack() as stack:
        yield lambda name: Env(make_site(tmp_path / name), stack, ctx)
    os.environ.clear()
    os.environ.update(saved)


def test_every_exit_code_is_what_readme_says(envs: Callable[[str], Env]) -> None:
    documented = readme_codes()
    assert {code for code, *_ in CASES} | {1} == set(documented), "a documented code without a case, or the reverse"
    runs = []
    for i, (code, what, setup, word) in enumerate(CASES):  # all at once: each is mostly start-up
        e = envs(f"case{i}")
        args = setup(e)
        p = subprocess.Popen([sys.executable, "-m", "newsletter.cli", *args], cwd=e.site, text=True,
                             env={**os.environ, **e.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        runs.append((code, what, word, e, p))
    for *_, e, p in runs:
        if e.signal is not None:  # as soon as the program runs, well before its first message
            wait_for(lambda p=p: _handles_sigterm(p.pid), 30)
            time.sleep(0.3)
            p.send_signal(e.signal)
    wrong = []
    for code, what, word, e, p in runs:
        out, err = p.communicate(timeout=120)
        if p.returncode != code or word not in out + err or "Traceback" in out + err:
            wrong.append(f"{what}: exit {p.returncode} (README: {code} {documented.get(code)!r})\n{err}{out}")
    assert not wrong, "\n".join(wrong)


def _handles_sigterm(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return bool(caught and int(caught.group(1), 16) & (1 << (signal.SIGTERM - 1)))


def _modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(newsletter.__path__, "newsletter.") if not m.name.endswith("__main__")]


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_expected_error_exits_1() -> None:
    """Every kind of expected error has a documented code other than 1, and none is raised as
    the bare root (which would exit 1, the code of a bug)."""
    for name in _modules():
        importlib.import_module(name)
    documented = set(readme_codes()) - {0, 1}
    for cls in _subclasses(NewsletterError):
        assert cls.exit_code in documented, f"{cls.__module__}.{cls.__name__} exits {cls.exit_code}"
    bare = []
    for path in Path(newsletter.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "NewsletterError":
                bare.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not bare, f"raise a subclass with its own exit code instead: {bare}"
