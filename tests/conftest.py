"""Shared fixtures: a throw-away site (config, templates, example issues) in a temporary folder.

The site comes from `tests/fixtures/site/` (a frozen copy of the examples) plus the project's
templates, never from the author's own `issues/`, `newsletter.yaml` or subscriber files: what the
author writes next month must not change a test result.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SITE = Path(__file__).resolve().parent / "fixtures" / "site"
TEST_KEYS = "t1:test-secret-key-0123456789abcdef"


def make_site(where: Path) -> Path:
    """Lay a test site into `where`: tests/fixtures/site/* and the project's templates/."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SITE, where, dirs_exist_ok=True)
    shutil.copytree(REPO / "templates", where / "templates")
    return where


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site in tmp_path (fixture config, issues and list; the project's templates), which is
    also the working directory."""
    make_site(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSLETTER_TOKEN_KEYS", TEST_KEYS)
    return tmp_path


@pytest.fixture
def settings(project: Path):  # type: ignore[no-untyped-def]
    from newsletter.content.config import load_settings

    return load_settings(project)


@pytest.fixture
def composer(project: Path):  # type: ignore[no-untyped-def]
    from newsletter.mail.compose import Composer

    return Composer.load(project)


def add_config(project: Path, text: str) -> None:
    """Append top-level keys (YAML text) to the project's newsletter.yaml."""
    cfg = project / "newsletter.yaml"
    cfg.write_text(cfg.read_text() + "\n" + text.strip() + "\n")


def write_subscribers(project: Path, n: int, *, name: str = "subscribers.yaml",
                      topics: str = "all", extra: str = "") -> Path:
    path = project / name
    lines = [f"- email: reader{i:05d}@example.org\n  name: Reader {i}\n  topics: {topics}\n" for i in range(n)]
    path.write_text("".join(lines) + extra)
    return path


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A private CA and a server certificate for 127.0.0.1 / localhost (trustme)."""
    import ssl

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_ctx, ca_file


@pytest.fixture(scope="session")
def registry_server() -> Iterator[object]:
    """One loopback HTTP server for the fake DOI registries (tests/fake_registry.py)."""
    from tests.fake_registry import start_server

    yield from start_server()


@pytest.fixture
def fake_registry(registry_server):  # type: ignore[no-untyped-def]
    """A fake Crossref + doi.org with no records yet and no faults queued."""
    from tests.fake_registry import FakeRegistry

    registry_server.clear()
    yield FakeRegistry(registry_server)
    registry_server.clear()


# -- hermeticity: no test opens the author's own content or output -------------------------------
_AUTHOR_FILES = tuple(str(REPO / name) for name in ("issues", "newsletter.yaml", "outbox", "state"))
_touched: list[str] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and args and isinstance(args[0], str | Path):
        path = os.path.abspath(os.fspath(args[0]))
        if path.startswith(_AUTHOR_FILES) or (
                os.path.dirname(path) == str(REPO) and os.path.basename(path).startswith("subscribers")):
            _touched.append(path)


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _hermetic() -> Iterator[None]:
    """Fail any test that opened the author's issues/, newsletter.yaml, subscriber files, outbox/
    or state/ (an audit hook sees every open() in this process; subprocesses run in the test's
    own site)."""
    _touched.clear()
    yield
    touched, _touched[:] = sorted(set(_touched)), []
    assert not touched, f"test opened the author's files: {touched}"


# -- a real IMAP/POP3 server (Dovecot) for the bounce mailbox ------------------------------------
@pytest.fixture(scope="session")
def dovecot_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Debian's Dovecot on free loopback ports (IMAPS, POP3S) with its own CA; yields
    (server, ca_file). Skips, saying why, only when Dovecot truly cannot start."""
    import trustme

    from tests.mailboxes import start_dovecot

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    try:
        server = start_dovecot(b"".join(p.bytes() for p in cert.cert_chain_pems), cert.private_key_pem.bytes())
    except RuntimeError as exc:
        pytest.skip(f"Dovecot cannot start here: {exc}")
    ca_file = tmp_path_factory.mktemp("mailbox-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    yield server, ca_file
    server.stop()


@pytest.fixture
def mailbox(dovecot_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An empty bounce mailbox on the Dovecot server, its credentials and CA in the environment."""
    from tests.mailboxes import Mailbox

    server, ca_file = dovecot_server
    for k, v in server.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("NEWSLETTER_BOUNCES_CA_FILE", str(ca_file))
    box = Mailbox(server, ca_file)
    box.empty()
    return box
