"""The code stays ruff-clean and `mypy --strict` clean (versions pinned by requirements.lock)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("cmd", [
    ["ruff", "check", "--no-cache", "newsletter", "tests", "bench", "tools"],
    ["mypy", "--no-incremental", "newsletter"],
], ids=["ruff", "mypy"])
def test_clean(cmd: list[str]) -> None:
    r = subprocess.run([sys.executable, "-m", *cmd], cwd=REPO, capture_output=True, text=True,
                       timeout=600, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
