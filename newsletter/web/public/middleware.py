"""What every response of the public server carries (security headers) and what its access log
records (never a token)."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .pages import PAGE_CSP

log = logging.getLogger("newsletter.serve")

_TOKEN_IN_PATH = re.compile(r"/(u|p|confirm)/[^/?]+")


class SecurityHeaders:
    """Security headers on every response and an access log that never contains a token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(b"cache-control", b"no-store"), (b"content-security-policy", PAGE_CSP.encode()),
                         (b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff"),
                         (b"x-frame-options", b"DENY"), (b"x-robots-tag", b"noindex")]
                message["headers"] = [*message.get("headers", []), *[h for h in extra if h[0] not in have]]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            path = _TOKEN_IN_PATH.sub(lambda m: f"/{m.group(1)}/[token]", scope.get("path", ""))
            log.info("%s %s %d %.1fms", scope.get("method"), path, status,
                     (time.perf_counter() - start) * 1000)
