"""The subscriber list as the preview uses it: read once per version of the file, looked up by
address, and searched as the author types ("as subscriber" picker), fast at 100,000 readers.

A search for `q` (case-insensitive) returns, in this order: addresses starting with `q`, names
with a word starting with `q`, then anything else containing `q` (address or name), each group
in file order. The first two come from sorted lists (binary search); the last from one C-speed
scan of a single string holding every reader's name and address, so no Python loop runs once
per subscriber while the author types.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from ...content.addresses import AddressError, address_key, normalize_address
from ...content.config import Settings
from ...content.subscribers import Subscriber, read_subscribers
from .problems import Located, locate_problem

COUNT_LIMIT = 1000  # matches counted past the ones shown; beyond it the page says "1,000+"


@dataclass(frozen=True)
class Found:
    """One page of search results: the readers shown, how many match in all (capped at
    COUNT_LIMIT; `more` is then True) and how many readers the list has."""

    items: list[Subscriber]
    matches: int
    more: bool
    total: int


class SubscriberIndex:
    """Every valid subscriber of one version of the list file, with the file's problems."""

    def __init__(self, subscribers: list[Subscriber], problems: list[Located]) -> None:
        self.subscribers = subscribers
        self.problems = problems
        self.by_key = {s.key: s for s in subscribers}
        lines = [f"{s.name}\t{s.email}".casefold() for s in subscribers]
        self._starts = [0]
        for line in lines:
            self._starts.append(self._starts[-1] + len(line) + 1)
        self._text = "\n".join(lines)  # line i is subscriber i: one string, searched with str.find
        self._emails = sorted((s.email.casefold(), i) for i, s in enumerate(subscribers))
        self._words = sorted((w, i) for i, s in enumerate(subscribers) for w in set(s.name.casefold().split()))

    @classmethod
    def load(cls, path: Path, settings: Settings) -> SubscriberIndex:
        """Read and validate the list file (its problems kept, located, for the page)."""
        if not path.exists():
            return cls([], [])
        subs, reader = read_subscribers(path, settings)
        return cls(subs, [locate_problem(p) for p in reader.problems])

    def find(self, address: str) -> Subscriber | None:
        """By address as listed, or by the case-insensitive key the list de-duplicates on."""
        address = address.strip()
        if not address:
            return None
        found = self.by_key.get(address_key(address))
        if found is None:  # written differently: an IDN domain in Unicode, say
            try:
                found = self.by_key.get(address_key(normalize_address(address)[0]))
            except AddressError:
                return None
        return found

    def search(self, query: str, limit: int = 20) -> Found:
        """Readers whose address or name contains `query` (see the module docstring for the
        order); an empty query gives the list's first readers."""
        q = " ".join(query.casefold().split())
        if not q:
            return Found(self.subscribers[:limit], len(self.subscribers), False, len(self.subscribers))
        seen: dict[int, None] = {}
        for i in self._prefixed(self._emails, q, limit):
            seen.setdefault(i)
        if len(seen) < limit:
            for i in self._prefixed(self._words, q, limit):
                seen.setdefault(i)
        containing = self._containing(q, COUNT_LIMIT + 1)
        for i in containing:
            if len(seen) >= limit:
                break
            seen.setdefault(i)
        more = len(containing) > COUNT_LIMIT
        items = [self.subscribers[i] for i in list(seen)[:limit]]
        return Found(items, min(len(containing), COUNT_LIMIT), more, len(self.subscribers))

    @staticmethod
    def _prefixed(pairs: list[tuple[str, int]], q: str, limit: int) -> list[int]:
        """Indexes of entries starting with `q`, in file order: at most `limit`, taken from the
        first 10 × limit in sorted order (plenty for a typeahead)."""
        at = bisect.bisect_left(pairs, (q, -1))
        out: list[int] = []
        for text, i in pairs[at:at + 10 * limit]:
            if not text.startswith(q):
                break
            out.append(i)
        return sorted(out)[:limit]

    def _containing(self, q: str, cap: int) -> list[int]:
        """Indexes of the lines containing `q`, in file order, at most `cap`."""
        text, starts = self._text, self._starts
        out: list[int] = []
        pos = text.find(q)
        while pos != -1 and len(out) < cap:
            i = bisect.bisect_right(starts, pos) - 1
            out.append(i)
            pos = text.find(q, starts[i + 1]) if i + 1 < len(starts) else -1
        return out
