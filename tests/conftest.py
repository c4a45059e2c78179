"""Shared fixtures: a throw-away copy of the project (config, templates, example issues)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_KEYS = "t1:test-secret-key-0123456789abcdef"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project in tmp_path, which is also the working directory."""
    for name in ("newsletter.yaml", "subscribers.example.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    shutil.copytree(REPO / "issues", tmp_path / "issues")
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
