"""The benchmark suite: every figure measured in one run, on loopback, against a baseline from
the same run, printed as a table and written to bench/RESULTS.md.

    .venv/bin/python bench/run.py [--subscribers 20000] [--connections 4] [--rounds 3] [--quick]

1. render: one issue end to end after start-up, each variant, against mjml2html alone;
2. message: per-recipient build after rendering, against the EmailMessage path;
3. subscribers: loading and validating 100,000, against libyaml's safe loader; peak RSS;
4. dispatch over TLS (socat in front of smtp-sink), on loopback and through a delay proxy (a relay
   40 ms away) at 4, 16 and 64 connections: the real `newsletter send` path against
   (a) bare aiosmtplib pushing the same pre-built bytes over the same connections,
   (b) a one-round-trip pipelining client (RFC 2920) on the same bytes,
   (c) a hand-written per-recipient jinja2 + mjml + premailer + EmailMessage + send_message loop;
5. scaling: the real send at 10k, 50k and 100k subscribers (loopback + TLS): time and peak RSS;
6. start-up of `check` / `render` (a fresh process until ready to render) against the bare interpreter;
7. preview reload latency, from bench/preview_latency.py: with an empty outbox and with 20,000
   messages in it (the same run's empty-outbox figure is the baseline);
8. the preview's subscriber search at 100,000 readers (bench/subscriber_search.py), against a
   plain scan of the list and against an empty request to the same server.

Every measurement that has a peak RSS or CPU time runs in a fresh interpreter (bench/_worker.py).
Needs `smtp-sink` (Debian package postfix; installed unconfigured if missing) and `socat`; they
and the delay proxy run on free high ports of 127.0.0.1 for the duration of the run only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CA_FILE,
    PYTHON,
    REPO,
    delay_proxy,
    env,
    machine,
    make_project,
    run_worker,
    smtp_sink,
    tls_files,
    tls_front,
    write_subscribers,
)

# what `newsletter check` / `render` do before their first render: the entry point's module,
# then the configuration, the templates compiled and linted (newsletter/cli/check.py, render.py)
STARTUP = ("from pathlib import Path\nfrom newsletter.cli.main import main\n"
           "from newsletter.mail.compose import Composer\nComposer.load(Path.cwd())\n")
REPORT = ("import json, sys\nprint(json.dumps({'modules': len(sys.modules), 'asyncio': 'asyncio' in sys.modules, "
          "'requests': 'requests' in sys.modules}))\n")

Row = tuple[str, str, str, str, str, str]  # measure, ours, baseline, ratio, target, verdict


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ms(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s >= 0.001 else f"{s * 1e6:.0f} µs"


def minutes(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "MISSED")


class Bench:
    def __init__(self, a: argparse.Namespace, tmp: Path) -> None:
        self.a, self.tmp = a, tmp
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.raw: dict[str, Any] = {}
        self._lists: dict[int, Path] = {}

    def subscribers(self, n: int) -> Path:
        if n not in self._lists:
            self._lists[n] = write_subscribers(self.tmp / f"subscribers-{n}.yaml", n)
        return self._lists[n]

    def project(self, name: str) -> Path:
        return make_project(self.tmp / name)

    def row(self, *cells: str) -> None:
        self.rows.append(cells)  # type: ignore[arg-type]

    # -- 1 -------------------------------------------------------------------------------------
    def render(self) -> None:
        log("1/8 render")
        r = run_worker("render", "--repeat", str(self.a.repeat), cwd=self.project("render"))
        self.raw["render"] = r
        e2e, base = float(r["end_to_end_s"]), float(r["mjml2html_alone_s"])
        pv = r["per_variant_s"]
        assert isinstance(pv, dict)
        full = max(pv, key=len)
        self.row("Render: one issue end to end after start-up (median)", ms(e2e),
                 f"mjml2html alone {ms(base)}", f"{e2e / base:.0f}x", "≤ 50 ms", verdict(e2e <= 0.050))
        self.row("Render: per variant (median; all articles … one article)",
                 f"{ms(pv[full])} … {ms(min(pv.values()))}", "", "", "", "—")
        self.row(f"Render: all {len(pv)} variants (pre-flight)", ms(float(r['all_variants_s'])), "", "", "", "—")
        self.notes.append(
            f"Render: start-up (imports, configuration, templates compiled and linted) "
            f"{ms(float(r['startup_s']))}; the first render after it {ms(float(r['first_s']))}. Inside one "
            f"full-variant render, mjml2html takes {ms(float(r['mjml_share_s']))} and premailer "
            f"{ms(float(r['premailer_share_s']))}; the rest is jinja2, Markdown, the text part, and (end "
            f"to end) loading and validating the issue YAML and building the message.")

    # -- 2 -------------------------------------------------------------------------------------
    def message(self) -> None:
        log("2/8 message building")
        n = 2000 if self.a.quick else 5000
        r = run_worker("message", "--subs", str(self.subscribers(n)), "--repeat", str(max(3, self.a.rounds)),
                       "--sample", "100" if self.a.quick else "300", cwd=self.project("message"))
        self.raw["message"] = r
        fast, slow = float(r["fast_s"]), float(r["email_package_s"])
        self.row("Message: per-recipient build, fast path (median)", ms(fast),
                 f"EmailMessage path {ms(slow)}", f"{slow / fast:.0f}x faster", "≤ 0.2 ms",
                 verdict(fast <= 0.0002))
        self.notes.append(f"Message: {r['recipients']} recipients of a {n}-subscriber list over every "
                          f"variant, fresh variants each repetition; the EmailMessage path on "
                          f"{r['email_package_sample']} of them.")

    # -- 3 -------------------------------------------------------------------------------------
    def load(self) -> None:
        n = 10_000 if self.a.quick else 100_000
        log(f"3/8 loading {n} subscribers")
        subs = self.subscribers(n)
        proj = self.project("load")
        runs = [run_worker("load", "--subs", str(subs), cwd=proj) for _ in range(self.a.rounds)]
        base = run_worker("parse", "--subs", str(subs), cwd=proj)
        best = min(runs, key=lambda r: float(r["load_s"]))
        self.raw["load"] = {"runs": runs, "baseline": base}
        t, bt = float(best["load_s"]), float(base["load_s"])
        grow = max(float(r["peak_rss_mb"]) for r in runs) - float(best["rss_start_mb"])
        bgrow = float(base["peak_rss_mb"]) - float(base["rss_start_mb"])
        self.row(f"Subscribers: load + validate {n:,} (best of {len(runs)})", f"{t:.2f} s",
                 f"yaml CSafeLoader alone {bt:.2f} s", f"{bt / t:.1f}x faster",
                 "≤ 5 s" if n == 100_000 else "≤ 5 s at 100k", verdict(t <= 5.0 * n / 100_000))
        self.row(f"Subscribers: peak RSS while loading {n:,}",
                 f"{max(float(r['peak_rss_mb']) for r in runs):.0f} MB (+{grow:.0f} MB)",
                 f"{float(base['peak_rss_mb']):.0f} MB (+{bgrow:.0f} MB)", f"{bgrow / grow:.1f}x less", "",
                 "—")

    # -- 4 -------------------------------------------------------------------------------------
    def regimes(self, near: int, far: int) -> list[tuple[str, int, int, int]]:
        """(label, port, connections, subscribers): loopback, then a relay 40 ms away (round
        trip) at 4, 16 and 64 connections; lists sized so a run takes seconds, not minutes."""
        q = self.a.quick
        far_sizes = ((4, 300), (16, 600), (64, 1200)) if q else ((4, 1500), (16, 4500), (64, 9000))
        return [("loopback", near, self.a.connections, self.a.subscribers),
                *[("40 ms RTT", far, c, n) for c, n in far_sizes]]

    def dispatch(self, near: int, far: int) -> None:
        regimes = self.regimes(near, far)
        log(f"4/8 dispatch with TLS: {[(r[0], r[2], r[3]) for r in regimes]}, {self.a.rounds} round(s)")
        runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
        sample = self.tmp / "sample.eml"
        for i in range(self.a.rounds):  # interleaved: the box is shared and noisy
            for k, (label, port, c, n) in enumerate(regimes):
                kinds = ("ours", "process", "floor", "ref") if k == 0 else ("ours", "floor", "ref")
                for kind in kinds:
                    where = make_project(self.tmp / f"{kind}-{k}-{i}", smtp_port=port)
                    if kind == "process":  # the same send with `durability: process` (no fsync per group)
                        cfg = where / "newsletter.yaml"
                        cfg.write_text(cfg.read_text() + "\ndurability: process\n")
                    cmd = {"ours": "send", "process": "send", "floor": "floor", "ref": "refclient"}[kind]
                    r = run_worker(cmd, "--subs", str(self.subscribers(n)), "--port", str(port),
                                   "--connections", str(c), "--sample-out", str(sample), cwd=where)
                    runs.setdefault((k, kind), []).append(r)
                    log(f"  round {i + 1} {label} {c} conn {kind}: {float(r['rate']):.1f} msg/s")
        hand = run_worker("handwritten", "--subs", str(self.subscribers(self.a.subscribers)), "--port", str(near),
                          "--connections", str(self.a.connections), "--sample", "100" if self.a.quick else "300",
                          cwd=make_project(self.tmp / "handwritten", smtp_port=near))
        log(f"  hand-written: {float(hand['rate']):.0f} msg/s")
        self.raw["dispatch"] = {"regimes": regimes, "runs": {f"{k}/{kind}": v for (k, kind), v in runs.items()},
                                "handwritten": hand}

        def best(k: int, kind: str) -> dict[str, Any]:
            return max(runs[(k, kind)], key=lambda r: float(r["rate"]))

        def paired(k: int, kind: str, base: str) -> float:
            return statistics.median(float(o["rate"]) / float(f["rate"])
                                     for o, f in zip(runs[(k, kind)], runs[(k, base)], strict=True))

        ours0, floor0, ref0 = best(0, "ours"), best(0, "floor"), best(0, "ref")
        rate, frate, rrate = float(ours0["rate"]), float(floor0["rate"]), float(ref0["rate"])
        sent = int(ours0["sent"])
        c0, n0 = regimes[0][2], regimes[0][3]
        self.row(f"Dispatch, loopback + TLS: `send` to {n0:,} subscribers ({sent:,} messages), {c0} connections, "
                 "against bare aiosmtplib with the same bytes", f"{rate:.0f} msg/s", f"{frate:.0f} msg/s",
                 f"{rate / frate:.2f} (paired median {paired(0, 'ours', 'floor'):.2f})", "≥ 1.0",
                 verdict(rate / frate >= 1.0))
        self.row("Dispatch, loopback + TLS: against the one-round-trip pipelining client", f"{rate:.0f} msg/s",
                 f"{rrate:.0f} msg/s", f"{rate / rrate:.2f} (paired median {paired(0, 'ours', 'ref'):.2f})", "",
                 "—")
        lrate = float(best(0, "process")["rate"])
        self.row("Dispatch, loopback + TLS, `durability: process` (no fsync per group) against bare aiosmtplib",
                 f"{lrate:.0f} msg/s", f"{frate:.0f} msg/s",
                 f"{lrate / frate:.2f} (paired median {paired(0, 'process', 'floor'):.2f})", "", "—")
        waits = []
        for k, (label, _, c, n) in enumerate(regimes[1:], start=1):
            o, f, r = best(k, "ours"), best(k, "floor"), best(k, "ref")
            orate, fr, rr = float(o["rate"]), float(f["rate"]), float(r["rate"])
            target = "≥ 0.8" if c in (4, 16) else ""
            self.row(f"Dispatch, {label} + TLS, {c} connections ({int(o['sent']):,} messages): against the "
                     "one-round-trip pipelining client", f"{orate:.1f} msg/s", f"{rr:.1f} msg/s",
                     f"{orate / rr:.2f} (paired median {paired(k, 'ours', 'ref'):.2f})", target,
                     verdict(orate / rr >= 0.8) if target else "—")
            self.row(f"Dispatch, {label} + TLS, {c} connections: against bare aiosmtplib (4 round trips a "
                     "message)", f"{orate:.1f} msg/s", f"{fr:.1f} msg/s",
                     f"{orate / fr:.2f} (paired median {paired(k, 'ours', 'floor'):.2f})", "", "—")
            if c in (4, 16):
                share = int(o["sent"]) / n
                waits.append((c, orate, rr, share))
        for c, orate, rr, share in waits:
            for subs in (10_000, 100_000):
                msgs = subs * share
                self.row(f"Waiting at 40 ms RTT, {c} connections: {subs:,} subscribers (~{msgs:,.0f} messages)",
                         minutes(msgs / orate), f"pipelining client {minutes(msgs / rr)}", "", "", "—")
        hrate = float(hand["rate"])
        self.row(f"Dispatch, loopback + TLS: against a hand-written loop ({hand['sent']} recipients, extrapolated)",
                 f"{rate:.0f} msg/s", f"{hrate:.0f} msg/s",
                 f"{rate / hrate:.1f}x (bare aiosmtplib itself: {frate / hrate:.1f}x)", "≥ 20x",
                 verdict(rate / hrate >= 20))
        e2e = sent / float(ours0["send_s"])
        self.row("Dispatch: whole `send` incl. pre-flight (load, render, checks, ledger), loopback",
                 f"{float(ours0['send_s']):.1f} s ({e2e:.0f} msg/s)", "", "", "", "—")
        cpu_msg = float(ours0["dispatch_cpu_s"]) / sent
        fcpu_msg = float(floor0["dispatch_cpu_s"]) / int(floor0["sent"])
        rcpu_msg = float(ref0["dispatch_cpu_s"]) / int(ref0["sent"])
        self.row("Dispatch: CPU per message while sending (whole process), loopback + TLS",
                 f"{cpu_msg * 1e6:.0f} µs", f"bare aiosmtplib {fcpu_msg * 1e6:.0f} µs (pipelining client "
                 f"{rcpu_msg * 1e6:.0f} µs)", f"{cpu_msg / fcpu_msg:.2f}x", "≤ 1.1x", verdict(cpu_msg / fcpu_msg <= 1.1))
        self.row("Dispatch: CPU seconds, whole `send` process / peak RSS, loopback",
                 f"{float(ours0['cpu_s']):.1f} s / {float(ours0['peak_rss_mb']):.0f} MB",
                 f"bare aiosmtplib {float(floor0['dispatch_cpu_s']):.1f} s / {float(floor0['peak_rss_mb']):.0f} MB",
                 "", "", "—")
        self.notes.append(
            f"Dispatch: every client speaks implicit TLS (RFC 8314) to socat, which relays plaintext to Postfix's "
            f"smtp-sink (it advertises PIPELINING); the 40 ms rows go through bench/_delayproxy.py (20 ms each "
            f"way, the kernel has no netem). Messages average {float(floor0['mean_size']) / 1024:.1f} KiB. Bare "
            f"aiosmtplib sends the same recipients' messages, built before its clock starts ({floor0['pool']} "
            f"distinct ones, reused in turn), with MAIL/RCPT/DATA each awaited (4 round trips a message); the "
            f"pipelining client (bench/_worker.py `refclient`) sends the same bytes with one round trip a message; "
            f"both use one TLS context, like ours. The hand-written loop renders every recipient's message with "
            f"jinja2 + mjml-python + premailer, builds an EmailMessage and calls send_message (on a sample). "
            f"Waiting times are messages / the measured rate (the pre-flight of a 100k list adds a few seconds, "
            f"see Scaling).")

    # -- 5 -------------------------------------------------------------------------------------
    def scaling(self, port: int) -> None:
        sizes = [1_000, 2_000, 5_000] if self.a.quick else [10_000, 50_000, 100_000]
        log(f"5/8 scaling (loopback + TLS): {sizes}")
        runs = []
        for n in sizes:
            r = run_worker("send", "--subs", str(self.subscribers(n)), "--port", str(port),
                           "--connections", str(self.a.connections),
                           cwd=make_project(self.tmp / f"scale-{n}", smtp_port=port))
            r["subscribers"] = n
            runs.append(r)
            log(f"  {n}: {float(r['send_s']):.1f} s, peak {float(r['peak_rss_mb']):.0f} MB")
        self.raw["scaling"] = runs
        first = runs[0]
        per0 = float(first["send_s"]) / sizes[0]
        for r in runs:
            n = int(r["subscribers"])
            per = float(r["send_s"]) / n
            rss = float(r["peak_rss_mb"])
            target = "≤ 120 MB" if n == 100_000 else ""
            self.row(f"Scaling: `send` to {n:,} subscribers ({r['sent']:,} messages)",
                     f"{float(r['send_s']):.1f} s, peak RSS {rss:.0f} MB",
                     f"{sizes[0]:,}: {float(first['send_s']):.1f} s, {float(first['peak_rss_mb']):.0f} MB",
                     f"time/subscriber {per / per0:.2f}x, RSS +{rss - float(first['peak_rss_mb']):.0f} MB",
                     target, verdict(rss <= 120) if target else "—")
        last = runs[-1]
        self.notes.append(
            f"Scaling: wall time of the whole `send` (pre-flight, ledger, dispatch) after the "
            f"interpreter has started; the process starts at {float(last['rss_start_mb']):.0f} MB RSS after "
            f"importing the rendering stack (jinja2, mjml, premailer with lxml and cssutils, aiosmtplib, "
            f"email-validator). Time per subscriber staying near 1.00x means linear growth.")

    # -- 6 -------------------------------------------------------------------------------------
    def startup(self) -> None:
        """Wall time of a fresh process doing what `check` / `render` do before their first
        render, best of several, against the bare interpreter in the same run."""
        log("6/8 start-up of check/render")
        where = self.project("startup")
        n = 3 if self.a.quick else 9

        def best(*cmd: str, before: Callable[[], None] | None = None) -> float:
            times = []
            for _ in range(n):
                if before:
                    before()
                t = time.perf_counter()
                subprocess.run(cmd, cwd=where, env=env(), check=True, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - t)
            return min(times)

        cache = where / "state" / "cache"

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        bare = best(PYTHON, "-c", "pass")
        first = best(PYTHON, "-c", STARTUP, before=cold)
        ours = best(PYTHON, "-c", STARTUP)
        info = json.loads(subprocess.run([PYTHON, "-c", STARTUP + REPORT], cwd=where, env=env(), check=True,
                                         capture_output=True, text=True).stdout)
        self.raw["startup"] = {"bare_s": bare, "startup_s": ours, "first_run_s": first, **info}
        self.row("Start-up of `check` / `render`: a fresh process until ready to render (best of "
                 f"{n})", ms(ours), f"bare interpreter {ms(bare)}", f"+{ms(ours - bare)}", "≤ 200 ms",
                 verdict(ours <= 0.200))
        self.row("Start-up of `check` / `render`: the first run in a project (no compiled templates in "
                 "state/cache yet)", ms(first), f"bare interpreter {ms(bare)}", f"+{ms(first - bare)}", "", "—")
        self.notes.append(f"Start-up: the CLI, the configuration, the templates loaded (from state/cache/ after the "
                          f"first run in a project; compiled on that first run) and linted; "
                          f"{info['modules']} modules loaded, asyncio {'imported' if info['asyncio'] else 'not imported'}, "
                          f"requests {'imported' if info['requests'] else 'not imported'}.")

    # -- 7 -------------------------------------------------------------------------------------
    def preview(self) -> None:
        log("7/8 preview reload latency (empty outbox, then 20,000 messages in it)")
        edits = "3" if self.a.quick else "10"
        outbox = 2_000 if self.a.quick else 20_000
        runs = {}
        for n in (0, outbox):
            out, why = self._script("preview_latency.py", "--edits", edits, "--outbox", str(n))
            m = re.search(r"median (\d+(?:\.\d+)?) ms · min (\d+) ms · max (\d+) ms", out)
            if not m:
                self.row("Preview: save-to-updated-page latency", "not measured", "", "", "", "—")
                self.notes.append(f"Preview: bench/preview_latency.py did not give a figure ({why[:200]}).")
                return
            self.raw[f"preview_outbox_{n}"] = out
            runs[n] = (float(m.group(1)), m.group(2), m.group(3))
        (base, lo0, hi0), (ours, lo, hi) = runs[0], runs[outbox]
        self.row(f"Preview: save-to-updated-page latency, median of {edits} edits", f"{base:.0f} ms (min {lo0}, "
                 f"max {hi0} ms)", "", "", "", "—")
        self.row(f"Preview: the same with {outbox:,} messages in the outbox", f"{ours:.0f} ms (min {lo}, max {hi} ms)",
                 f"empty outbox {base:.0f} ms", f"{ours / base:.2f}x", "≤ 150 ms", verdict(ours <= 150))
        self.notes.append("Preview: bench/preview_latency.py (real server, real headless Chromium), run "
                          "as a subprocess; see that script for what is timed.")

    # -- 8 -------------------------------------------------------------------------------------
    def search(self) -> None:
        n = 10_000 if self.a.quick else 100_000
        log(f"8/8 subscriber search in the preview ({n:,} readers)")
        out, why = self._script("subscriber_search.py", "--subscribers", str(n), timeout=1800)
        try:
            r = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.row("Preview: subscriber search", "not measured", "", "", "", "—")
            self.notes.append(f"Search: bench/subscriber_search.py did not give a figure ({why[:200]}).")
            return
        self.raw["search"] = r
        self.row(f"Preview: subscriber search, {n:,} readers, per keystroke (median)",
                 f"{r['search_median_ms']:.2f} ms (max {r['search_max_ms']:.1f})",
                 f"plain scan {r['naive_median_ms']:.1f} ms", f"{r['naive_median_ms'] / r['search_median_ms']:.0f}x "
                 "faster", "", "—")
        self.row("Preview: the same over HTTP (GET /subscribers?q=…)", f"{r['http_median_ms']:.1f} ms "
                 f"(max {r['http_max_ms']:.1f})", f"empty request {r['floor_median_ms']:.1f} ms",
                 f"{r['http_median_ms'] / r['floor_median_ms']:.1f}x", "≤ 50 ms", verdict(r["http_max_ms"] <= 50))
        self.row(f"Preview: reading the list for it ({n:,}: validate + index)", f"{r['index_s']:.1f} s",
                 f"validate alone {r['load_s']:.1f} s", f"{r['index_s'] / r['load_s']:.2f}x", "", "—")
        self.notes.append("Search: bench/subscriber_search.py types a name and an address one keystroke at a "
                          "time (17 queries, best of 7 each); the list is read once per version of the file.")

    def _script(self, name: str, *args: str, timeout: float = 900) -> tuple[str, str]:
        """Run bench/NAME as a subprocess: (stdout, why it failed or '')."""
        try:
            p = subprocess.run([PYTHON, str(REPO / "bench" / name), *args], cwd=REPO, env=env(),
                               capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return "", "timed out"
        why = "" if p.returncode == 0 else (p.stderr.strip().splitlines() or ["no figure printed"])[-1]
        return p.stdout, why

    # -- output --------------------------------------------------------------------------------
    def table(self) -> str:
        head = ("Measure", "Ours", "Baseline (same run)", "Ratio", "Target", "")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def text_table(self) -> str:
        head = ("Measure", "Ours", "Baseline (same run)", "Ratio", "Target", "")
        rows = [head, *self.rows]
        widths = [min(max(len(r[i]) for r in rows), 70) for i in range(len(head))]
        return "\n".join("  ".join(c[:70].ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subscribers", type=int, default=20_000, help="list size for the dispatch figures")
    ap.add_argument("--connections", type=int, default=4, help="SMTP connections (ours, floor, smtp-source)")
    ap.add_argument("--rounds", type=int, default=0, help="repetitions of the noisy figures (default 3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every item")
    ap.add_argument("--out", default=str(REPO / "bench" / "RESULTS.md"), help="where to write the results")
    ap.add_argument("--keep", action="store_true", help="keep the temporary projects")
    ap.add_argument("--only", default="", help="comma-separated items to run (render, message, load, "
                                               "dispatch, scaling, startup, preview, search); default all")
    a = ap.parse_args()
    if a.quick and a.subscribers == 20_000:
        a.subscribers = 2_000
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.repeat = 5 if a.quick else 21
    tmp = Path(tempfile.mkdtemp(prefix="newsletter-bench-"))
    b = Bench(a, tmp)
    b.machine = machine()  # type: ignore[attr-defined]
    started = time.time()
    only = set(filter(None, a.only.split(",")))

    def wanted(item: str) -> bool:
        return not only or item in only

    try:
        for item, step in (("render", b.render), ("message", b.message), ("load", b.load)):
            if wanted(item):
                step()
        if wanted("dispatch") or wanted("scaling"):
            ca, server_pem = tls_files(tmp / "tls")  # TLS, as a real relay speaks it
            CA_FILE.append(ca)
            with smtp_sink() as sink, tls_front(sink.port, server_pem) as near, delay_proxy(near, 0.020) as far:
                if wanted("dispatch"):
                    b.dispatch(near, far)
                if wanted("scaling"):
                    b.scaling(near)
        for item, step in (("startup", b.startup), ("preview", b.preview), ("search", b.search)):
            if wanted(item):
                step()
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    m = b.machine  # type: ignore[attr-defined]
    m["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    took = time.time() - started
    print()
    print(b.text_table())
    print()
    for n in b.notes:
        print("- " + n)
    write_results(Path(a.out), a, b, m, took)
    print(f"\nwritten to {a.out} ({took:.0f} s)")
    return 0


def write_results(path: Path, a: argparse.Namespace, b: Bench, m: dict[str, str], took: float) -> None:
    mode = "quick smoke run (small sizes)" if a.quick else "full run"
    lines = [
        "# Benchmark results",
        "",
        f"Latest `bench/run.py` {mode}: `{' '.join(['bench/run.py', *sys.argv[1:]])}`, {took:.0f} s.",
        "Every figure is from this one run, on loopback, with its baseline measured in the same run.",
        "",
        f"- Machine: {m['nproc']} CPU(s) (`nproc`), {m['cpu']}, {m['memory']} RAM, Linux {m['kernel']}",
        f"- Python {m['python']}",
        (f"- Date: {m['date']}; load average before {m['load']}, after {m['load_after']} "
         "(a shared box: other sessions' work shows up as noise, hence best-of and medians)"),
        (f"- Dispatch: {a.rounds} round(s) interleaved (ours, bare aiosmtplib, the pipelining client; every regime "
         "in every round), all over TLS; SMTP sink: Postfix smtp-sink behind socat on 127.0.0.1; 40 ms RTT "
         "through bench/_delayproxy.py"),
        "",
        b.table(),
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in b.notes],
        "",
        "## Raw figures",
        "",
        "```json",
        json.dumps(b.raw, indent=1, default=str)[:60_000],
        "```",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
