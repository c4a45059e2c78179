"""`newsletter new`: the next month's issue file, never over an existing one."""

from __future__ import annotations

from pathlib import Path

from .test_cli import assert_clean, cli


def test_new_issue_then_check_lists_what_is_left(project: Path) -> None:
    result = cli(project, "new")
    assert_clean(result)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("wrote issues/2021-05.yaml: 13 values to fill in (`newsletter check "
                             "issues/2021-05.yaml` lists them); watch it as you write with `newsletter "
                             "preview issues/2021-05.yaml`\n")
    check = cli(project, "check", "issues/2021-05.yaml", "--no-subscribers")
    assert check.returncode == 2
    assert check.stderr.splitlines()[0] == "issues/2021-05.yaml:7:8: intro: must not be empty"
    assert check.stderr.splitlines()[-1] == "13 problems found; nothing was sent"

    again = cli(project, "new", "2021-05")
    assert again.returncode == 2
    assert again.stderr == ("issues/2021-05.yaml: already exists; not overwritten (edit it, or choose "
                                 "another month: newsletter new YYYY-MM)\n")
    assert cli(project, "new", "2030-01").returncode == 0
    assert (project / "issues" / "2030-01.yaml").read_text().startswith("# The issue of 2030-01.")
    assert cli(project, "new").stdout.startswith("wrote issues/2030-02.yaml")
