"""One exception root. Its message is exactly what the user sees; the CLI adds nothing.

Every expected failure is a subclass with one of the exit codes documented in README's table
(2, 3, 4, 5, 6, 7, 8, 130). `NewsletterError` itself is never raised: exit 1 is left to bugs,
which print their traceback (tests/test_exit_codes.py checks both)."""

from __future__ import annotations

from dataclasses import dataclass


class NewsletterError(Exception):
    """Base of every expected failure. `exit_code` is what the CLI exits with; subclasses set
    it (the base's 1 is what a bug exits with, and no code raises the base itself).
    `summary`: what a stopped `send` did before it stopped (a delivery.dispatch.Summary)."""

    exit_code = 1
    summary: object | None = None


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in an input file."""

    path: str
    line: int
    col: int
    field: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}"
        field = f" {self.field}:" if self.field else ""
        tag = " warning:" if self.severity == "warning" else ""
        return f"{where}:{tag}{field} {self.message}"


class InputError(NewsletterError):
    """Bad issue, subscriber list or configuration: every problem found, at once."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(NewsletterError):
    """A command-line argument or a file the configuration names cannot be used (no issue
    file, unknown address for --as, unreadable DKIM key...)."""

    exit_code = 2


class TemplateError(NewsletterError):
    """A template fails to compile or render: names the template and line."""

    exit_code = 2


class CheckFailed(NewsletterError):
    """The rendered message breaks a rule (size, links, placeholders, the relay's SIZE)."""

    exit_code = 2


class TransientError(NewsletterError):
    """The run stopped for a reason that a later run can finish (server down, paused)."""

    exit_code = 3


class FatalSMTPError(NewsletterError):
    """Configuration problems of the relay: TLS, authentication, sender refused."""

    exit_code = 4


class CampaignLocked(NewsletterError):
    """Another `send` of the same issue is running."""

    exit_code = 5


class StateError(NewsletterError):
    """The state database cannot be opened or written (disk full, permissions, corruption)."""

    exit_code = 6


class ContentChanged(NewsletterError):
    """A campaign is bound to what it first sent; the issue, templates or configuration
    changed since, and --force was not given."""

    exit_code = 8


class Interrupted(NewsletterError):
    """Ctrl-C or SIGTERM: in-flight messages were finished or recorded; the message says how
    to resume."""

    exit_code = 130


class RegistryUnavailable(NewsletterError):
    """`check --online` or `cite` could not ask the DOI registries (network down, timeouts,
    rate limits, server errors): nothing was concluded about the DOIs concerned."""

    exit_code = 7
