"""The preview's "as subscriber" search at 100,000 readers: what each keystroke costs.

Builds a random list (bench/_common.py's generator), loads it the way the preview does
(`SubscriberIndex.load`: read, validate, index), then times the searches an author makes while
typing a name or an address, one request per keystroke:

- in process: `SubscriberIndex.search`, against a plain Python scan of the same list for the
  same query (what a search without the index costs, same run);
- over HTTP: GET /subscribers?q=… on the real preview server (uvicorn, on 127.0.0.1), against a
  request that does no work (/favicon.ico) on the same server, same run.

Prints the figures and, last, one JSON line for bench/run.py.

    .venv/bin/python bench/subscriber_search.py [--subscribers 100000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import KEYS, make_project, write_subscribers

# what an author types, one keystroke at a time: a name, the start of an address, a domain
TYPED = ["z", "zo", "zoë", "zoë m", "zoë mü", "r", "re", "rea", "read", "reade", "reader0", "reader04",
         "reader042", "reader0421", "@example9", "@example96.", "nobody here"]


def per_keystroke(fn, queries: list[str], repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds per query: for each query the best of `repeat` (noise on a shared box only adds)."""
    out = []
    for q in queries:
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn(q)
            best = min(best, time.perf_counter() - t)
        out.append(best)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    os.environ.setdefault("NEWSLETTER_TOKEN_KEYS", KEYS)
    from newsletter.content.config import load_settings
    from newsletter.content.subscribers import read_subscribers
    from newsletter.web.preview.app import PreviewServer, create_app, listen
    from newsletter.web.preview.model import PreviewState
    from newsletter.web.preview.subscribers import SubscriberIndex

    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        root = make_project(Path(tmp) / "site")
        path = write_subscribers(root / "subscribers.yaml", a.subscribers)
        settings = load_settings(root)
        t = time.perf_counter()
        subs, _ = read_subscribers(path, settings)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        index = SubscriberIndex.load(path, settings)
        index_s = time.perf_counter() - t

        def naive(q: str) -> list[object]:
            q = q.casefold()
            return [s for s in subs if q in s.email.casefold() or q in s.name.casefold()][:12]

        ours = per_keystroke(lambda q: index.search(q, 12), TYPED, a.repeat)
        plain = per_keystroke(naive, TYPED, a.repeat)

        state = PreviewState(root)
        sock = listen(0)
        server = PreviewServer(create_app(state, watch_files=False))
        thread = server.start_in_thread(sock)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        try:
            def get(url: str) -> None:
                with urllib.request.urlopen(url, timeout=600) as r:
                    r.read()

            get(f"{base}/subscribers?q=")  # the server reads and indexes the list once
            http = per_keystroke(lambda q: get(f"{base}/subscribers?limit=12&q={urllib.parse.quote(q)}"),
                                 TYPED, a.repeat)
            floor = per_keystroke(lambda q: get(f"{base}/favicon.ico"), TYPED, a.repeat)
        finally:
            server.stop()
            thread.join(10)

    ms = [x * 1000 for x in ours]
    result = {
        "subscribers": a.subscribers, "load_s": load_s, "index_s": index_s,
        "search_median_ms": statistics.median(ms), "search_max_ms": max(ms),
        "naive_median_ms": statistics.median(x * 1000 for x in plain),
        "http_median_ms": statistics.median(x * 1000 for x in http), "http_max_ms": max(x * 1000 for x in http),
        "floor_median_ms": statistics.median(x * 1000 for x in floor),
    }
    print(f"{a.subscribers:,} subscribers: read + validate {load_s:.2f} s; read + validate + index {index_s:.2f} s")
    for q, o, p, h in zip(TYPED, ours, plain, http):
        print(f"  {q!r:16} index {o * 1e3:7.2f} ms   plain scan {p * 1e3:7.2f} ms   HTTP {h * 1e3:7.2f} ms")
    print(f"median per keystroke: index {result['search_median_ms']:.2f} ms (max {result['search_max_ms']:.2f}), "
          f"plain scan {result['naive_median_ms']:.2f} ms; over HTTP {result['http_median_ms']:.2f} ms "
          f"(max {result['http_max_ms']:.2f}), an empty request {result['floor_median_ms']:.2f} ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
