"""Ask the DOI registries for a work's metadata (the only network code of `newsletter`).

Imported only by `check --online` and `cite`. For one DOI:

1. Crossref REST API `GET {crossref_url}/works/{doi}` (the DOI percent-encoded as one path
   segment), in the polite pool: `mailto` as a query parameter and in the User-Agent.
2. On 404, the DOI proxy's "Which RA?" service `GET {doi_url}/doiRA/{doi}` says whether the DOI
   exists and which registration agency holds it (DataCite, mEDRA, …).
3. If it exists, doi.org content negotiation `GET {doi_url}/{doi}` with
   `Accept: application/vnd.citationstyles.csl+json`, following redirects to the agency.

Every request has a timeout; 429 and 5xx answers are retried a bounded number of times,
honouring `Retry-After` (seconds or an HTTP date, RFC 9110 §10.2.3) up to a ceiling. A network
failure is never reported as "does not exist": it is `Outcome.UNAVAILABLE`.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx

from ..config import Settings
from ..schema import url_problem
from .cache import Fetched
from .keys import crossref_path, proxy_path

CSL_JSON = "application/vnd.citationstyles.csl+json"
MAX_BODY = 16 * 1024 * 1024
RETRIED = frozenset({429, 500, 502, 503, 504})


class Outcome(enum.StrEnum):
    FOUND = "found"
    NOT_FOUND = "not-found"  # no registration agency knows the DOI
    NO_METADATA = "no-metadata"  # registered, but the agency offers no citation metadata
    UNAVAILABLE = "unavailable"  # could not ask: nothing is known


@dataclass(frozen=True)
class Lookup:
    doi: str
    outcome: Outcome
    detail: str = ""  # what happened, for messages
    fetched: Fetched | None = None


@dataclass(frozen=True)
class RegistryConfig:
    """Where and how to ask. `timeout` is per request (seconds); `attempts` per URL; a
    `Retry-After` above `max_wait` seconds is not waited for."""

    crossref_url: str = "https://api.crossref.org"
    doi_url: str = "https://doi.org"
    mailto: str = ""
    timeout: float = 20.0
    attempts: int = 3
    backoff: float = 1.0
    max_wait: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None,
                      **overrides: Any) -> RegistryConfig:
        """newsletter.yaml's `crossref_url`/`doi_url`, overridden by NEWSLETTER_CROSSREF_URL /
        NEWSLETTER_DOI_URL. Raises ValueError naming the variable for a URL that is not http(s)."""
        urls = _urls(settings.crossref_url, settings.doi_url, environ)
        return cls(*urls, settings.crossref_mailto, **overrides)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> RegistryConfig:
        """The public registries (or the NEWSLETTER_*_URL overrides), outside any project."""
        return cls(*_urls(cls.crossref_url, cls.doi_url, environ), **overrides)


def _urls(crossref: str, doi: str, environ: Mapping[str, str] | None) -> tuple[str, str]:
    env = os.environ if environ is None else environ
    urls = [crossref, doi]
    for i, var in enumerate(("NEWSLETTER_CROSSREF_URL", "NEWSLETTER_DOI_URL")):
        if env.get(var):
            problem = url_problem(env[var])
            if problem:
                raise ValueError(f"{var}: {problem}")
            urls[i] = env[var].rstrip("/")
    return urls[0], urls[1]


class _Unavailable(Exception):
    pass


class Registry:
    """A client for the lookups above; `sleep` is injectable so tests need not wait."""

    def __init__(self, config: RegistryConfig, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.sleep = sleep
        agent = f"newsletter/{_version()}" + (f" (mailto:{config.mailto})" if config.mailto else "")
        self.client = httpx.Client(timeout=config.timeout, headers={"User-Agent": agent},
                                   follow_redirects=True, max_redirects=5, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def lookup(self, doi: str) -> Lookup:
        """Ask Crossref, then the DOI proxy; never raises for network or server trouble."""
        try:
            return self._lookup(doi)
        except _Unavailable as exc:
            return Lookup(doi, Outcome.UNAVAILABLE, str(exc))

    def _lookup(self, doi: str) -> Lookup:
        c = self.config
        params = {"mailto": c.mailto} if c.mailto else None
        url = f"{c.crossref_url}/works/{crossref_path(doi)}"
        r = self._get(url, "application/json", "Crossref", params)
        if r.status_code == 200:
            return Lookup(doi, Outcome.FOUND, "Crossref", self._fetched(doi, r, "crossref", "Crossref"))
        if r.status_code != 404:
            raise _Unavailable(f"Crossref answered {r.status_code} {r.reason_phrase}")
        agency = self._agency(doi)
        if agency is None:
            return Lookup(doi, Outcome.NOT_FOUND, "neither Crossref nor the DOI system knows it")
        r = self._get(f"{c.doi_url}/{proxy_path(doi)}", CSL_JSON, f"doi.org ({agency})")
        if r.status_code in (404, 406, 415):
            return Lookup(doi, Outcome.NO_METADATA, f"registered with {agency}, which offers no "
                                                    "citation metadata for it")
        if r.status_code != 200:
            raise _Unavailable(f"doi.org ({agency}) answered {r.status_code} {r.reason_phrase}")
        return Lookup(doi, Outcome.FOUND, agency, self._fetched(doi, r, "doi.org", agency))

    def _agency(self, doi: str) -> str | None:
        r = self._get(f"{self.config.doi_url}/doiRA/{proxy_path(doi)}", "application/json", "doi.org")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise _Unavailable(f"doi.org answered {r.status_code} {r.reason_phrase}")
        body = _json(r, "doi.org")
        entry = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
        if entry.get("RA"):
            return str(entry["RA"])
        status = str(entry.get("status", ""))
        if status in ("DOI does not exist", "Invalid DOI"):
            return None
        raise _Unavailable(f"doi.org could not say who registered it ({status or 'no answer'})")

    def _fetched(self, doi: str, r: httpx.Response, registry: str, agency: str) -> Fetched:
        body = _json(r, agency)
        f = Fetched(doi, registry, agency, str(r.url), r.status_code,
                    r.headers.get("content-type", ""), body)
        try:
            f.item()
        except ValueError as exc:
            raise _Unavailable(f"{agency} sent a record that cannot be used ({exc})") from None
        return f

    def _get(self, url: str, accept: str, who: str,
             params: dict[str, str] | None = None) -> httpx.Response:
        c = self.config
        reason = ""
        for attempt in range(1, c.attempts + 1):
            wait = c.backoff * 2 ** (attempt - 1)
            try:
                r = self.client.get(url, params=params, headers={"Accept": accept})
            except httpx.TimeoutException:
                reason = f"{who} did not answer within {c.timeout:g} s"
            except httpx.HTTPError as exc:  # refused, reset, DNS, TLS, too many redirects
                reason = f"{who} could not be reached ({type(exc).__name__}: {exc})"
            else:
                if int(r.headers.get("content-length") or 0) > MAX_BODY or len(r.content) > MAX_BODY:
                    raise _Unavailable(f"{who} sent more than {MAX_BODY // 2**20} MB")
                if r.status_code not in RETRIED:
                    return r
                reason = f"{who} answered {r.status_code} {r.reason_phrase}"
                asked = retry_after(r.headers.get("retry-after"))
                if asked is not None:
                    if asked > c.max_wait:
                        raise _Unavailable(f"{reason} and asks to wait {asked:g} s; try again later")
                    wait = asked
            if attempt < c.attempts:
                self.sleep(wait)
        raise _Unavailable(f"{reason} ({c.attempts} attempt{'s' if c.attempts != 1 else ''})")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or
    unreadable. A date in the past means 0."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsletter")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


def _json(r: httpx.Response, who: str) -> Any:
    try:
        return r.json()
    except ValueError:
        raise _Unavailable(f"{who} sent a response that is not JSON "
                           f"({r.headers.get('content-type', 'no media type')})") from None
