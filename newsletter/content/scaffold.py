"""A new issue file to fill in (`newsletter new`): every key of the issue schema, two empty
articles, a commented example article and the site's topics as a comment.

The empty values are deliberate: until they are filled in, `check` (and the preview) list each
one as "must not be empty", so a half-written issue can never be sent by mistake.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from pathlib import Path

from ..errors import InputError, NewsletterError
from .config import Settings
from .issue import default_subject
from .textfile import display_path

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
ARTICLE_KEYS = ("title", "citation", "doi", "url", "topics", "summary", "implications")


class IssueExists(NewsletterError):
    """The file `newsletter new` would write is already there: it is never overwritten."""

    exit_code = InputError.exit_code


def parse_month(value: str, what: str = "MONTH") -> str:
    """`value` if it is a month written YYYY-MM (01-12); raises NewsletterError (exit code 2)
    naming `what` otherwise."""
    if not _MONTH.match(value.strip()):
        raise _BadMonth(f"{what}: '{value}' is not a month (expected YYYY-MM, e.g. "
                        f"{date.today():%Y-%m})")
    return value.strip()


class _BadMonth(NewsletterError):
    exit_code = InputError.exit_code


def following_month(month: str) -> str:
    """The month after `month` (both YYYY-MM): 2026-12 → 2027-01."""
    year, m = (int(x) for x in month.split("-"))
    return f"{year + m // 12}-{m % 12 + 1:02d}"


def next_issue_month(issues_dir: Path, today: date | None = None) -> str:
    """The month after the newest issue file named YYYY-MM.yaml; this month if there is none."""
    months = sorted(p.stem for p in issues_dir.glob("*.yaml") if _MONTH.match(p.stem))
    if months:
        return following_month(months[-1])
    return f"{today or date.today():%Y-%m}"


def issue_skeleton(settings: Settings, month: str) -> str:
    """The text of a new issue file for `month` (YYYY-MM), in the site's vocabulary."""
    year, m = month.split("-")
    subject = default_subject(settings, f"{calendar.month_name[int(m)]} {year}")
    topics = "\n".join(f"#   {slug:<22} {label}" for slug, label in settings.taxonomy.labels.items())
    example_topic = ", ".join(list(settings.taxonomy.labels)[:2])
    article = _ARTICLE.format(title='""', citation='""', doi='""', topics="[]", summary="", implications="",
                              indent="")
    example = _ARTICLE.format(title='"Title of the paper, as published"', citation=_EXAMPLE_CITATION,
                              doi='"10.1000/182"', topics=f"[{example_topic}]", summary=_EXAMPLE_SUMMARY,
                              implications=_EXAMPLE_IMPLICATIONS, indent="# ")
    return _FILE.format(month=month, subject=subject.replace('"', '\\"'), topics=topics,
                        articles=article + "\n" + article, example=example)


def write_issue(settings: Settings, month: str) -> Path:
    """Create issues/MONTH.yaml from `issue_skeleton`; raises IssueExists if it is there."""
    path = settings.issues_dir / f"{month}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as f:  # "x": never overwrite, even in a race
            f.write(issue_skeleton(settings, month))
    except FileExistsError:
        raise IssueExists(f"{display_path(path)}: already exists; not overwritten (edit it, or choose another "
                          f"month: newsletter new YYYY-MM)") from None
    return path


_ARTICLE = """\
{indent}  - title: {title}
{indent}    # the reference in APA style; optional
{indent}    citation: {citation}
{indent}    # a DOI (10.NNNN/…; https://doi.org/… and doi: are accepted) and/or a url (http/https)
{indent}    doi: {doi}
{indent}    # url: ""
{indent}    # slugs or labels from the list at the end of this file
{indent}    topics: {topics}
{indent}    summary: |
{summary}{indent}    implications: |
{implications}"""

_EXAMPLE_CITATION = '"Surname, A. B., & Surname, C. (2026). Title of the paper. Journal Name, 12(3), 45-67."'
_EXAMPLE_SUMMARY = """\
#       What the study did and found, in your own words (Markdown: *emphasis*, [links](https://…)).
#       A paragraph or two.
"""
_EXAMPLE_IMPLICATIONS = """\
#       What it means for practice, in your own words.
"""

_FILE = """\
# The issue of {month}. Fill in every empty value: `newsletter check` lists what is left, and
# `newsletter preview issues/{month}.yaml` shows the e-mail as you write.
# `newsletter cite DOI --yaml` prints a paper's citation: and doi: lines from its DOI.
month: "{month}"
# optional: the default subject is shown here
# subject: "{subject}"
intro: |

# one to four articles (usually two or three)
articles:
{articles}
# An example article (uncomment and adapt, or delete):
{example}
# Topics (slug, then label); either may be used in `topics:`
{topics}
"""
