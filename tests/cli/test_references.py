"""`check --online`, the cache and `cite` as a user runs them (subprocesses, a fake registry on loopback)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_registry import FakeRegistry, crossref_record

ISSUE = """month: "2021-06"
intro: |
  Two papers on the alliance.
articles:
  - title: "Why the Alliance Matters"
    doi: "10.1080/10503307.2020.1817603"
    topics: [alliance]
    summary: |
      A summary of our own.
    implications: |
      Implications of our own.
  - title: "The Alliance in Adult Psychotherapy"
    citation: "Flückiger, C., Del Ree, A. C., Wampold, B. E., & Horvath, A. O. (2017). The alliance in
      adult psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316–340."
    doi: "10.1037/pst0000172"
    topics: [alliance]
    summary: |
      Another summary of our own.
    implications: |
      More implications.
"""
JANIS = ("Janis, R. A., Burlingame, G. M., Svien, H., Jensen, J., & Lundgreen, R. (2021). Group therapy for mood "
         "disorders: A meta-analysis. Psychotherapy Research, 31(3), 342–358.")


def cli(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "newsletter.cli", *args], cwd=project, env=full,
                          capture_output=True, text=True, timeout=120, check=False)


def registry_env(fake: FakeRegistry) -> dict[str, str]:
    return {"NEWSLETTER_CROSSREF_URL": fake.crossref_url, "NEWSLETTER_DOI_URL": fake.doi_url}


@pytest.fixture
def site(project: Path) -> Path:
    for old in (project / "issues").glob("*.yaml"):
        old.unlink()
    (project / "issues" / "2021-06.yaml").write_text(ISSUE, encoding="utf-8")
    return project


def test_check_online_caches_fills_in_and_warns(site: Path, fake_registry: FakeRegistry) -> None:
    for doi in ("10.1080/10503307.2020.1817603", "10.1037/pst0000172"):
        fake_registry.add_crossref(crossref_record(doi))
    before = cli(site, "check", "--no-subscribers")
    assert before.returncode == 0, before.stderr
    assert "issues/2021-06.yaml:6:10: warning: articles[0].doi: 10.1080/10503307.2020.1817603 has not been " \
           "looked up yet: run `newsletter check --online`" in before.stderr

    result = cli(site, "check", "--online", "--no-subscribers", env=registry_env(fake_registry))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "10.1037/pst0000172: found at Crossref; cached in references/10.1037/pst0000172.json" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        ("issues/2021-06.yaml:13:31: warning: articles[1].citation: author 2 'Del Ree' does not match the "
        "registry's 'Del Re'"),
        "issues/2021-06.yaml:13:81: warning: articles[1].citation: year 2017 does not match the registry (2018)",
    ]
    raw = json.loads((site / "references/10.1037/pst0000172.raw.json").read_text("utf-8"))
    assert raw["status"] == 200 and raw["body"]["message-type"] == "work"
    assert json.loads((site / "references/10.1037/pst0000172.json").read_text("utf-8"))["DOI"] == "10.1037/pst0000172"

    # every other command now works from the cache, with no registry at all
    fake_registry.server.clear()
    out = site / "out"
    rendered = cli(site, "render", "issues/2021-06.yaml", "--out", str(out))
    assert rendered.returncode == 0, rendered.stderr
    text = (out / "2021-06.txt").read_text("utf-8")
    assert " ".join(JANIS.split()) in " ".join(text.split())
    html = (out / "2021-06.html").read_text("utf-8")
    assert "<i>Psychotherapy Research</i>, <i>31</i>(3), 342–358." in html, html
    assert 'href="https://doi.org/10.1080/10503307.2020.1817603"' in html  # the template's own link
    again = cli(site, "check", "--no-subscribers")
    assert again.returncode == 0 and "has not been looked up" not in again.stderr
    assert "author 2 'Del Ree'" in again.stderr  # the same warnings, offline

    # the registry is back: a second online check changes nothing in the committed cache
    back = FakeRegistry(fake_registry.server)
    for doi in ("10.1080/10503307.2020.1817603", "10.1037/pst0000172"):
        back.add_crossref(crossref_record(doi))
    stamp = (site / "references/10.1037/pst0000172.raw.json").stat().st_mtime_ns
    third = cli(site, "check", "--online", "--no-subscribers", env=registry_env(back))
    assert "unchanged in references/10.1037/pst0000172.json" in third.stdout, third.stdout + third.stderr
    assert (site / "references/10.1037/pst0000172.raw.json").stat().st_mtime_ns == stamp


def test_a_doi_nobody_knows_is_an_error(site: Path, fake_registry: FakeRegistry) -> None:
    fake_registry.add_crossref(crossref_record("10.1037/pst0000172"))
    result = cli(site, "check", "--online", "--no-subscribers", env=registry_env(fake_registry))
    assert result.returncode == 2
    assert ("issues/2021-06.yaml:6:10: articles[0].doi: 10.1080/10503307.2020.1817603 does not resolve: neither "
            "Crossref nor the DOI system knows it (a typo in the DOI?)") in result.stderr
    assert result.stderr.splitlines()[-1] == "1 problem found; nothing was sent"


def test_registry_down_is_could_not_check(site: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = cli(site, "check", "--online", "--no-subscribers", "--timeout", "2",
                 env={"NEWSLETTER_CROSSREF_URL": url, "NEWSLETTER_DOI_URL": url})
    assert result.returncode == 7, result.stderr
    assert "Traceback" not in result.stderr and "does not resolve" not in result.stderr
    assert ("issues/2021-06.yaml:6:10: articles[0].doi: could not check 10.1080/10503307.2020.1817603: Crossref "
            "could not be reached (ConnectError") in result.stderr
    assert "articles[1].doi: could not check 10.1037/pst0000172: not tried: Crossref could not be reached" \
           in result.stderr  # one round of failures, not one per DOI
    assert result.stderr.splitlines()[-1].startswith("could not check 2 DOI references against the registries")


def test_cite_prints_a_reference_and_caches_it(site: Path, fake_registry: FakeRegistry) -> None:
    fake_registry.add_crossref(crossref_record("10.1037/cou0000424"))
    result = cli(site, "cite", "https://doi.org/10.1037/cou0000424", env=registry_env(fake_registry))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Flückiger, C., Del Re, A. C., Wlodasch, D.")
    assert result.stdout.rstrip().endswith("67(6), 706–711. https://doi.org/10.1037/cou0000424")
    assert (site / "references/10.1037/cou0000424.json").exists()
    fake_registry.server.clear()  # no registry any more: from the cache now
    yaml_lines = cli(site, "cite", "doi:10.1037/COU0000424", "--yaml")
    assert yaml_lines.returncode == 0, yaml_lines.stderr
    assert yaml_lines.stdout.splitlines()[1] == '    doi: "10.1037/cou0000424"'
    html = cli(site, "cite", "10.1037/cou0000424", "--html")
    assert "<i>Journal of Counseling Psychology</i>, <i>67</i>(6)" in html.stdout
    bad = cli(site, "cite", "not-a-doi")
    assert bad.returncode == 2 and bad.stderr.startswith("'not-a-doi' is not a DOI")


def test_broken_cache_file_is_located(site: Path) -> None:
    path = site / "references/10.1037/pst0000172.json"
    path.parent.mkdir(parents=True)
    path.write_text('{\n<<<<<<< HEAD\n"DOI": "10.1037/pst0000172"\n', encoding="utf-8")
    result = cli(site, "check", "--no-subscribers")
    assert result.returncode == 0
    assert re.search(r"^references/10\.1037/pst0000172\.json:2:1: warning: is not valid JSON \(.*\); run "
                     r"`newsletter check --online` to fetch it again \(the cached record of 10\.1037/pst0000172 "
                     r"is ignored\)$", result.stderr, re.MULTILINE), result.stderr
