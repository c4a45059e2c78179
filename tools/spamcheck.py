"""SpamAssassin's verdict on every variant of every issue, as a reader of each would get it.

    .venv/bin/python tools/spamcheck.py                # the site in the current folder
    .venv/bin/python tools/spamcheck.py --fixtures     # the test site (tests/fixtures/site)
    .venv/bin/python tools/spamcheck.py issues/2021-04.yaml --max 0

Runs Debian's SpamAssassin 4 (stock rules, local tests only: `spamassassin -L`, no Bayes, no
network) on the finished .eml of each article subset (2^n - 1 per issue) and prints one line per
variant with its score and the rules that fired. Exit status 1 if any score is above `--max`
(default 0) or a rule of `FORBIDDEN` fired; 2 if SpamAssassin is missing and cannot be installed.

Not part of the unit suite: SpamAssassin takes 2-4 s per message and is a 20 MB Debian package.
Run as root it installs the `spamassassin` package when missing (like bench/ installs postfix).
Nothing is written to the site: the token key is a throw-away one and SpamAssassin's state lives
in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# a hidden text coloured like its background; text and HTML parts that say different things;
# image-only or remote-image messages
FORBIDDEN = {"HTML_FONT_LOW_CONTRAST", "MPART_ALT_DIFF", "MPART_ALT_DIFF_COUNT", "HTML_IMAGE_ONLY_32",
             "HTML_SHORT_LINK_IMG_1", "T_REMOTE_IMAGE"}
_STATUS = re.compile(r"^X-Spam-Status: (?P<body>.*?)(?=^\S)", re.MULTILINE | re.DOTALL)


def ensure_spamassassin() -> str:
    exe = shutil.which("spamassassin")
    if exe:
        return exe
    if os.geteuid() != 0:
        print("spamassassin is missing: apt-get install spamassassin (as root), then run again",
              file=sys.stderr)
        sys.exit(2)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "spamassassin"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    exe = shutil.which("spamassassin")
    if not exe:
        print("spamassassin is still missing after installing it", file=sys.stderr)
        sys.exit(2)
    return exe


def score(exe: str, raw: bytes, home: str) -> tuple[float, list[str]]:
    """(score, rules fired) for one message; SpamAssassin's stock rules, no network, no Bayes."""
    out = subprocess.run([exe, "-L", "-t", "-x", "--cf=use_bayes 0", "--cf=use_auto_welcomelist 0"],
                         input=raw, capture_output=True, env={**os.environ, "HOME": home}, check=True,
                         timeout=120).stdout.decode("utf-8", "replace")
    m = _STATUS.search(out)
    if not m:
        raise RuntimeError("SpamAssassin printed no X-Spam-Status header")
    status = re.sub(r",\s+", ",", " ".join(m.group("body").split()))
    value = re.search(r"score=(-?[\d.]+)", status)
    tests = re.search(r"tests=(\S*)", status)
    if not value:
        raise RuntimeError(f"no score in X-Spam-Status: {status}")
    return float(value.group(1)), [t for t in (tests.group(1) if tests else "").split(",") if t and t != "none"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("issues", nargs="*", help="issue files (default: every file in the site's issues/)")
    ap.add_argument("--fixtures", action="store_true", help="check the test site, tests/fixtures/site")
    ap.add_argument("--max", type=float, default=0.0, help="highest score allowed (default 0)")
    args = ap.parse_args(argv)
    exe = ensure_spamassassin()
    os.environ.setdefault("NEWSLETTER_TOKEN_KEYS", "check:spamcheck-throwaway-key-0123456789")
    with tempfile.TemporaryDirectory(prefix="spamcheck-") as tmp:
        root = Path.cwd()
        if args.fixtures:
            root = Path(tmp) / "site"
            shutil.copytree(REPO / "tests" / "fixtures" / "site", root)
            shutil.copytree(REPO / "templates", root / "templates")
        return _run(exe, root, args.issues, args.max, tmp)


def _run(exe: str, root: Path, issues: list[str], limit: float, home: str) -> int:
    from newsletter.content.variants import all_selections
    from newsletter.mail.compose import SAMPLE_SID, Composer, now_header
    from newsletter.mail.message import Recipient

    composer = Composer.load(root)
    reader = Recipient("reader@example.org", "Sample Reader", None, SAMPLE_SID)
    paths = [root / p for p in issues] or sorted(composer.settings.issues_dir.glob("*.yaml"))
    jobs: list[tuple[str, tuple[int, ...], bytes]] = []
    for path in paths:
        issue = composer.issue(path)
        for sel in all_selections(issue):
            cv = composer.compile(issue, sel, campaign=issue.month, date=now_header())
            jobs.append((path.name, sel, cv.build(reader)))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda job: score(exe, job[2], home), jobs))
    bad = 0
    for (name, sel, _), (value, tests) in zip(jobs, results, strict=True):
        flagged = sorted(FORBIDDEN.intersection(tests))
        ok = value <= limit and not flagged
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name} variant {list(sel)}: score {value:+.1f}  {','.join(tests)}")
    worst = max(v for v, _ in results)
    print(f"{len(jobs)} messages, highest score {worst:+.1f} (allowed {limit:+.1f}); "
          f"{bad} over the limit or with one of {', '.join(sorted(FORBIDDEN))}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
