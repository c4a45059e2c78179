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
    from newsletter.config import load_settings

    return load_settings(project)


@pytest.fixture
def composer(project: Path):  # type: ignore[no-untyped-def]
    from newsletter.compose import Composer

    return Composer.load(project)
