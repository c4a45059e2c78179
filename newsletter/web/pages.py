"""The HTML layer both web apps share: jinja2 templates and static files shipped in the package
(`web/templates/<app>/`, `web/static/`), autoescaped, with undefined names as errors."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2


def environment(app: str, **options: Any) -> jinja2.Environment:
    """The templates of one app (`preview` or `public`), from `newsletter/web/templates/<app>/`."""
    return jinja2.Environment(loader=jinja2.PackageLoader("newsletter.web", f"templates/{app}"),
                              autoescape=True, undefined=jinja2.StrictUndefined, **options)


def static_text(name: str) -> str:
    """A file of `newsletter/web/static/` (a stylesheet, a script), as text."""
    return resources.files("newsletter.web").joinpath("static", name).read_text(encoding="utf-8")


def static_bytes(name: str) -> bytes:
    """A file of `newsletter/web/static/` (an image), as bytes."""
    return resources.files("newsletter.web").joinpath("static", name).read_bytes()


__all__ = ["environment", "static_bytes", "static_text"]
