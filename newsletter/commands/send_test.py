from __future__ import annotations

import argparse

from ..errors import NewsletterError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("rest", nargs="*")


def run(args: argparse.Namespace) -> int:
    raise NewsletterError("not implemented yet")
