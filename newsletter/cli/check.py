from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CheckFailed, InputError, NewsletterError, Problem, RegistryUnavailable, UsageError
from .common import default_subscribers, examples, existing_file, number, root_of

if TYPE_CHECKING:
    from ..content.config import Settings
    from ..content.issue import Issue
    from ..content.references import ReferenceCache
    from ..content.references.registry import Lookup

EXAMPLES = examples(
    "newsletter check                              # every issue and the subscriber list",
    "newsletter check issues/2026-12.yaml --no-subscribers",
    "newsletter check --subscribers subscribers.yaml",
    "newsletter check --online                     # look every DOI up first (the network)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("issues", nargs="*", help="issue files (default: every file in issues/)")
    p.add_argument("--subscribers", type=existing_file, help="subscriber list to validate too (default: subscribers.yaml "
                                         "or subscribers.example.yaml)")
    p.add_argument("--no-subscribers", action="store_true", help="skip the subscriber list")
    p.add_argument("--online", action="store_true",
                   help="first look every DOI up at Crossref / doi.org and refresh the reference cache "
                        "(references/); the only command that uses the network")
    p.add_argument("--timeout", type=number(0.1, 600, "a number of seconds"), default=20.0, metavar="SECONDS",
                   help="with --online: how long to wait for each registry request (default: 20)")


def run(args: argparse.Namespace) -> int:
    from ..content.issue import read_issue
    from ..content.references import ReferenceCache
    from ..content.references.check import check_issue
    from ..content.subscribers import read_subscribers
    from ..mail.compose import Composer

    composer = Composer.load(root_of(args))
    settings = composer.settings
    cache = ReferenceCache.of(settings.root)
    paths = [Path(p) for p in args.issues] or sorted(settings.issues_dir.glob("*.yaml"))
    read = [(path, *read_issue(path, settings)) for path in paths]
    issues: list[Issue] = [issue for _, issue, _ in read if issue is not None]
    lookups = _lookups(args, settings, cache, issues) if args.online else {}
    problems: list[Problem] = []
    unchecked: list[str] = []
    failed_checks: list[str] = []
    for path, issue, reader in read:
        found = list(reader.problems)
        if issue is not None:
            found += check_issue(issue, cache)
            if args.online:
                from ..content.references.online import lookup_problems

                more, cannot = lookup_problems(issue, reader.path, lookups, cache)
                found += more
                unchecked += cannot
        problems += sorted(found, key=lambda p: (p.line, p.col))  # in file order
        if issue is None:
            continue
        results = composer.check_all_variants(issue)
        bad = [(sel, c) for sel, checks in results.items() for c in checks if not c.ok]
        for sel, c in bad:
            failed_checks.append(f"{reader.path}: variant {list(sel)}: {c}")
        for sel, c in ((sel, c) for sel, checks in results.items() for c in checks if c.ok and c.warning):
            print(f"{reader.path}: variant {list(sel)}: {c}", file=sys.stderr)
        if not bad and not any(p.severity == "error" for p in found):
            n = len(issue.articles)
            print(f"{reader.path}: ok ({n} articles, {len(results)} variants rendered and checked)")
    if not args.no_subscribers:
        sub_path = Path(args.subscribers) if args.subscribers else default_subscribers(settings.root)
        subs, sreader = read_subscribers(sub_path, settings)
        problems += sorted(sreader.problems, key=lambda p: (p.line, p.col))
        if not sreader.errors:
            print(f"{sreader.path}: ok ({len(subs)} subscribers)")
    for p in problems:
        print(str(p), file=sys.stderr)
    for line in unchecked:
        print(line, file=sys.stderr)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise _Quiet(len(errors))
    if failed_checks:
        raise CheckFailed("\n".join(failed_checks))
    if unchecked:
        raise RegistryUnavailable(f"could not check {len(unchecked)} DOI reference"
                                  f"{'s' if len(unchecked) != 1 else ''} against the registries "
                                  "(network or registry down); nothing was concluded about "
                                  f"{'them' if len(unchecked) != 1 else 'it'}: run `newsletter check "
                                  "--online` again later")
    return 0


def _lookups(args: argparse.Namespace, settings: Settings, cache: ReferenceCache,
             issues: list[Issue]) -> dict[str, Lookup]:
    """Every DOI of the issues looked up (network) and cached; by DOI key."""
    from ..content.references.online import refresh
    from ..content.references.registry import Registry, RegistryConfig

    if not args.timeout > 0:
        raise UsageError(f"--timeout: must be a positive number of seconds, got {args.timeout:g}")
    try:
        config = RegistryConfig.from_settings(settings, timeout=args.timeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    dois = [a.doi for issue in issues for a in issue.articles if a.doi]
    with Registry(config) as registry:
        return refresh(dois, registry, cache)


class _Quiet(NewsletterError):
    """Problems were already printed (warnings interleaved, in file order); only the count."""

    exit_code = InputError.exit_code

    def __init__(self, n: int) -> None:
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found; nothing was sent")
