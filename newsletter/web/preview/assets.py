"""The preview's stylesheet and script (`web/static/preview.css`, `preview.js`), served from
memory (no build step, no framework)."""

from __future__ import annotations

from ..pages import static_text

CSS = static_text("preview.css")
JS = static_text("preview.js")
