"""The committed reference cache: `references/<prefix>/<suffix>.json` per DOI.

`check --online` writes two files per DOI and every other command only reads:

- `<suffix>.json`: the normalised CSL-JSON item (`normalize.normalize`), what rendering and the
  offline checks use;
- `<suffix>.raw.json`: the registry's response as received (URL, status, media type and the
  parsed body), kept so that the normalisation can be audited or re-run without the network.

Both are rewritten only when the normalised item changes, so a routine `check --online` leaves
no diff behind (Crossref's `indexed` date changes daily). The folder belongs in version control:
it makes rendering the same on every machine and in CI, with no network.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import NewsletterError
from ..textfile import display_path
from .keys import cache_stem, doi_key
from .normalize import CSL, normalize

FOLDER = "references"
MAX_CACHE_BYTES = 4 * 1024 * 1024


class BrokenCacheFile(NewsletterError):
    """A cache file that is not a normalised item (a merge conflict, a bad hand edit).

    The message is located (`path:line:col: …`); `path`, `line`, `col` and `reason` carry it.
    """

    exit_code = 2

    def __init__(self, path: str, line: int, col: int, reason: str) -> None:
        self.path, self.line, self.col, self.reason = path, line, col, reason
        super().__init__(f"{path}:{line}:{col}: {reason}")


@dataclass(frozen=True)
class Fetched:
    """One registry answer: where it came from and its parsed body."""

    doi: str
    registry: str  # "crossref" | "doi.org"
    agency: str  # registration agency: Crossref, DataCite, mEDRA, …
    url: str
    status: int
    content_type: str
    body: Any

    def item(self) -> CSL:
        """The normalised CSL-JSON item (ValueError if the body holds no usable record)."""
        record = self.body.get("message") if self.registry == "crossref" else self.body
        if not isinstance(record, dict):
            raise ValueError("the response holds no work record")  # noqa: TRY004 - the registry's data, not a caller's type
        if doi_key(str(record.get("DOI") or "")) != doi_key(self.doi):  # an alias, or no DOI given
            record = {**record, "DOI": self.doi}
        return normalize(record, registry=self.registry, agency=self.agency)


class ReferenceCache:
    """Reads and writes one project's `references/` folder; reads are memoised by mtime."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._memo: dict[str, tuple[int, int, CSL]] = {}

    @classmethod
    def of(cls, root: Path) -> ReferenceCache:
        return cls(root / FOLDER)

    def path_for(self, doi: str) -> Path:
        return self.folder / f"{cache_stem(doi)}.json"

    def raw_path_for(self, doi: str) -> Path:
        return self.folder / f"{cache_stem(doi)}.raw.json"

    def get(self, doi: str) -> CSL | None:
        """The normalised item, or None if this DOI was never looked up.

        Raises BrokenCacheFile if the file exists but cannot be read as an item for this DOI.
        """
        path = self.path_for(doi)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BrokenCacheFile(display_path(path), 1, 1, f"cannot be read ({exc.strerror})") from None
        key = str(path)
        memo = self._memo.get(key)
        if memo and memo[:2] == (st.st_mtime_ns, st.st_size):
            return memo[2]
        item = self._read(path, doi, st.st_size)
        self._memo[key] = (st.st_mtime_ns, st.st_size, item)
        return item

    def _read(self, path: Path, doi: str, size: int) -> CSL:
        shown = display_path(path)
        if size > MAX_CACHE_BYTES:
            raise BrokenCacheFile(shown, 1, 1, f"is {size:,} bytes; a cached reference is at most "
                                               f"{MAX_CACHE_BYTES:,}")
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BrokenCacheFile(shown, 1, 1, f"is not UTF-8 (byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise BrokenCacheFile(shown, exc.lineno, exc.colno,
                                  f"is not valid JSON ({exc.msg}); run `newsletter check --online` "
                                  "to fetch it again") from None
        except OSError as exc:
            raise BrokenCacheFile(shown, 1, 1, f"cannot be read ({exc.strerror})") from None
        if not isinstance(data, dict) or doi_key(str(data.get("DOI", ""))) != doi_key(doi):
            raise BrokenCacheFile(shown, 1, 1, f"is not the cached record of {doi} (its DOI is "
                                               f"{data.get('DOI') if isinstance(data, dict) else None!r})")
        try:
            return normalize(data)  # idempotent: a hand edit cannot smuggle markup into a page
        except ValueError as exc:
            raise BrokenCacheFile(shown, 1, 1, str(exc)) from None

    def store(self, fetched: Fetched) -> tuple[CSL, bool]:
        """Write both files for a registry answer; returns (item, whether anything changed).

        Raises ValueError if the answer holds no usable record (nothing is written then).
        """
        item = fetched.item()
        path = self.path_for(fetched.doi)
        try:
            unchanged = self.get(fetched.doi) == item and self.raw_path_for(fetched.doi).exists()
        except BrokenCacheFile:
            unchanged = False
        if unchanged:
            return item, False
        raw = {"url": fetched.url, "status": fetched.status, "content-type": fetched.content_type,
               "registry": fetched.registry, "agency": fetched.agency, "body": fetched.body}
        _write_json(self.raw_path_for(fetched.doi), raw, indent=1, sort=False)
        _write_json(path, item, indent=2, sort=True)
        return item, True


def _write_json(path: Path, data: Any, *, indent: int, sort: bool) -> None:
    """Atomically (temporary file + rename), so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=indent, sort_keys=sort, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
