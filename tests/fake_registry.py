"""A fake Crossref + DOI proxy on loopback (pytest-httpserver, a real HTTP server in a thread).

Routes, as the real services document them:

- `GET /crossref/works/{doi}` → 200 `{"status": "ok", "message-type": "work", "message": …}` for a
  record it holds, else 404 "Resource not found." (Crossref's text answer);
- `GET /doi/doiRA/{doi}` → `[{"DOI": …, "RA": "DataCite"}]`, or `[{"DOI": …, "status": "DOI does
  not exist"}]`;
- `GET /doi/{doi}` with `Accept: application/vnd.citationstyles.csl+json` → 302 to the agency
  (`/agency/{doi}`), which answers the CSL-JSON item.

Faults are queued per route (`crossref`, `ra`, `cn`): each request takes the next one, if any.
Every request is recorded with its raw (still percent-encoded) URI and headers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

RECORDS = Path(__file__).parent / "fixtures" / "registry"


def crossref_record(doi: str) -> dict[str, Any]:
    """A stored Crossref envelope by DOI (tests/fixtures/registry/crossref-*.json)."""
    data: dict[str, Any] = json.loads((RECORDS / f"crossref-{doi.replace('/', '_')}.json").read_text("utf-8"))
    return data


def datacite_item(doi: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDS / f"datacite-{doi.lower().replace('/', '_')}.json")
                                      .read_text("utf-8"))
    return data


@dataclass
class Fault:
    status: int = 0  # 0: answer normally (after `delay`)
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    delay: float = 0.0


@dataclass
class Seen:
    route: str
    raw_uri: str
    doi: str
    headers: dict[str, str]
    args: dict[str, str]


class FakeRegistry:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.crossref: dict[str, dict[str, Any]] = {}  # doi key → envelope
        self.agencies: dict[str, str] = {}  # doi key → RA, for DOIs not at Crossref
        self.csl: dict[str, dict[str, Any]] = {}  # doi key → CSL item (content negotiation)
        self.faults: dict[str, list[Fault]] = {"crossref": [], "ra": [], "cn": []}
        self.seen: list[Seen] = []
        server.expect_request(_prefix("/crossref/works/")).respond_with_handler(self._works)
        server.expect_request(_prefix("/doi/doiRA/")).respond_with_handler(self._ra)
        server.expect_request(_prefix("/agency/")).respond_with_handler(self._agency)
        server.expect_request(_prefix("/doi/")).respond_with_handler(self._proxy)

    @property
    def crossref_url(self) -> str:
        return self.server.url_for("/crossref").rstrip("/")

    @property
    def doi_url(self) -> str:
        return self.server.url_for("/doi").rstrip("/")

    def add_crossref(self, envelope: dict[str, Any]) -> str:
        doi = str(envelope["message"]["DOI"])
        self.crossref[doi.lower()] = envelope
        return doi

    def add_other(self, doi: str, agency: str, item: dict[str, Any] | None) -> None:
        self.agencies[doi.lower()] = agency
        if item is not None:
            self.csl[doi.lower()] = item

    def fail(self, route: str, *faults: Fault) -> None:
        self.faults[route].extend(faults)

    def routes(self) -> list[str]:
        return [s.route for s in self.seen]

    # -- handlers --------------------------------------------------------------------------------
    def _take(self, route: str, request: Request, doi: str) -> Response | None:
        self.seen.append(Seen(route, request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI", ""),
                              doi, dict(request.headers), dict(request.args)))
        if not self.faults[route]:
            return None
        f = self.faults[route].pop(0)
        if f.delay:
            time.sleep(f.delay)
        if f.status:
            return Response(f.body, status=f.status, headers=f.headers)
        return None

    def _works(self, request: Request) -> Response:
        doi = _doi(request, "/crossref/works/")
        fault = self._take("crossref", request, doi)
        if fault is not None:
            return fault
        envelope = self.crossref.get(doi.lower())
        if envelope is None:
            return Response("Resource not found.", status=404, content_type="text/plain")
        return Response(json.dumps(envelope), content_type="application/json")

    def _ra(self, request: Request) -> Response:
        doi = _doi(request, "/doi/doiRA/")
        fault = self._take("ra", request, doi)
        if fault is not None:
            return fault
        key = doi.lower()
        agency = "Crossref" if key in self.crossref else self.agencies.get(key)
        entry = {"DOI": doi, "RA": agency} if agency else {"DOI": doi, "status": "DOI does not exist"}
        return Response(json.dumps([entry]), content_type="application/json")

    def _proxy(self, request: Request) -> Response:
        doi = _doi(request, "/doi/")
        fault = self._take("cn", request, doi)
        if fault is not None:
            return fault
        if doi.lower() not in self.agencies and doi.lower() not in self.crossref:
            return Response("DOI Not Found", status=404, content_type="text/html")
        return Response("", status=302, headers={"Location": self.server.url_for("/agency/" + doi)})

    def _agency(self, request: Request) -> Response:
        doi = _doi(request, "/agency/")
        item = self.csl.get(doi.lower())
        if item is None or "citationstyles" not in request.headers.get("Accept", ""):
            return Response("no metadata", status=406, content_type="text/plain")
        return Response(json.dumps(item), content_type="application/vnd.citationstyles.csl+json")


def _prefix(prefix: str) -> Any:
    import re

    return re.compile("^" + re.escape(prefix) + ".+")


def _doi(request: Request, prefix: str) -> str:
    return request.path[len(prefix):]  # the server has percent-decoded the path once


def start_server() -> Iterator[HTTPServer]:
    """A threaded loopback server (a slow answer must not hold up the next request)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()
