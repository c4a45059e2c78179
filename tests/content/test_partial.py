"""A YAML syntax error does not hide the other problems of the file: the lines before it are
checked, and nothing the cut itself breaks is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.content.issue import read_issue

SITE_ISSUES = Path(__file__).resolve().parent.parent / "fixtures" / "site" / "issues"
# ways of breaking a line: a flow list left open, a tab, a quote left open, a stray key
BREAKS = ["    zz: [group, cbt", "\tzz: text", '  - zz: "Unfinished', "  zz: b: c"]


def messages(path: Path, settings) -> list[str]:  # type: ignore[no-untyped-def]
    _, reader = read_issue(path, settings)
    return [f"{p.line}:{p.col}: {'warning: ' if p.severity == 'warning' else ''}{p.field + ': ' if p.field else ''}"
            f"{p.message}" for p in reader.problems]


@pytest.mark.parametrize("name", ["2020-10", "2020-12", "2021-04"])
def test_a_syntax_error_anywhere_in_a_good_file_is_the_only_new_problem(name: str, project: Path,
                                                                        settings) -> None:  # type: ignore[no-untyped-def]
    """Whatever line of a valid issue a syntax error is written on, the checked prefix adds no
    problem of its own (an open article missing its summary, an empty last value, too few
    articles): the cut is never mistaken for the author's mistake. (The file's own warnings
    before the error are still reported, at the same place.)"""
    lines = (SITE_ISSUES / f"{name}.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    path = project / "issues" / f"{name}.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    own = set(messages(path, settings))
    assert not any("warning" not in m for m in own), own  # the example has warnings only
    tried = 0
    for i in range(len(lines)):
        for bad in BREAKS:
            path.write_text("".join(lines[:i]) + bad + "\n" + "".join(lines[i:]), encoding="utf-8")
            found = messages(path, settings)
            syntax = [m for m in found if "YAML syntax error" in m]
            if not syntax:
                continue  # this break happens to be valid YAML here (e.g. inside a block of text)
            tried += 1
            assert len(syntax) == 1 and syntax[0].endswith("could be checked"), found
            assert set(found) - set(syntax) <= own, (i + 1, bad, sorted(set(found) - set(syntax) - own))
    assert tried > len(lines)


def test_problems_before_the_error_are_reported(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    """An unknown topic in the first article is reported wherever after that article the
    syntax error is; inside that article it may be the open node, and is not."""
    lines = (SITE_ISSUES / "2020-10.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    topic = next(i for i, line in enumerate(lines) if "topics: [neuroscience, empathy]" in line)
    lines[topic] = lines[topic].replace("empathy", "empaty")
    second = next(i for i, line in enumerate(lines) if i > topic and line.startswith("  - title:"))
    path = project / "issues" / "2020-10.yaml"
    tried = 0
    for i in range(second, len(lines)):
        path.write_text("".join(lines[:i]) + BREAKS[0] + "\n" + "".join(lines[i:]), encoding="utf-8")
        found = messages(path, settings)
        if not any("YAML syntax error" in m for m in found):
            continue  # inside a block of text: not an error there
        tried += 1
        errors = [m for m in found if "warning" not in m]
        assert errors[0] == (f"{topic + 1}:28: articles[0].topics[1]: unknown topic 'empaty' "
                             "(did you mean 'Empathy'?)"), (i, found)
        assert "YAML syntax error" in errors[-1] and errors[-1].endswith(f"; only lines 1-{i} could be checked")
        assert len(errors) == 2, found
    assert tried > 10


def test_nothing_before_the_error(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    path = project / "issues" / "2020-10.yaml"
    for text in ['month: "2020-10\nintro: x\n', "# only a comment\n\tmonth: 2020-10\n", "month: [2020-10\n"]:
        path.write_text(text, encoding="utf-8")
        found = messages(path, settings)
        assert len(found) == 1 and found[0].endswith("; nothing else in the file could be checked"), found


def test_the_cut_backs_off_until_the_prefix_parses(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    """The error's first line may be inside a value that only the lines after it close: the
    check then covers fewer lines, and says so."""
    path = project / "issues" / "2020-11.yaml"
    path.write_text('month: "2020-10"\nintro: >\n  This month.\narticles: [\n  {title: "A",\n'
                    "   topics: [cbt}\n", encoding="utf-8")
    found = messages(path, settings)
    assert found[0] == "1:8: month: '2020-10' does not match the file name '2020-11.yaml' (expected 2020-11)"
    assert "(while parsing a flow sequence started on line 6, column 12)" in found[1]
    assert found[1].endswith("; only lines 1-3 could be checked") and len(found) == 2, found
