"""One module per command: `add_arguments(parser)` and `run(args) -> exit code`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Problem, UsageError

if TYPE_CHECKING:  # `newsletter --help` imports every command module: keep them light
    from ..content.subscribers import Subscriber


def whole_number(lo: int, hi: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse `type` for an integer flag: a wrong value names the valid range, and argparse
    names the flag (`argument --connections: 'x' is not a whole number from 1 to 64`)."""
    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi:
            raise argparse.ArgumentTypeError(f"'{value}' is not {what} from {lo} to {hi}")
        return number

    parse.__name__ = what  # argparse shows it in its own messages
    return parse


def number(lo: float, hi: float, what: str = "a number") -> Callable[[str], float]:
    """`whole_number` for a flag that takes a decimal number (seconds, say)."""
    def parse(value: str) -> float:
        try:
            x = float(value.strip())
        except ValueError:
            x = float("nan")
        if not lo <= x <= hi:  # also refuses nan
            raise argparse.ArgumentTypeError(f"'{value}' is not {what} from {lo:g} to {hi:g}")
        return x

    parse.__name__ = what
    return parse


def existing_file(value: str) -> str:
    """An argparse `type` for a file that must exist (a subscriber list, an issue)."""
    path = Path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"'{value}': no such file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"'{value}' is not a file")
    return value


def examples(*lines: str) -> str:
    """The `examples:` block every command's --help ends with: (command, comment) lines."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


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
