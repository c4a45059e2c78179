"""The registry client against a fake Crossref + doi.org on loopback: every answer it must handle."""

from __future__ import annotations

import ast
import socket
from email.utils import formatdate
from pathlib import Path

import pytest

from newsletter.content.references.registry import Outcome, Registry, RegistryConfig, retry_after
from tests.fake_registry import FakeRegistry, Fault, crossref_record, datacite_item

PACKAGE = Path(__file__).resolve().parents[3] / "newsletter"


def client(fake: FakeRegistry, slept: list[float], **config: float) -> Registry:
    cfg = RegistryConfig(fake.crossref_url, fake.doi_url, "editor@example.org",
                         **{"timeout": 2.0, "backoff": 0.5, **config})  # type: ignore[arg-type]
    return Registry(cfg, sleep=slept.append)


def test_found_at_crossref_in_the_polite_pool(fake_registry: FakeRegistry) -> None:
    doi = fake_registry.add_crossref(crossref_record("10.1037/pst0000172"))
    slept: list[float] = []
    with client(fake_registry, slept) as reg:
        found = reg.lookup(doi)
    assert found.outcome is Outcome.FOUND and found.fetched is not None
    assert found.fetched.item()["title"] == "The alliance in adult psychotherapy: A meta-analytic synthesis"
    [seen] = fake_registry.seen
    assert seen.raw_uri.startswith("/crossref/works/10.1037%2Fpst0000172?")  # one encoded path segment
    assert seen.args == {"mailto": "editor@example.org"}
    assert "mailto:editor@example.org" in seen.headers["User-Agent"] and slept == []


def test_awkward_doi_characters_are_percent_encoded(fake_registry: FakeRegistry) -> None:
    doi = "10.1002/(SICI)1097-4679(199802)54:2<169::AID-JCLP5>3.0.CO;2-R#x?y"
    slept: list[float] = []
    with client(fake_registry, slept) as reg:
        assert reg.lookup(doi).outcome is Outcome.NOT_FOUND
    crossref, ra = fake_registry.seen
    assert crossref.doi == doi and ra.doi == doi  # arrived intact
    assert "<" not in crossref.raw_uri and "#" not in crossref.raw_uri and "%2F" in crossref.raw_uri
    assert ra.raw_uri.startswith("/doi/doiRA/10.1002/") and "%3C169" in ra.raw_uri


def test_404_then_datacite_by_content_negotiation(fake_registry: FakeRegistry) -> None:
    fake_registry.add_other("10.14454/FXWS-0523", "DataCite", datacite_item("10.14454/fxws-0523"))
    slept: list[float] = []
    with client(fake_registry, slept) as reg:
        found = reg.lookup("10.14454/FXWS-0523")
    assert found.outcome is Outcome.FOUND and found.detail == "DataCite" and found.fetched is not None
    assert fake_registry.routes() == ["crossref", "ra", "cn"]
    assert fake_registry.seen[2].headers["Accept"] == "application/vnd.citationstyles.csl+json"
    assert found.fetched.url.endswith("/agency/10.14454/FXWS-0523")  # the redirect was followed
    custom = found.fetched.item()["custom"]
    assert (custom["registry"], custom["agency"], custom["years"]) == ("doi.org", "DataCite", {"issued": 2021})


def test_404_everywhere_is_not_found(fake_registry: FakeRegistry) -> None:
    slept: list[float] = []
    with client(fake_registry, slept) as reg:
        found = reg.lookup("10.1037/pst9999999")
    assert found.outcome is Outcome.NOT_FOUND and fake_registry.routes() == ["crossref", "ra"]


def test_registered_without_metadata(fake_registry: FakeRegistry) -> None:
    fake_registry.add_other("10.5555/nometa", "JaLC", None)
    with client(fake_registry, []) as reg:
        found = reg.lookup("10.5555/nometa")
    assert found.outcome is Outcome.NO_METADATA and "registered with JaLC" in found.detail


def test_429_honours_retry_after_seconds_and_dates(fake_registry: FakeRegistry) -> None:
    doi = fake_registry.add_crossref(crossref_record("10.1037/pst0000172"))
    fake_registry.fail("crossref", Fault(429, {"Retry-After": "3"}),
                       Fault(503, {"Retry-After": formatdate(usegmt=True)}))
    slept: list[float] = []
    with client(fake_registry, slept) as reg:
        assert reg.lookup(doi).outcome is Outcome.FOUND
    assert slept[0] == 3.0 and 0 <= slept[1] <= 1.0 and len(fake_registry.seen) == 3


def test_a_long_retry_after_is_not_waited_for(fake_registry: FakeRegistry) -> None:
    doi = fake_registry.add_crossref(crossref_record("10.1037/pst0000172"))
    fake_registry.fail("crossref", Fault(429, {"Retry-After": "3600"}))
    slept: list[float] = []
    with client(fake_registry, slept) as reg:
        found = reg.lookup(doi)
    assert found.outcome is Outcome.UNAVAILABLE and slept == []
    assert found.detail == "Crossref answered 429 TOO MANY REQUESTS and asks to wait 3600 s; try again later"


def test_5xx_is_retried_with_backoff_then_given_up(fake_registry: FakeRegistry) -> None:
    doi = fake_registry.add_crossref(crossref_record("10.1037/pst0000172"))
    fake_registry.fail("crossref", Fault(500), Fault(502))
    slept: list[float] = []
    with client(fake_registry, slept) as reg:
        assert reg.lookup(doi).outcome is Outcome.FOUND
        assert slept == [0.5, 1.0]
        fake_registry.fail("crossref", Fault(503), Fault(503), Fault(503))
        found = reg.lookup(doi)
    assert found.outcome is Outcome.UNAVAILABLE
    assert found.detail == "Crossref answered 503 SERVICE UNAVAILABLE (3 attempts)"


def test_timeout_is_unavailable_never_not_found(fake_registry: FakeRegistry) -> None:
    doi = fake_registry.add_crossref(crossref_record("10.1037/pst0000172"))
    fake_registry.fail("crossref", Fault(delay=0.6), Fault(delay=0.6))
    slept: list[float] = []
    with client(fake_registry, slept, timeout=0.2, attempts=2) as reg:
        found = reg.lookup(doi)
    assert found.outcome is Outcome.UNAVAILABLE
    assert found.detail == "Crossref did not answer within 0.2 s (2 attempts)"


def test_a_slow_answer_within_the_timeout_is_fine(fake_registry: FakeRegistry) -> None:
    doi = fake_registry.add_crossref(crossref_record("10.1037/pst0000172"))
    fake_registry.fail("crossref", Fault(delay=0.3))
    with client(fake_registry, [], timeout=2.0) as reg:
        assert reg.lookup(doi).outcome is Outcome.FOUND


def test_a_failure_after_a_404_is_still_unavailable(fake_registry: FakeRegistry) -> None:
    fake_registry.fail("ra", Fault(500), Fault(500), Fault(500))
    with client(fake_registry, []) as reg:
        found = reg.lookup("10.1037/unknown")
    assert found.outcome is Outcome.UNAVAILABLE and found.detail.startswith("doi.org answered 500")


def test_a_200_that_is_not_json(fake_registry: FakeRegistry) -> None:
    fake_registry.fail("crossref", Fault(200, {"Content-Type": "text/html"}, "<html>maintenance</html>"))
    with client(fake_registry, []) as reg:
        found = reg.lookup("10.1037/pst0000172")
    assert found.outcome is Outcome.UNAVAILABLE and "not JSON (text/html" in found.detail


def test_nothing_listening() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connection refused
    cfg = RegistryConfig(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}", "", timeout=1.0, attempts=2)
    slept: list[float] = []
    with Registry(cfg, sleep=slept.append) as reg:
        found = reg.lookup("10.1037/pst0000172")
    assert found.outcome is Outcome.UNAVAILABLE and found.detail.startswith("Crossref could not be reached (ConnectError")
    assert slept == [1.0]


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), (None, None), ("soon", None),
                                                ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_forms(value: str | None, seconds: float | None) -> None:
    assert retry_after(value) == seconds


def test_env_overrides_and_bad_urls(settings) -> None:  # type: ignore[no-untyped-def]
    cfg = RegistryConfig.from_settings(settings, {"NEWSLETTER_CROSSREF_URL": "http://127.0.0.1:9/cr/"})
    assert (cfg.crossref_url, cfg.doi_url, cfg.mailto) == ("http://127.0.0.1:9/cr", "https://doi.org",
                                                            "editor@news.example.org")
    with pytest.raises(ValueError, match="NEWSLETTER_DOI_URL: URL must start with http:// or https://"):
        RegistryConfig.from_settings(settings, {"NEWSLETTER_DOI_URL": "ftp://mirror.example.org"})


def test_only_check_and_cite_import_the_network_client() -> None:
    from tests.test_architecture import imports_of, module_name

    users = {module_name(p) for p in PACKAGE.rglob("*.py") for i in imports_of(p)
             if i.target.startswith(("content.references.registry", "content.references.online"))}
    assert users <= {"cli.check", "cli.cite", "content.references.online"}, users
    httpx_users = {module_name(p) for p in PACKAGE.rglob("*.py")
                   if any(isinstance(n, ast.Import | ast.ImportFrom) and "httpx" in ast.unparse(n)
                          for n in ast.walk(ast.parse(p.read_text("utf-8"))))}
    assert {m for m in httpx_users if m.startswith("content.")} == {"content.references.registry"}
