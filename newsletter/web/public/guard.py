"""Abuse limits of the public forms: who may post them (the Origin check that makes them
CSRF-safe without cookies) and how often one client may (a sliding window in memory).

A browser says where a POST comes from: `Sec-Fetch-Site` (same-origin for our own pages, which
send `Origin: null` under their no-referrer policy) and `Origin`. A form posted from a page of
another site is refused unless the author listed that origin (`signup.allowed_origins`, for the
form embedded on their own website). Requests with neither header (curl) are not a browser
visit that could be forged, and are allowed. Clients are counted by address, IPv6 by its
/64 (one household or host), behind a proxy by the address the proxy reports (uvicorn's
`--forwarded-allow-ips`).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import Request

MAX_CLIENTS = 100_000  # distinct clients remembered; beyond that the oldest windows are dropped


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def allowed_origin(request: Request, allowed: Iterable[str]) -> bool:
    """True if the POST comes from our own pages, from one of the `allowed` origins, or from a
    client that is not a browser (no Fetch metadata, no Origin: nothing to forge a visit with)."""
    site = request.headers.get("sec-fetch-site")
    if site in ("same-origin", "none"):  # set by the browser itself; a page cannot forge it
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return site is None
    if origin.strip().lower() == "null":  # sandboxed frames, file: pages, a no-referrer page elsewhere
        return False
    mine = origin_of(origin)
    if mine in set(allowed):
        return True
    return urlsplit(mine).netloc == request.headers.get("host", "").strip().lower()


def client_key(request: Request) -> str:
    """The client's address; an IPv6 address counts by its /64."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class ClientLimiter:
    """At most `limit` requests per client in any `window` seconds (thread-safe)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        """Count one request of `client`; False (and not counted) if it is over the limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                if len(self._hits) >= MAX_CLIENTS:
                    self._forget(now)
                hits = self._hits[client] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _forget(self, now: float) -> None:
        stale = [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]
        for k in stale or list(self._hits)[: len(self._hits) // 2]:
            del self._hits[k]


__all__ = ["ClientLimiter", "allowed_origin", "client_key", "origin_of"]
