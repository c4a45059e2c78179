"""`newsletter cite DOI`: the APA 7 reference of a work, for pasting."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ..errors import RegistryUnavailable, UsageError
from .common import examples, number, root_of

EXAMPLES = examples(
    "newsletter cite 10.1037/pst0000172                  # the APA 7 reference (kept in references/)",
    "newsletter cite https://doi.org/10.1037/pst0000172 --yaml   # citation: and doi: lines for an issue")

if TYPE_CHECKING:
    from ..content.config import Settings
    from ..content.references import ReferenceCache


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("doi", help="the DOI (10.…, doi:10.… or https://doi.org/10.…)")
    p.add_argument("--html", action="store_true", help="print HTML (journal and volume in <i>)")
    p.add_argument("--yaml", action="store_true",
                   help="print `citation:` and `doi:` lines for an issue file (the reference without "
                        "its DOI link, which the newsletter adds itself)")
    p.add_argument("--refresh", action="store_true",
                   help="ask the registry even if references/ already holds the record")
    p.add_argument("--timeout", type=number(0.1, 600, "a number of seconds"), default=20.0, metavar="SECONDS",
                   help="how long to wait for each registry request (default: 20)")


def run(args: argparse.Namespace) -> int:
    from ..content.config import CONFIG_NAME, find_root, load_settings
    from ..content.references import ReferenceCache, render_reference
    from ..content.references.keys import parse_doi

    doi = parse_doi(args.doi)
    if doi is None:
        raise UsageError(f"'{args.doi}' is not a DOI (expected 10.NNNN/suffix, e.g. 10.1037/pst0000172)")
    root = find_root(root_of(args))
    settings = load_settings(root) if (root / CONFIG_NAME).is_file() else None
    cache = ReferenceCache.of(root) if settings else None
    item = cache.get(doi) if cache and not args.refresh else None
    if item is None:
        item = _fetch(doi, settings, cache, args.timeout)
    if args.yaml:
        text = render_reference(item, with_doi=False).text
        print(f"    citation: {json.dumps(text, ensure_ascii=False)}")
        print(f"    doi: {json.dumps(str(item.get('DOI', doi)))}")
    else:
        ref = render_reference(item)
        print(ref.html if args.html else ref.text)
    original = item.get("custom", {}).get("original-title")
    if original:
        print(f"note: the registry's title \"{original}\" was put in sentence case (APA 7); check "
              "proper nouns", file=sys.stderr)
    return 0


def _fetch(doi: str, settings: Settings | None, cache: ReferenceCache | None,
           timeout: float) -> dict[str, Any]:
    from ..content.references.registry import Outcome, Registry, RegistryConfig
    from ..content.textfile import display_path

    if not timeout > 0:
        raise UsageError(f"--timeout: must be a positive number of seconds, got {timeout:g}")
    try:
        config = RegistryConfig.from_settings(settings, timeout=timeout) if settings else \
            RegistryConfig.from_environment(timeout=timeout)  # outside a project: no cache either
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with Registry(config) as registry:
        found = registry.lookup(doi)
    if found.outcome is Outcome.UNAVAILABLE:
        raise RegistryUnavailable(f"could not look {doi} up: {found.detail}")
    if found.outcome is Outcome.NOT_FOUND:
        raise UsageError(f"{doi} does not resolve: {found.detail} (a typo in the DOI?)")
    if found.outcome is Outcome.NO_METADATA or found.fetched is None:
        raise UsageError(f"{doi} is {found.detail}; no reference can be made from it")
    if cache is None:
        return found.fetched.item()
    item, _ = cache.store(found.fetched)
    print(f"{found.detail}: cached in {display_path(cache.path_for(doi))}", file=sys.stderr)
    return item
