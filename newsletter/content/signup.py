"""The `signup:` settings of newsletter.yaml: the public subscribe form with double opt-in.

    signup:
      enabled: true                 # false: no /subscribe and /confirm pages
      consent: "…"                  # the text shown above the button, recorded with each signup
      confirm_hours: 48             # how long a confirmation link works
      per_client: 20                # signup requests per client address per 10 minutes
      allowed_origins: ["https://www.example.org"]   # other sites that may host the form

Every key is optional; `SignupSettings()` are the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from . import schema
from .yamltree import Reader, YNode

DEFAULT_CONSENT = ("Send me {name} by e-mail, once a month, with the articles on the topics I "
                   "ticked. I can unsubscribe at any time with the link in every issue.")
ADDRESS_INTERVAL = 600.0  # one confirmation per address per 10 minutes
CLIENT_WINDOW = 600.0


@dataclass(frozen=True)
class SignupSettings:
    enabled: bool = True
    consent: str = DEFAULT_CONSENT  # "{name}" is the list's name
    confirm_hours: float = 48.0
    per_client: int = 20  # requests per client address per CLIENT_WINDOW
    allowed_origins: tuple[str, ...] = ()  # scheme://host[:port] of pages that may post the form

    def consent_text(self, list_name: str) -> str:
        return self.consent.replace("{name}", list_name)


def parse_signup(r: Reader, node: YNode) -> SignupSettings:
    """The `signup:` mapping (every problem reported on the reader; defaults where absent)."""
    d = SignupSettings()
    m = schema.mapping(r, node, "signup", [],
                       ["enabled", "consent", "confirm_hours", "per_client", "allowed_origins"])
    if m is None:
        return d
    enabled = d.enabled
    if "enabled" in m:
        n = m["enabled"]
        if n.kind != "bool":
            r.problem(n.line, n.col, "signup.enabled", f"expected true or false, got {n.describe()}")
        else:
            enabled = str(n.value).lower() in ("true", "yes", "on")
    consent = d.consent
    if "consent" in m:
        consent = " ".join((schema.text(r, m["consent"], "signup.consent", max_len=1000) or d.consent).split())
    hours = schema.number(r, m.get("confirm_hours"), "signup.confirm_hours", d.confirm_hours, 1, 720)
    per_client = int(schema.number(r, m.get("per_client"), "signup.per_client", d.per_client, 1, 1_000_000))
    origins: list[str] = []
    if "allowed_origins" in m:
        for value, item in schema.text_list(r, m["allowed_origins"], "signup.allowed_origins"):
            problem = schema.url_problem(value)
            parts = urlsplit(value)
            if problem is None and (parts.path not in ("", "/") or parts.query or parts.fragment):
                problem = f"an origin is scheme://host[:port] only, got {value!r}"
            if problem:
                r.problem(item.line, item.col, "signup.allowed_origins", problem)
            else:
                origins.append(f"{parts.scheme.lower()}://{parts.netloc.lower()}")
    return SignupSettings(enabled, consent, hours, per_client, tuple(origins))


__all__ = ["ADDRESS_INTERVAL", "CLIENT_WINDOW", "DEFAULT_CONSENT", "SignupSettings", "parse_signup"]
