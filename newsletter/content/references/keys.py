"""A DOI as a cache key, a file name and a URL path segment.

DOI names are case-insensitive over ASCII (DOI Handbook 2.4), so one work has one key: the
lower-cased DOI. File names percent-encode everything outside a small safe set so that any DOI
suffix (`<`, `>`, `;`, `/`, `:` in old Wiley DOIs) is a valid file name on every system.
Kept small and separate on purpose: the DOI syntax and the doi.org link live in content/doi.py.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from urllib.parse import quote

from .. import doi as doi_names

MAX_NAME = 180  # bytes of a file name before it is replaced by a digest (most systems allow 255)


def doi_key(doi: str) -> str:
    """The canonical form used to compare and store DOIs: stripped, lower-cased."""
    return doi.strip().lower()


def cache_stem(doi: str) -> PurePosixPath:
    """`prefix/encoded-suffix` (no extension) for a DOI, e.g. `10.1037/cou0000424`.

    Raises ValueError for a string that has no `prefix/suffix` form.
    """
    key = doi_key(doi)
    prefix, sep, suffix = key.partition("/")
    if not sep or not prefix.startswith("10.") or not suffix:
        raise ValueError(f"not a DOI: {doi!r}")
    name = quote(suffix, safe="-_()").replace(".", "%2E") if suffix.startswith(".") else \
        quote(suffix, safe="-._()")
    if name.endswith("."):  # Windows drops a trailing dot from file names
        name = name[:-1] + "%2E"
    if len(name.encode()) > MAX_NAME:
        name = "sha256-" + hashlib.sha256(key.encode()).hexdigest()
    return PurePosixPath(quote(prefix, safe="."), name)


def crossref_path(doi: str) -> str:
    """The DOI as one path segment for Crossref's `/works/{doi}`: every reserved character,
    the slash included, percent-encoded (RFC 3986 §2.1)."""
    return quote(doi, safe="")


def proxy_path(doi: str) -> str:
    """The DOI in a doi.org path: the slash kept, everything else reserved percent-encoded
    (DOI Handbook, "Encoding DOIs for use in URIs")."""
    return quote(doi, safe="/")


def doi_url(doi: str) -> str:
    """The `https://doi.org/...` link for a DOI, encoded as the issue's links are (content/doi.py)."""
    return doi_names.url(doi)


def parse_doi(text: str) -> str | None:
    """A DOI as a user types it (`10.…`, `doi:10.…`, `https://doi.org/10.…`, `doi.org/10.…`) →
    `10.…`, or None: the same rule as an issue's `doi:` (content/doi.py)."""
    try:
        return str(doi_names.parse(text))
    except doi_names.DOIError:
        return None
