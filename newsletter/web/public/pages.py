"""The HTML of the public pages (templates in `web/templates/public/`): small, self-contained, no
script, no remote assets.

One inline stylesheet, allowed by its hash in the Content-Security-Policy. Forms post to the
page's own token (a relative URL), so the pages work under any path prefix of base_url.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from markupsafe import Markup

from ..pages import environment, static_text

CSS = static_text("public.css").strip()
CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
PAGE_CSP = (f"default-src 'none'; style-src '{CSS_HASH}'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")

_env = environment("public")


def render(name: str, **context: Any) -> str:
    return _env.get_template(name).render(css=Markup(CSS), **context)


def mask_email(email: str) -> str:
    """Enough of the address to recognise it, not enough to harvest it: a•••@example.org."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"
