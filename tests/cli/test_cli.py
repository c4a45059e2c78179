"""The command line, run as a user runs it: a subprocess in the project folder."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent.parent / "cases"
LOCATED = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<col>\d+): ")


def cli(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsletter.cli", *args], cwd=project,
                          capture_output=True, text=True, timeout=timeout, check=False)


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_check_examples(project: Path) -> None:
    result = cli(project, "check")
    assert_clean(result)
    assert result.returncode == 0, result.stderr
    for name in ("2020-10", "2020-12", "2021-04"):
        assert re.search(rf"^issues/{name}\.yaml: ok \(\d articles, \d+ variants rendered and checked\)$",
                         result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"subscribers\.example\.yaml: ok \(6 subscribers\)$", result.stdout, re.MULTILINE)
    # warnings do not fail the check: the examples' real articles that have no DOI or URL, and the
    # example DOIs that were never looked up (no references/ in the test site)
    looked_up = [ln for ln in result.stderr.splitlines() if "has not been looked up yet" in ln]
    assert [ln.split(": warning: ")[0] for ln in looked_up] == [
        "issues/2020-10.yaml:31:10", "issues/2020-12.yaml:12:10", "issues/2020-12.yaml:37:10",
        "issues/2020-12.yaml:62:10"]
    assert [ln for ln in result.stderr.splitlines() if ln not in looked_up] == [
        f"issues/{where}: warning: articles[{i}]: has neither doi nor url: readers get no link to the "
        "paper (add its DOI, or a url if it has none)"
        for where, i in [("2020-10.yaml:7:5", 0), ("2020-10.yaml:52:5", 2), ("2021-04.yaml:7:5", 0),
                         ("2021-04.yaml:31:5", 1)]]
    assert not (project / "state").exists() or not any((project / "state").rglob("*.sqlite3"))


def test_check_broken_issue(project: Path) -> None:
    case = CASES / "38-many-problems"
    shutil.copyfile(case / "2020-10.yaml", project / "issues" / "2020-10.yaml")
    expected = (case / "expected.txt").read_text(encoding="utf-8").replace("{path}", "issues/2020-10.yaml")
    result = cli(project, "check")
    assert_clean(result)
    assert result.returncode == 2
    # (the untouched 2021-04 example only adds its warnings about articles without a DOI, and
    # 2020-12 those about DOIs never looked up)
    lines = [ln for ln in result.stderr.splitlines()
             if not ln.startswith("issues/2021-04.yaml:") and "has not been looked up yet" not in ln]
    assert lines[:-1] == expected.splitlines()  # every problem, in file order
    assert lines[-1] == f"{len(expected.splitlines())} problems found; nothing was sent"
    for line in lines[:-1]:
        m = LOCATED.match(line)
        assert m and m["path"] == "issues/2020-10.yaml" and int(m["line"]) > 0 and int(m["col"]) > 0
    # the other issues are still checked
    assert "issues/2020-12.yaml: ok" in result.stdout and "issues/2020-10.yaml: ok" not in result.stdout


def test_check_several_broken_files_at_once(project: Path) -> None:
    for name, case in [("2020-10.yaml", "13-billion-laughs"), ("2020-12.yaml", "17-latin1-bytes")]:
        shutil.copyfile(CASES / case / "2020-10.yaml", project / "issues" / name)
    (project / "subscribers.example.yaml").write_text("- email: a..b@example.org\n", encoding="utf-8")
    result = cli(project, "check")
    assert_clean(result)
    assert result.returncode == 2
    located = [line for line in result.stderr.splitlines() if LOCATED.match(line) and ": warning: " not in line]
    assert [LOCATED.match(line)["path"] for line in located] == [  # type: ignore[index]
        "issues/2020-10.yaml", "issues/2020-12.yaml", "subscribers.example.yaml"]
    assert located[0].endswith(":2:7: YAML anchors (&a0) are not allowed")
    assert located[1].endswith(":9:11: not valid UTF-8 (byte 0xe9 at offset 168); save the file as UTF-8")
    assert located[2].endswith(":1:10: [0].email: invalid e-mail address 'a..b@example.org': "
                               "An email address cannot have two periods in a row.")
    assert result.stderr.splitlines()[-1] == "3 problems found; nothing was sent"


def test_check_one_named_file(project: Path) -> None:
    shutil.copyfile(CASES / "20-unknown-key-tittle" / "2020-10.yaml", project / "issues" / "2020-10.yaml")
    result = cli(project, "check", "issues/2020-12.yaml", "--no-subscribers")
    assert_clean(result)
    assert result.returncode == 0 and result.stdout.startswith("issues/2020-12.yaml: ok")
    result = cli(project, "check", "issues/2020-10.yaml", "--no-subscribers")
    assert result.returncode == 2
    assert "issues/2020-10.yaml:6:5: articles[0].tittle: unknown key 'tittle' (did you mean 'title'?)" in (
        result.stderr.splitlines())


def test_check_missing_file_and_warnings(project: Path) -> None:
    result = cli(project, "check", "issues/2099-01.yaml", "--no-subscribers")
    assert_clean(result)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "issues/2099-01.yaml:1:1: no such file"
    # warnings are printed but do not fail the run
    text = (project / "issues" / "2021-04.yaml").read_text(encoding="utf-8")
    first_article_end = text.index("\n  - title:", text.index("articles:") + 12)
    (project / "issues" / "2021-04.yaml").write_text(text[:first_article_end] + "\n", encoding="utf-8")
    result = cli(project, "check", "issues/2021-04.yaml", "--no-subscribers")
    assert_clean(result)
    assert result.returncode == 0, result.stderr
    assert "warning: articles: has 1 article(s)" in result.stderr


def test_render_writes_html_text_and_eml(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    result = cli(project, "render", "issues/2020-10.yaml", "--out", str(out))
    assert_clean(result)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["2020-10.eml", "2020-10.html", "2020-10.txt"]
    html = (out / "2020-10.html").read_text(encoding="utf-8")
    text = (out / "2020-10.txt").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and "Practice implications" in html
    assert "Physiological Synchronization in the Psychotherapy Relationship\n=====" in text
    msg = email.message_from_bytes((out / "2020-10.eml").read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Practice Research Digest: October 2020"
    assert msg["List-Id"] and "digest.news.example.org" in msg["List-Id"]
    assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
    assert f"wrote {out / '2020-10'}.html, .txt and .eml (3 of 3 articles)" in result.stdout


def test_render_newest_by_default(project: Path, tmp_path: Path) -> None:
    result = cli(project, "render", "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "2021-04.eml").is_file()


def test_render_for_topics(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = cli(project, "render", "issues/2020-12.yaml", "--topics", "cbt", "--out", str(out))
    assert_clean(result)
    assert result.returncode == 0, result.stderr
    assert "(1 of 3 articles)" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "2020-12-personal.eml", "2020-12-personal.html", "2020-12-personal.txt"]
    # labels work as well as slugs, case-insensitively
    result = cli(project, "render", "issues/2020-12.yaml", "--topics",
                 "cbt, ANXIETY DISORDERS", "--out", str(out))
    assert result.returncode == 0 and "(2 of 3 articles)" in result.stdout


def test_render_for_topics_without_any_article(project: Path, tmp_path: Path) -> None:
    result = cli(project, "render", "issues/2020-10.yaml", "--topics", "cbt", "--out", str(tmp_path / "o"))
    assert_clean(result)
    assert result.returncode == 2
    assert result.stderr.strip() == "--topics: a reader of cbt gets no article of this issue (no_match is 'skip')"
    assert not (tmp_path / "o").exists()


def test_render_unknown_topic(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = cli(project, "render", "issues/2020-12.yaml", "--topics", "cbtt,group", "--out", str(out))
    assert_clean(result)
    assert result.returncode == 2
    assert result.stderr.strip() == "--topics: unknown topic 'cbtt' (did you mean 'cbt'?)"
    assert not out.exists()


def test_render_as_subscriber(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = cli(project, "render", "issues/2020-12.yaml", "--as", "ANA.Researcher@Example.org",
                 "--out", str(out))
    assert_clean(result)
    assert result.returncode == 0, result.stderr
    msg = email.message_from_bytes((out / "2020-12-personal.eml").read_bytes(), policy=email.policy.default)
    assert msg["To"].addresses[0].addr_spec == "ana.researcher@example.org"
    assert msg["To"].addresses[0].display_name == "Ana Researcher"
    body = msg.get_body(("plain",))
    assert body is not None and "Ana" in body.get_content()


def test_render_as_unknown_or_invalid(project: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    result = cli(project, "render", "issues/2020-12.yaml", "--as", "nobody@example.org", "--out", out)
    assert_clean(result)
    assert result.returncode == 2
    assert result.stderr.strip() == "--as: nobody@example.org is not in subscribers.example.yaml"
    result = cli(project, "render", "issues/2020-12.yaml", "--as", "a..b@example.org", "--out", out)
    assert_clean(result)
    assert result.returncode == 2 and result.stderr.startswith("--as: invalid e-mail address")


def test_render_broken_issue(project: Path, tmp_path: Path) -> None:
    shutil.copyfile(CASES / "11-python-object-tag" / "2020-10.yaml", project / "issues" / "2020-10.yaml")
    result = cli(project, "render", "issues/2020-10.yaml", "--out", str(tmp_path / "o"))
    assert_clean(result)
    assert result.returncode == 2
    assert result.stderr == "issues/2020-10.yaml:5:12: unsupported YAML tag !!python/object/apply:os.system\n"
    assert not (tmp_path / "o").exists()
    assert not Path("/tmp/pwned").exists()


def test_broken_config(project: Path) -> None:
    text = (project / "newsletter.yaml").read_text(encoding="utf-8")
    (project / "newsletter.yaml").write_text(text.replace("https://news", "http://news"), encoding="utf-8")
    result = cli(project, "check")
    assert_clean(result)
    assert result.returncode == 2
    assert re.fullmatch(r"newsletter\.yaml:\d+:11: base_url: URL must start with https://, "
                        r"got 'http://news\.example\.org'\n", result.stderr)


def test_usage_errors(project: Path) -> None:
    result = cli(project)
    assert_clean(result)
    assert result.returncode == 2 and "usage:" in result.stderr
    result = cli(project, "render", "--as", "a@example.org", "--topics", "cbt")
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


# --- help and flag values -----------------------------------------------------------------------

def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from newsletter.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help, or a usage error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_every_help_shows_an_example(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsletter.cli.main import COMMANDS

    code, out, _ = _run(["--help"], capsys)
    assert code == 0 and "newsletter new " in out and "newsletter send-test --to me@example.org" in out
    for command in [[name] for name in COMMANDS] + [["subscribers", "export"], ["site", "build"]]:
        code, out, _ = _run([*command, "--help"], capsys)
        assert code == 0, command
        block = out[out.index("examples:"):]
        assert re.search(rf"^  newsletter {' '.join(command)}\b", block, re.MULTILINE), (command, out)


@pytest.mark.parametrize("argv, message", [
    (["send", "--connections", "x"], "argument --connections: 'x' is not a whole number from 1 to 64"),
    (["send", "--connections", "0"], "argument --connections: '0' is not a whole number from 1 to 64"),
    (["send", "--connections", "65"], "argument --connections: '65' is not a whole number from 1 to 64"),
    (["preview", "--port", "99999"], "argument --port: '99999' is not a port number from 0 to 65535"),
    (["preview", "--port", "http"], "argument --port: 'http' is not a port number from 0 to 65535"),
    (["serve", "--port", "0"], "argument --port: '0' is not a port number from 1 to 65535"),
    (["send", "--subscribers", "nope.yaml"], "argument --subscribers: 'nope.yaml': no such file"),
    (["check", "--subscribers", "issues"], "argument --subscribers: 'issues' is not a file"),
    (["render", "--subscribers", "nope.yaml", "--as", "eli@example.org"],
     "argument --subscribers: 'nope.yaml': no such file"),
    (["new", "2026-13"], "MONTH: '2026-13' is not a month (expected YYYY-MM, e.g. "),
    (["check", "--online", "--timeout", "0"], "argument --timeout: '0' is not a number of seconds from 0.1 to 600"),
    (["cite", "10.1037/x", "--timeout", "soon"],
     "argument --timeout: 'soon' is not a number of seconds from 0.1 to 600"),
    (["new", "December"], "MONTH: 'December' is not a month (expected YYYY-MM, e.g. "),
    (["render", "--topics", "cognitive therapy"],
     "--topics: unknown topic 'cognitive therapy' (did you mean 'cbt'?)"),
    (["send-test", "--to", "me@@example.org"], "--to: invalid e-mail address 'me@@example.org'"),
    (["send-test", "--to", "me@example.org", "--as", "farah@example.com"],
     ("--as: farah@example.com receives nothing this month: no article of this issue is on their topics "
      "(no_match: skip); --full sends the whole issue anyway")),
    (["send-test", "--to", "me@example.org", "--topics", "personality-disorders"],
     "--topics: a reader of personality-disorders receives nothing this month"),
    (["render", "--as", "farah@example.com"], "--as: farah@example.com gets no article of this issue"),
    (["status", "2019-01"], "nothing has been sent yet"),
])
def test_wrong_flag_values_name_the_flag_and_what_is_valid(argv: list[str], message: str, project: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(argv, capsys)
    assert code == 2, (code, err)
    assert message in err, err
    assert "Traceback" not in err and not (project / "outbox").exists()
