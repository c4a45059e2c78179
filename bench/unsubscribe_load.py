"""Load check for the one-click endpoint: N concurrent RFC 8058 POSTs at a real uvicorn server.

    .venv/bin/python bench/unsubscribe_load.py [--n 1000] [--contend] [--json]

Sets up a throw-away project with N subscribers, starts `newsletter serve` in its own process,
fires all N POSTs at once from this process (half x-www-form-urlencoded, half multipart), then
checks in the state database that every one was recorded. With --contend a third process
keeps taking SQLite's write lock the way a running `newsletter send` does (short group-commit
transactions), to show that contention costs latency, not unsubscribes.
Exit status 0 only if all N got a 200 and all N are recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
KEYS = "b1:bench-secret-0123456789abcdef0123"


def setup(workdir: Path, n: int) -> list[str]:
    """A project copy with n subscribers; returns their unsubscribe paths (/u/TOKEN)."""
    from newsletter.content.config import load_settings
    from newsletter.content.subscribers import load_subscribers
    from newsletter.mail.tokens import load_keys
    from newsletter.store.ledger import Ledger

    site = REPO / "tests" / "fixtures" / "site"  # the frozen example site, not the author's files
    shutil.copy(site / "newsletter.yaml", workdir / "newsletter.yaml")
    shutil.copytree(site / "issues", workdir / "issues")
    shutil.copytree(REPO / "templates", workdir / "templates")
    lines = [f"- email: reader{i:06d}@example.org\n  topics: [depression]\n" for i in range(n)]
    (workdir / "subscribers.yaml").write_text("".join(lines))
    settings = load_settings(workdir)
    subs, _ = load_subscribers(workdir / "subscribers.yaml", settings)
    ledger = Ledger(settings.state_db)
    sids = ledger.sids_for((s.key, s.email) for s in subs)
    ledger.close()
    keys = load_keys(settings.list_id, settings.state_db.parent / "token-keys")
    return [f"/u/{keys.sign(sids[s.key], 'u')}" for s in subs]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workdir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "newsletter.cli", "--root", str(workdir), "serve", "--port",
           str(port), "--subscribers", str(workdir / "subscribers.yaml")]
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {(workdir / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("server did not start")


def contender(db: Path, stop_after: float) -> subprocess.Popen[bytes]:
    """Another process writing to the same database in short transactions, like `send`."""
    code = f"""
import sqlite3, time
con = sqlite3.connect({str(db)!r}, isolation_level=None, timeout=10)
end = time.time() + {stop_after}
while time.time() < end:
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO events VALUES (?, NULL, 'bench-contender', '')", (time.time(),))
    time.sleep(0.01)  # hold the write lock for 10 ms
    con.execute("COMMIT")
    time.sleep(0.002)
"""
    return subprocess.Popen([sys.executable, "-c", code])


_MULTIPART = (b"--bench\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
              b"One-Click\r\n--bench--\r\n")
_URLENCODED = b"List-Unsubscribe=One-Click"


def request_bytes(path: str, port: int, multipart: bool) -> bytes:
    body, ctype = ((_MULTIPART, b"multipart/form-data; boundary=bench") if multipart
                   else (_URLENCODED, b"application/x-www-form-urlencoded"))
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1:" + str(port).encode() +
            b"\r\nUser-Agent: unsubscribe-load\r\nContent-Type: " + ctype +
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


async def fire(port: int, paths: list[str]) -> tuple[list[float], list[str]]:
    """Every POST on its own connection, all released at once. A bare asyncio client, so the
    client's own overhead (it shares the CPUs with the server) stays small."""
    latencies: list[float] = []
    errors: list[str] = []
    go = asyncio.Event()

    async def one(i: int, path: str) -> None:
        raw = request_bytes(path, port, multipart=bool(i % 2))
        await go.wait()
        t0 = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            await writer.drain()
            response = await reader.read()  # the server closes after the response
            writer.close()
        except OSError as exc:
            errors.append(type(exc).__name__)
            return
        latencies.append(time.perf_counter() - t0)
        head = response.split(b"\r\n\r\n", 1)[0].lower()
        if not head.startswith(b"http/1.1 200 ") or b"\r\nlocation:" in head or b"set-cookie" in head:
            errors.append(head.split(b"\r\n", 1)[0].decode(errors="replace") or "empty response")

    tasks = [asyncio.create_task(one(i, p)) for i, p in enumerate(paths)]
    await asyncio.sleep(0.05)
    go.set()
    await asyncio.gather(*tasks)
    return latencies, errors


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))] if s else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="concurrent POSTs (default 1000)")
    ap.add_argument("--contend", action="store_true", help="a second process writing meanwhile")
    ap.add_argument("--workdir", help="folder to build the project in (default: a temp folder)")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = ap.parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="unsub-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["NEWSLETTER_TOKEN_KEYS"] = KEYS
    paths = setup(workdir, args.n)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    port = free_port()
    server = start_server(workdir, port, env)
    db = workdir / "state" / "newsletter.sqlite3"
    other = contender(db, 30) if args.contend else None
    try:
        t0 = time.perf_counter()
        latencies, errors = asyncio.run(fire(port, paths))
        wall = time.perf_counter() - t0
    finally:
        if other:
            other.terminate()
            other.wait()
        server.terminate()
        server.wait(10)
    con = sqlite3.connect(db)
    recorded = con.execute("SELECT COUNT(*) FROM suppressions WHERE reason='unsubscribed'").fetchone()[0]
    events = con.execute("SELECT COUNT(*) FROM events WHERE kind='unsubscribe'").fetchone()[0]
    con.close()
    result = {
        "n": args.n, "ok": args.n - len(errors),
        "errors": len(errors), "recorded": recorded, "events": events, "contend": args.contend,
        "wall_s": round(wall, 3), "throughput_rps": round(args.n / wall, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 1), "p90_ms": round(pct(latencies, 90) * 1000, 1),
        "p99_ms": round(pct(latencies, 99) * 1000, 1), "max_ms": round(max(latencies, default=0) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.n} concurrent one-click POSTs{' with a concurrent writer' if args.contend else ''}: "
              f"{result['ok']} × 200, {result['errors']} errors, {recorded} recorded, {events} events")
        print(f"wall {result['wall_s']} s ({result['throughput_rps']} req/s); latency p50 "
              f"{result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
              f"max {result['max_ms']} ms")
        if errors:
            print("errors:", sorted(set(errors)))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result["ok"] == args.n and recorded == args.n and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
