"""Issue files: every broken case in tests/cases/ and the inputs that must be accepted."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from newsletter.content.issue import MAX_ISSUE_BYTES, Issue, load_issue, read_issue
from newsletter.content.schema import url_problem
from newsletter.errors import InputError

CASES = Path(__file__).parent.parent / "cases"
GOLDEN = Path(__file__).parent.parent / "golden"
NO_LINK = ("has neither doi nor url: readers get no link to the paper (add its DOI, or a url if it "
           "has none)")
PATH = "{path}"  # in expected.txt: the issue's path as shown to the user (issues/NAME.yaml)

ARTICLE = """\
  - title: "{title}"
    topics: {topics}
{extra}    summary: |
      A summary of the paper.
    implications: |
      What it means in practice.
"""


def issue_text(*articles: str, month: str = '"2020-10"', head: str = "") -> str:
    return f"month: {month}\n{head}intro: |\n  This month.\narticles:\n" + "".join(articles)


def article(title: str = "A paper", topics: str = "[depression]", extra: str = "") -> str:
    return ARTICLE.format(title=title, topics=topics, extra=extra)


def two(**kw: str) -> str:
    return issue_text(article("First", "[cbt]"), article("Second", "[group]"), **kw)


def write(project: Path, text: str | bytes, name: str = "2020-10.yaml") -> Path:
    path = project / "issues" / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return Path("issues") / name


def problems_of(path: Path, settings) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        load_issue(path, settings)
    return str(info.value)


# --- the catalogue of broken files ---------------------------------------------------------

def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir())


def test_case_folder_is_complete() -> None:
    cases = _cases()
    assert len(cases) >= 25
    for case in cases:
        yamls = list(case.glob("*.yaml"))
        assert len(yamls) == 1, case
        expected = (case / "expected.txt").read_text(encoding="utf-8")
        assert expected.endswith("\n") and expected.strip(), case
        for line in expected.splitlines():
            assert line.startswith(PATH + ":"), (case, line)
            _, lineno, col, _rest = line.split(":", 3)
            assert int(lineno) >= 1 and int(col) >= 1, (case, line)


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_broken_issue(case: Path, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    source = next(case.glob("*.yaml"))
    target = project / "issues" / source.name
    shutil.copyfile(source, target)
    expected = (case / "expected.txt").read_text(encoding="utf-8").rstrip("\n")
    shown = f"issues/{source.name}"
    assert problems_of(Path("issues") / source.name, settings) == expected.replace(PATH, shown)
    # read_issue (used by `check`) reports the same problems and no Issue
    issue, reader = read_issue(target, settings)
    assert issue is None
    assert sorted(str(p) for p in reader.problems) == sorted(expected.replace(PATH, shown).splitlines())


def test_several_problems_are_reported_together(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    expected = (CASES / "38-many-problems" / "expected.txt").read_text(encoding="utf-8")
    assert len(expected.splitlines()) >= 8
    fields = [line.split(": ")[1] for line in expected.splitlines()]
    assert {"month", "subject", "articles[0].title", "articles[0].doi", "articles[0].url",
            "articles[1].tittle", "articles[2].url"} <= set(fields)


# --- the example issues and what must be accepted ----------------------------------------

def test_example_issues_load_cleanly(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    paths = sorted((project / "issues").glob("*.yaml"))
    assert len(paths) >= 3
    for path in paths:
        issue, reader = read_issue(path, settings)
        # the real articles without a DOI or URL (as the blog published them) are the only advice
        assert reader.errors == [], path
        assert {p.message for p in reader.warnings} <= {NO_LINK}, (path, reader.warnings)
        assert issue is not None and issue.month == path.stem
        assert [p.field for p in reader.warnings] == [
            f"articles[{i}]" for i, a in enumerate(issue.articles) if not a.link]
        assert 2 <= len(issue.articles) <= 3
        for a in issue.articles:
            assert a.topics and all(settings.taxonomy.lookup(t) == t for t in a.topics)
            assert list(a.topics) == settings.taxonomy.order(set(a.topics))


def test_values(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    issue = load_issue("issues/2020-10.yaml", settings)
    assert issue.month == "2020-10" and issue.month_label == "October 2020"
    assert issue.subject == "Practice Research Digest: October 2020"  # default subject
    first, second, third = issue.articles
    assert first.topics == ("empathy", "neuroscience")  # taxonomy order, not file order
    assert second.doi == "10.1186/s12888-020-02682-1"
    assert second.link == "https://doi.org/10.1186/s12888-020-02682-1"
    assert second.citation is not None and "\n" not in second.citation and "  " not in second.citation
    assert third.link is None
    assert issue.intro.startswith("This month we look")
    assert load_issue("issues/2020-12.yaml", settings).subject.startswith("December digest:")


def _same(a: Issue, b: Issue) -> bool:
    return dataclasses.replace(a, path=b.path) == b


def test_utf8_bom_is_accepted(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    plain = load_issue("issues/2020-10.yaml", settings)
    data = (project / "issues/2020-10.yaml").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    with_bom = load_issue(write(project, b"\xef\xbb\xbf" + data), settings)
    assert with_bom == plain


def test_crlf_gives_the_same_issue_and_text(project: Path, composer) -> None:  # type: ignore[no-untyped-def]
    lf = composer.issue("issues/2020-10.yaml")
    data = (project / "issues/2020-10.yaml").read_bytes()
    assert b"\r" not in data
    issue = composer.issue(write(project, data.replace(b"\n", b"\r\n")))
    assert "\r" not in issue.intro and all("\r" not in a.summary for a in issue.articles)
    assert _same(issue, lf)
    golden = (GOLDEN / "2020-10.txt").read_text(encoding="utf-8")
    assert composer.render(issue).text == golden
    # no final line break, trailing spaces after values: the same message
    ragged = data.replace(b'"2020-10"\n', b'"2020-10"   \n').rstrip(b"\n").replace(b"\n", b"\r\n")
    issue = composer.issue(write(project, ragged))
    assert composer.render(issue).text == golden
    assert composer.render(issue).html == composer.render(lf).html


def test_subject_is_kept_and_stripped(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    issue = load_issue(write(project, two(head="subject: '  Hello, readers  '\n")), settings)
    assert issue.subject == "Hello, readers"
    unicode = "Überblick: “Therapie” — 10 Jahre 🎉"
    issue = load_issue(write(project, two(head=f"subject: '{unicode}'\n")), settings)
    assert issue.subject == unicode


def test_topics_by_slug_or_label_case_insensitively(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    topics = ('[group psychotherapy, "TRAUMA AND/OR PTSD", "  Empathy  ", CBT, '
              '"cognitive   therapy (ct) and cognitive-behavioural therapy (cbt)"]')
    text = issue_text(article("A", topics), article("B", "Depression and Depressive Symptoms"))
    issue = load_issue(write(project, text), settings)
    assert issue.articles[0].topics == ("cbt", "empathy", "group", "trauma")
    assert issue.articles[1].topics == ("depression",)  # a single label instead of a list


def test_unknown_topic_suggests_slug_or_label(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(article("A", "[Group Psychoterapy, traumma]"), article("B", "[cbt]"))
    assert problems_of(write(project, text), settings) == (
        "issues/2020-10.yaml:6:14: articles[0].topics[0]: unknown topic 'Group Psychoterapy' "
        "(did you mean 'Group Psychotherapy'?)\n"
        "issues/2020-10.yaml:6:34: articles[0].topics[1]: unknown topic 'traumma' "
        "(did you mean 'trauma'?)")


@pytest.mark.parametrize("given", [
    "10.1037/pst0000123",
    "https://doi.org/10.1037/pst0000123",
    "http://doi.org/10.1037/pst0000123",
    "https://dx.doi.org/10.1037/pst0000123",
    "HTTPS://DOI.ORG/10.1037/pst0000123",
    "doi:10.1037/pst0000123",
    "doi: 10.1037/pst0000123",
    "DOI:10.1037/pst0000123",
    "Doi: 10.1037/pst0000123",
    "  10.1037/pst0000123  ",
])
def test_doi_forms_are_normalised(given: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(article("A", "[cbt]", f'    doi: "{given}"\n'), article("B"))
    a = load_issue(write(project, text), settings).articles[0]
    assert a.doi == "10.1037/pst0000123"
    assert a.link == "https://doi.org/10.1037/pst0000123"


@pytest.mark.parametrize("given", ["10.1037", "10.12/abc", "pst0000123", "doi:", "10.1037/a b",
                                   "https://example.org/10.1037/x", "urn:doi:10.1037/x"])
def test_bad_dois(given: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(article("A", "[cbt]", f'    doi: "{given}"\n'), article("B"))
    message = problems_of(write(project, text), settings)
    assert message.startswith("issues/2020-10.yaml:7:10: articles[0].doi: '")
    assert "is not a DOI" in message and len(message.splitlines()) == 1


@pytest.mark.parametrize("n", [1, 4])
def test_one_or_four_articles_warn(n: int, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(*(article(f"Paper {i}", extra=f'    url: "https://example.org/{i}"\n')
                        for i in range(n)))
    issue, reader = read_issue(write(project, text), settings)
    assert issue is not None and len(issue.articles) == n
    assert reader.errors == []
    assert [str(p) for p in reader.warnings] == [
        f"issues/2020-10.yaml:5:3: warning: articles: has {n} article(s); issues usually have 2 or 3"]
    assert load_issue(write(project, text), settings) == issue  # a warning does not stop loading


@pytest.mark.parametrize("n", [2, 3])
def test_two_or_three_articles_are_quiet(n: int, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(*(article(f"Paper {i}", extra=f'    url: "https://example.org/{i}"\n')
                        for i in range(n)))
    issue, reader = read_issue(write(project, text), settings)
    assert issue is not None and reader.problems == []


def test_warnings_are_part_of_the_error_message(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(article("A", "[grup]"))
    assert problems_of(write(project, text), settings) == (
        "issues/2020-10.yaml:5:3: warning: articles: has 1 article(s); issues usually have 2 or 3\n"
        "issues/2020-10.yaml:6:14: articles[0].topics[0]: unknown topic 'grup' "
        "(did you mean 'group'?)")


def test_duplicate_topics_in_one_article_collapse(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    topics = '[cbt, CBT, "Cognitive Therapy (CT) and Cognitive-Behavioural Therapy (CBT)"]'
    issue = load_issue(write(project, issue_text(article("A", topics), article("B"))), settings)
    assert issue.articles[0].topics == ("cbt",)


@pytest.mark.parametrize("title, message", [
    ('"A\\rB"', "must be a single line"),
    ('"A\\nB"', "must be a single line"),
    ('"A\\u2028B"', "must be a single line"),
    ('"A\\u2029B"', "must be a single line"),
    ('"A\\x1bB"', "control character U+001B is not allowed"),
    ('"A\\x85B"', "control character U+0085 is not allowed"),
    ("'   '", "must not be empty"),
    ("[a, b]", "expected text, got a list"),
    ("2021-01-01", "expected text, got a date ('2021-01-01') (put it in quotes if you mean the text)"),
    ("null", "expected text, got YAML's null ('null') (put it in quotes if you mean the text)"),
])
def test_bad_titles(title: str, message: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(article("A").replace('"A"', title), article("B"))
    assert problems_of(write(project, text), settings) == (
        f"issues/2020-10.yaml:5:12: articles[0].title: {message}")


def test_longest_title_is_accepted(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    issue = load_issue(write(project, issue_text(article("T" * 300), article("B"))), settings)
    assert issue.articles[0].title == "T" * 300


@pytest.mark.parametrize("subject, message", [
    ('"Hi\\r\\nBcc: victim@example.com"', "must be a single line"),
    ('"Hi\\rBcc: victim@example.com"', "must be a single line"),
    ('"Hi\\x00"', "control character U+0000 is not allowed"),
    ('"Hi\\e[31m"', "control character U+001B is not allowed"),
    ('"Hi\\vthere"', "control character U+000B is not allowed"),
    ('"Hi\\fthere"', "control character U+000C is not allowed"),
    ('"Hi \\u202Egnp.exe"', "the subject contains the character U+202E, which is not allowed in a mail header (line breaks, control characters, bidi overrides)"),
    ('"Hi \\u2066x"', "the subject contains the character U+2066, which is not allowed in a mail header (line breaks, control characters, bidi overrides)"),
    ('"' + "x" * 201 + '"', "is 201 characters; the limit is 200"),
])
def test_hostile_subjects(subject: str, message: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = two(head=f"subject: {subject}\n")
    assert problems_of(write(project, text), settings) == (
        f"issues/2020-10.yaml:2:10: subject: {message}")


def test_month_may_be_unquoted(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    assert load_issue(write(project, two(month="2020-10")), settings).month == "2020-10"


@pytest.mark.parametrize("month, name, message", [
    ('"2020-00"', "2020-10.yaml", "'2020-00' is not a month in the form YYYY-MM"),
    ('"2020-1"', "2020-10.yaml", "'2020-1' is not a month in the form YYYY-MM"),
    ('"20-10"', "2020-10.yaml", "'20-10' is not a month in the form YYYY-MM"),
    ('"2020-10 "', "2020-10.yaml", None),  # surrounding spaces are stripped
    ('"October 2020"', "2020-10.yaml", "'October 2020' is not a month in the form YYYY-MM"),
    ("2020-10", "october.yaml",
     "'2020-10' does not match the file name 'october.yaml' (expected october)"),
    ("2020-10", "2020-10.yml", None),
    ("202010", "2020-10.yaml", ("expected text, got a number ('202010') (put it in quotes if you "
                               "mean the text)")),
])
def test_months(month: str, name: str, message: str | None, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    path = write(project, two(month=month), name)
    if message is None:
        assert load_issue(path, settings).month == "2020-10"
    else:
        assert problems_of(path, settings) == f"issues/{name}:1:8: month: {message}"


GOOD_URLS = ["https://example.org/", "http://example.org/paper?id=3&x=%20y#top",
             "HTTPS://Example.ORG/A", "https://bücher.de/x", "https://example.org:8443/x"]
BAD_URLS = ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>", "vbscript:msgbox",
            "file:///etc/passwd", "ftp://example.org/x", "/relative/path", "relative/path",
            "//example.org/x", "example.org/paper", "https://example.org/a b", "https://exa mple.org/",
            "https://example.org/\tx", 'https://x.org/" onmouseover="alert(1)', "https://x.org/<script>",
            "https://localhost/", "https:///path", "https://[::1]/", "https://www.bank.example@evil.example/",
            "https://user:pw@example.org/", "https://example.org:99999/", "https://example.org:port/",
            "https://example.org/" + "a" * 2000]


@pytest.mark.parametrize("url", GOOD_URLS)
def test_good_urls(url: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    assert url_problem(url) is None
    text = issue_text(article("A", extra=f"    url: '{url}'\n"), article("B"))
    assert load_issue(write(project, text), settings).articles[0].link == url


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_urls(url: str, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(article("A", extra=f"    url: '{url}'\n"), article("B"))
    message = problems_of(write(project, text), settings)
    assert message.startswith("issues/2020-10.yaml:7:10: articles[0].url: ")
    assert len(message.splitlines()) == 1


def test_duplicate_link_via_doi_and_url(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = issue_text(article("A", extra="    doi: '10.1037/pst0000123'\n"),
                      article("B", extra="    url: 'https://doi.org/10.1037/pst0000123'\n"))
    assert problems_of(write(project, text), settings) == (
        "issues/2020-10.yaml:12:5: articles[1]: same link as articles[0] "
        "(https://doi.org/10.1037/pst0000123)")


# --- file-level problems ---------------------------------------------------------------

def test_file_over_the_size_limit(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    text = two()
    padded = text + "#" * (MAX_ISSUE_BYTES - len(text) - 1) + "\n"
    assert len(padded.encode()) == MAX_ISSUE_BYTES
    assert load_issue(write(project, padded), settings).month == "2020-10"  # at the limit: fine
    assert problems_of(write(project, padded + "\n"), settings) == (
        f"issues/2020-10.yaml:1:1: file is {MAX_ISSUE_BYTES + 1:,} bytes; "
        f"the limit is {MAX_ISSUE_BYTES:,} bytes")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_device_is_not_read_to_the_end(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    assert problems_of(Path("/dev/zero"), settings) == (
        f"/dev/zero:1:1: file is over the limit of {MAX_ISSUE_BYTES:,} bytes")


def test_missing_file(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    assert problems_of(Path("issues/2099-01.yaml"), settings) == (
        "issues/2099-01.yaml:1:1: no such file")


def test_directory(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    (project / "issues" / "2099-02.yaml").mkdir()
    assert problems_of(Path("issues/2099-02.yaml"), settings) == (
        "issues/2099-02.yaml:1:1: is a directory, not a YAML file")


def test_absolute_path_is_shown_relative_to_the_project(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    path = write(project, "- a\n")
    assert problems_of(project / path, settings) == (
        "issues/2020-10.yaml:1:1: expected a mapping, got a list")


@pytest.mark.parametrize("data, where", [
    ("month: '2020-10'\nintro: x\u00e9\u00e9\u00e9\n", None),
    (b"month: '2020-10'\nintro: \xc3\xa9\xc3\xa9 \xe9\n", "2:11"),  # column counts characters
    (b"\xfe\xffmonth", "1:1"),
    (b"\xff\xfem\x00o\x00", "1:1"),
])
def test_encodings(data: str | bytes, where: str | None, project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    issue, reader = read_issue(write(project, data), settings)
    if where is None:
        assert not any("UTF" in p.message for p in reader.problems)
    else:
        assert issue is None and len(reader.problems) == 1
        p = reader.problems[0]
        assert f"{p.line}:{p.col}" == where
        assert "UTF-8" in p.message


def test_doi_org_url_is_read_as_the_doi(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    same = '    doi: "10.1037/PST0000123"\n    url: "dx.doi.org/10.1037/pst0000123"\n'
    a = load_issue(write(project, issue_text(article("A", "[cbt]", same), article("B"))), settings).articles[0]
    assert (a.doi, a.url, a.link) == ("10.1037/PST0000123", None, "https://doi.org/10.1037/PST0000123")
    other = '    doi: "10.1037/pst0000123"\n    url: "https://doi.org/10.1037/pst0000999"\n'
    message = problems_of(write(project, issue_text(article("A", "[cbt]", other), article("B"))), settings)
    assert message == ("issues/2020-10.yaml:8:10: articles[0].url: links to DOI 10.1037/pst0000999 "
                       "but doi is 10.1037/pst0000123")


FOLDED = """month: "2020-10"
intro: >
  A folded intro is fine
  when it is prose.
articles:
  - title: "A"
    topics: [cbt]
    summary: |
      A summary.
    implications: >
      Do three things:

      - ask early
      - ask often
  - title: "B"
    topics: [group]
    summary: >
      | Group | n |
      |---|---|
      | CBT | 4 |
    implications: |
      What to do.
"""


def test_a_folded_block_holding_a_list_or_table_gets_a_warning(project: Path, settings) -> None:  # type: ignore[no-untyped-def]
    """`>` joins the lines of a list into one; the file still loads, and `check` says why."""
    (project / "issues" / "2020-10.yaml").write_text(FOLDED)
    issue, r = read_issue(project / "issues" / "2020-10.yaml", settings)
    assert issue is not None and issue.articles[0].implications.endswith("- ask early - ask often\n")
    hint = "is Markdown list or table syntax in a folded block ('>'), which joins its lines into one " \
           "paragraph; use '|' to keep the lines"
    assert [str(p) for p in r.warnings if "folded" in p.message] == [
        f"issues/2020-10.yaml:13:7: warning: articles[0].implications: '- ask early' {hint}",
        f"issues/2020-10.yaml:18:7: warning: articles[1].summary: '| Group | n |' {hint}"]


@pytest.mark.parametrize(("value", "kept"), [
    ('"Session #3 predicts drop-out"', "Session #3 predicts drop-out"),
    ("'Our pick #1'", "Our pick #1"),
    ("Session#3 is one word", "Session#3 is one word"),  # '#' without a space before is text
    ("|\n      Pick #1 of the month", "Pick #1 of the month\n"),
    ('"null"', "null"), ("'~'", "~"), ('"y"', "y"), ('"@home"', "@home"),
])
def test_quoted_or_block_values_keep_every_character(value: str, kept: str, project: Path,
                                                     settings) -> None:  # type: ignore[no-untyped-def]
    src = (CASES / "44-comment-cuts-text" / "2020-10.yaml").read_text()
    src = src.replace("Session #3 predicts drop-out", value).replace(
        "intro: Our pick #1 this month is a trial of group CBT.", "intro: Hi.").replace(
        "    citation: Smith, J. (2020). Early sessions. #Journal of Practice, 1, 2.\n", "").replace(
        "implications: #1 lesson is to ask early", "implications: Ask.")
    (project / "issues" / "2020-10.yaml").write_text(src)
    issue = load_issue(project / "issues" / "2020-10.yaml", settings)
    assert issue.articles[0].title == kept.strip() or issue.articles[0].title == kept
