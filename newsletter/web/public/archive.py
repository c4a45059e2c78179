"""The web version of an issue ("view in your browser"): every article, rendered by the same
templates as the e-mail, with the per-recipient markers filled by neutral text.

Only issues whose dispatch has started (a campaign in the ledger) are shown, so a draft in
issues/ is never public; `newsletter serve --archive-drafts` lifts that for local use.
"""

from __future__ import annotations

import html
import logging
import re
import threading

from ...errors import NewsletterError
from ...mail.compose import Composer
from ...mail.message import Recipient, personal_values
from ...mail.render import GREETING, PLACEHOLDER_RE, PREFERENCES_URL, TOPICS, UNSUBSCRIBE_URL

log = logging.getLogger("newsletter.serve")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Archive:
    CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
           "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")

    def __init__(self, composer: Composer, *, drafts: bool = False) -> None:
        self.composer, self.drafts = composer, drafts
        self._cache: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        s = composer.settings
        # Same wording as a reader who gets every topic, without a name; links go to a page
        # that explains where the personal links are.
        p = personal_values(s, composer.keys, Recipient("", "", None, "web"))
        manage = html.escape(f"{s.base_url}/manage")
        self.values = {GREETING: html.escape(p.greeting), TOPICS: html.escape(p.topics),
                       UNSUBSCRIBE_URL: manage, PREFERENCES_URL: manage}

    def page(self, month: str, published: bool) -> str | None:
        """The finished HTML, or None if there is no such (published) issue."""
        if not MONTH.match(month) or not (published or self.drafts):
            return None
        path = self.composer.settings.issues_dir / f"{month}.yaml"
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return None
        with self._lock:
            cached = self._cache.get(month)
            if cached and cached[0] == mtime:
                return cached[1]
            try:
                issue = self.composer.issue(path)
                rendered = self.composer.renderer.render(issue)
            except NewsletterError as exc:
                log.error("archive %s: %s", month, exc)
                return None
            if issue.month != month:
                return None
            out = PLACEHOLDER_RE.sub(lambda m: self.values.get(m.group(0), ""), rendered.html)
            self._cache[month] = (mtime, out)
            return out
