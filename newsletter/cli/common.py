"""One module per command: `add_arguments(parser)` and `run(args) -> exit code`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..content.subscribers import Subscriber
from ..errors import Problem, UsageError


def root_of(args: argparse.Namespace) -> Path | None:
    return Path(args.root) if getattr(args, "root", None) else None


def newest_issue(issues_dir: Path) -> Path:
    files = sorted(issues_dir.glob("*.yaml"))
    if not files:
        raise UsageError(f"{issues_dir}: no issue files (*.yaml) found")
    return files[-1]


def default_subscribers(root: Path) -> Path:
    real = root / "subscribers.yaml"
    return real if real.exists() else root / "subscribers.example.yaml"


def parse_topics(value: str, taxonomy: object) -> frozenset[str]:
    from ..content.taxonomy import Taxonomy

    assert isinstance(taxonomy, Taxonomy)
    out: set[str] = set()
    unknown = []
    for name in [t.strip() for t in value.split(",") if t.strip()]:
        slug = taxonomy.lookup(name)
        if slug is None:
            unknown.append(f"--topics: unknown topic '{name}'{taxonomy.suggest(name)}")
        else:
            out.add(slug)
    if unknown:
        raise UsageError("\n".join(unknown))
    if not out:
        raise UsageError("--topics: give at least one topic (slugs or labels, comma-separated)")
    return frozenset(out)


def find_subscriber(settings: object, subscribers: str | None, email: str, option: str) -> Subscriber:
    """The subscriber with this address in the list (for --as); the list's warnings are shown."""
    from ..content.addresses import AddressError, address_key, normalize_address
    from ..content.config import Settings
    from ..content.subscribers import load_subscribers

    assert isinstance(settings, Settings)
    subs, reader = load_subscribers(subscribers or default_subscribers(settings.root), settings)
    print_warnings(reader.problems)
    try:
        key = address_key(normalize_address(email.strip())[0])
    except AddressError as exc:
        raise UsageError(f"{option}: {exc}") from None
    for s in subs:
        if s.key == key:
            return s
    raise UsageError(f"{option}: {email} is not in {reader.path}")


def print_warnings(problems: list[Problem]) -> None:
    import sys

    for p in problems:
        if p.severity == "warning":
            print(str(p), file=sys.stderr)
