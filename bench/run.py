"""The benchmark suite: every figure measured in one run, on loopback, against a baseline from
the same run, printed as a table and written to bench/RESULTS.md.

    .venv/bin/python bench/run.py [--subscribers 20000] [--connections 4] [--rounds 3] [--quick]

1. render: one issue end to end after start-up, each variant, against mjml2html alone;
2. message: per-recipient build after rendering, against the EmailMessage path;
3. subscribers: loading and validating 100,000, against libyaml's safe loader; peak RSS;
4. dispatch: the real `newsletter send` code path into Postfix's smtp-sink, against
   (a) aiosmtplib alone pushing the same pre-built bytes over the same connections (the floor),
   (b) Postfix's smtp-source sending messages of the same size (the SMTP ceiling),
   (c) a hand-written per-recipient jinja2 + mjml + premailer + EmailMessage + send_message loop;
5. scaling: the real send at 10k, 50k and 100k subscribers: time and peak RSS;
6. preview reload latency, from bench/preview_latency.py: with an empty outbox and with 20,000
   messages in it (the same run's empty-outbox figure is the baseline);
7. the preview's subscriber search at 100,000 readers (bench/subscriber_search.py), against a
   plain scan of the list and against an empty request to the same server.

Every measurement that has a peak RSS or CPU time runs in a fresh interpreter (bench/_worker.py).
Needs `smtp-sink` and `smtp-source` (Debian package postfix; installed unconfigured if missing).
smtp-sink runs on a free high port of 127.0.0.1 for the duration of the run only.
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, REPO, SENDER, env, machine, make_project, run_worker, smtp_sink, write_subscribers

Row = tuple[str, str, str, str, str, str]  # measure, ours, baseline, ratio, target, verdict


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ms(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s >= 0.001 else f"{s * 1e6:.0f} µs"


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
        log("1/7 render")
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
        log("2/7 message building")
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
        log(f"3/7 loading {n} subscribers")
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
    def dispatch(self, sink: Any) -> None:
        n, c = self.a.subscribers, self.a.connections
        log(f"4/7 dispatch: {n} subscribers, {c} connections, {self.a.rounds} round(s)")
        subs = self.subscribers(n)
        ours, floor, source, lax = [], [], [], []
        sample = self.tmp / "sample.eml"
        for i in range(self.a.rounds):
            for kind in ("ours", "process", "floor", "source"):  # interleaved: the box is shared and noisy
                if kind == "source":
                    if not floor:
                        continue
                    source.append(self.smtp_source(sink.port, sample, int(floor[-1]["sent"]), c))
                    continue
                cpu0 = sink.cpu_seconds()
                where = self.project(f"{kind}-{i}")
                if kind == "process":  # the same send with `durability: process` (no fsync per group)
                    cfg = where / "newsletter.yaml"
                    cfg.write_text(cfg.read_text() + "\ndurability: process\n")
                r = run_worker("floor" if kind == "floor" else "send", "--subs", str(subs), "--port",
                               str(sink.port), "--connections", str(c), "--sample-out", str(sample),
                               cwd=where)
                r["sink_cpu_s"] = sink.cpu_seconds() - cpu0
                {"ours": ours, "process": lax, "floor": floor}[kind].append(r)
                log(f"  round {i + 1} {kind}: {float(r['rate']):.0f} msg/s")
        hand = run_worker("handwritten", "--subs", str(subs), "--port", str(sink.port), "--connections", str(c),
                          "--sample", "100" if self.a.quick else "300", cwd=self.project("handwritten"))
        log(f"  hand-written: {float(hand['rate']):.0f} msg/s")
        self.raw["dispatch"] = {"ours": ours, "process": lax, "floor": floor, "smtp_source": source,
                                "handwritten": hand}
        best = max(ours, key=lambda r: float(r["rate"]))
        fbest = max(floor, key=lambda r: float(r["rate"]))
        sbest = max(source, key=lambda r: float(r["rate"]))
        rate, frate, srate, hrate = (float(best["rate"]), float(fbest["rate"]), float(sbest["rate"]),
                                     float(hand["rate"]))
        sent = int(best["sent"])
        paired = [float(o["rate"]) / float(f["rate"]) for o, f in zip(ours, floor)]
        self.row(f"Dispatch: `send` to {n:,} subscribers ({sent:,} messages), {c} connections "
                 f"(best of {len(ours)})", f"{rate:.0f} msg/s", "", "", "", "—")
        self.row("Dispatch: against the transport floor (aiosmtplib alone, same bytes)", f"{rate:.0f} msg/s",
                 f"{frate:.0f} msg/s", f"{rate / frate:.2f} (paired median {statistics.median(paired):.2f})",
                 "≥ 0.90", verdict(rate / frate >= 0.9))
        lbest = max(float(r["rate"]) for r in lax)
        lpaired = [float(o["rate"]) / float(f["rate"]) for o, f in zip(lax, floor)]
        self.row("Dispatch with `durability: process` (no fsync per group; survives a crash of the "
                 "process, not a power loss) against the floor", f"{lbest:.0f} msg/s", f"{frate:.0f} msg/s",
                 f"{lbest / frate:.2f} (paired median {statistics.median(lpaired):.2f})", "≥ 0.90",
                 verdict(lbest / frate >= 0.9))
        self.row("Dispatch: against the SMTP ceiling (smtp-source, same size)", f"{rate:.0f} msg/s",
                 f"{srate:.0f} msg/s", f"{rate / srate:.2f}", "", "—")
        self.row(f"Dispatch: against a hand-written loop ({hand['sent']} recipients, extrapolated)",
                 f"{rate:.0f} msg/s", f"{hrate:.0f} msg/s",
                 f"{rate / hrate:.1f}x (the floor itself: {frate / hrate:.1f}x)", "≥ 20x",
                 verdict(rate / hrate >= 20))
        e2e = sent / float(best["send_s"])
        self.row("Dispatch: whole `send` incl. pre-flight (load, render, checks, ledger)",
                 f"{float(best['send_s']):.1f} s ({e2e:.0f} msg/s)", "", "", "", "—")
        cpu_msg = float(best["dispatch_cpu_s"]) / sent
        fcpu_msg = float(fbest["dispatch_cpu_s"]) / int(fbest["sent"])
        self.row("Dispatch: CPU per message while sending (whole process)",
                 f"{cpu_msg * 1e6:.0f} µs", f"floor {fcpu_msg * 1e6:.0f} µs", f"{cpu_msg / fcpu_msg:.2f}x",
                 "", "—")
        self.row("Dispatch: CPU seconds, whole `send` process / peak RSS",
                 f"{float(best['cpu_s']):.1f} s / {float(best['peak_rss_mb']):.0f} MB",
                 f"floor {float(fbest['dispatch_cpu_s']):.1f} s / {float(fbest['peak_rss_mb']):.0f} MB", "",
                 "", "—")
        self.notes.append(
            f"Dispatch: messages average {float(fbest['mean_size']) / 1024:.1f} KiB. The floor sends the same "
            f"recipients' messages, built before its clock starts ({fbest['pool']} distinct ones, reused "
            f"in turn), with MAIL/RCPT/DATA on {c} aiosmtplib connections; its peak RSS includes those "
            f"pre-built messages. smtp-source (`-d -s {c}`) sends one of them {sent:,} times. The "
            f"hand-written loop renders every recipient's message with jinja2 + mjml-python + premailer "
            f"(the project's templates and its tuned premailer settings, so a conservative, fast "
            f"baseline), builds an EmailMessage and calls send_message; its rate is measured on a "
            f"sample. smtp-sink used {float(best['sink_cpu_s']):.1f} s CPU during our best "
            f"run on this {self.machine['nproc']}-CPU box.")

    def smtp_source(self, port: int, sample: Path, count: int, sessions: int) -> dict[str, Any]:
        msg = self.tmp / "sample.txt"  # smtp-source appends CRLF to every line of the file itself
        msg.write_bytes(sample.read_bytes().replace(b"\r\n", b"\n"))
        cmd = [shutil.which("smtp-source") or "smtp-source", "-d", "-s", str(sessions), "-m", str(count),
               "-f", SENDER, "-t", "reader@example.org", "-M", "bench.example.org", "-F", str(msg),
               f"127.0.0.1:{port}"]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=600)
        elapsed = time.perf_counter() - t
        log(f"  smtp-source: {count / elapsed:.0f} msg/s")
        return {"sent": count, "elapsed_s": elapsed, "rate": count / elapsed, "size": sample.stat().st_size}

    # -- 5 -------------------------------------------------------------------------------------
    def scaling(self, sink: Any) -> None:
        sizes = [1_000, 2_000, 5_000] if self.a.quick else [10_000, 50_000, 100_000]
        log(f"5/7 scaling: {sizes}")
        runs = []
        for n in sizes:
            r = run_worker("send", "--subs", str(self.subscribers(n)), "--port", str(sink.port),
                           "--connections", str(self.a.connections), cwd=self.project(f"scale-{n}"))
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
    def preview(self) -> None:
        log("6/7 preview reload latency (empty outbox, then 20,000 messages in it)")
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

    # -- 7 -------------------------------------------------------------------------------------
    def search(self) -> None:
        n = 10_000 if self.a.quick else 100_000
        log(f"7/7 subscriber search in the preview ({n:,} readers)")
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
    a = ap.parse_args()
    if a.quick and a.subscribers == 20_000:
        a.subscribers = 2_000
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.repeat = 5 if a.quick else 21
    tmp = Path(tempfile.mkdtemp(prefix="newsletter-bench-"))
    b = Bench(a, tmp)
    b.machine = machine()  # type: ignore[attr-defined]
    started = time.time()
    try:
        b.render()
        b.message()
        b.load()
        with smtp_sink() as sink:
            b.dispatch(sink)
            b.scaling(sink)
        b.preview()
        b.search()
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
        (f"- Dispatch: {a.subscribers:,} subscribers, {a.connections} connections, {a.rounds} round(s) "
         "interleaved (ours, floor, smtp-source); SMTP sink: Postfix smtp-sink on 127.0.0.1"),
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
