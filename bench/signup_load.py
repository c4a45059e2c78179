"""Load check for the signup form: N concurrent POST /subscribe at a real uvicorn server.

    .venv/bin/python bench/signup_load.py [--n 1000] [--same 50] [--json]

Sets up a throw-away project, starts `newsletter serve` in its own process (Maildir outbox),
fires N POSTs for N distinct addresses plus `--same` POSTs for one more address, all at once,
from this process (each as its own client: a distinct X-Forwarded-For, which the server believes
from 127.0.0.1 as it would from a reverse proxy), then counts the confirmations in the outbox
and the requests in the state database. Exit status 0 only if every POST got the neutral 200
page, every distinct address got exactly one confirmation, the repeated address got one, and
nothing is missing or doubled. Loopback only; every request is sent once; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mailbox
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.unsubscribe_load import free_port, pct, start_server

KEYS = "b1:bench-secret-0123456789abcdef0123"
SAME = "same.reader@example.org"


def setup(workdir: Path) -> None:
    site = REPO / "tests" / "fixtures" / "site"  # the frozen example site, not the author's files
    shutil.copy(site / "newsletter.yaml", workdir / "newsletter.yaml")
    shutil.copytree(site / "issues", workdir / "issues")
    shutil.copytree(REPO / "templates", workdir / "templates")
    (workdir / "subscribers.yaml").write_text("- email: first@example.org\n")


def request_bytes(port: int, email: str, client: str, multipart: bool) -> bytes:
    fields = [("email", email), ("name", "Load Test"), ("topic", "cbt"), ("topic", "empathy"), ("website", "")]
    if multipart:
        body = b"".join(b"--bench\r\nContent-Disposition: form-data; name=\"" + k.encode() + b"\"\r\n\r\n"
                        + v.encode() + b"\r\n" for k, v in fields) + b"--bench--\r\n"
        ctype = b"multipart/form-data; boundary=bench"
    else:
        body, ctype = urlencode(fields).encode(), b"application/x-www-form-urlencoded"
    host = f"127.0.0.1:{port}".encode()
    return (b"POST /subscribe HTTP/1.1\r\nHost: " + host + b"\r\nOrigin: http://" + host +
            b"\r\nX-Forwarded-For: " + client.encode() + b"\r\nContent-Type: " + ctype +
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


async def fire(port: int, emails: list[str]) -> tuple[list[float], list[str]]:
    """Every POST on its own connection, all released at once."""
    latencies: list[float] = []
    errors: list[str] = []
    go = asyncio.Event()

    async def one(i: int, email: str) -> None:
        client = f"127.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255 or 1}"  # a loopback address as the client
        raw = request_bytes(port, email, client, multipart=bool(i % 2))
        await go.wait()
        t0 = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            await writer.drain()
            response = await reader.read()
            writer.close()
        except OSError as exc:
            errors.append(type(exc).__name__)
            return
        latencies.append(time.perf_counter() - t0)
        head, _, body = response.partition(b"\r\n\r\n")
        if not head.lower().startswith(b"http/1.1 200 ") or b"Check your inbox" not in body:
            errors.append(head.split(b"\r\n", 1)[0].decode(errors="replace") or "empty response")

    tasks = [asyncio.create_task(one(i, e)) for i, e in enumerate(emails)]
    await asyncio.sleep(0.05)
    go.set()
    await asyncio.gather(*tasks)
    return latencies, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="distinct addresses, one POST each (default 1000)")
    ap.add_argument("--same", type=int, default=50, help="POSTs for one more address (default 50)")
    ap.add_argument("--workdir", help="folder to build the project in (default: a temp folder)")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = ap.parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="signup-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    setup(workdir)
    env = {**os.environ, "NEWSLETTER_TOKEN_KEYS": KEYS, "PYTHONPATH": str(REPO)}
    port = free_port()
    server: subprocess.Popen[bytes] = start_server(workdir, port, env)
    emails = [f"reader{i:06d}@example.org" for i in range(args.n)] + [SAME] * args.same
    try:
        t0 = time.perf_counter()
        latencies, errors = asyncio.run(fire(port, emails))
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)
    sent = Counter(message_from_bytes(m.as_bytes(), policy=policy.default)["To"].addresses[0].addr_spec
                   for m in mailbox.Maildir(workdir / "outbox", create=False))
    con = sqlite3.connect(workdir / "state" / "newsletter.sqlite3")
    pending = con.execute("SELECT COUNT(*), COUNT(mailed) FROM signups WHERE confirmed IS NULL").fetchone()
    con.close()
    distinct = [e for e in emails[: args.n]]
    lost = sum(1 for e in distinct if sent[e] == 0)
    doubled = sum(1 for e in distinct if sent[e] > 1)
    result = {
        "n": args.n, "same": args.same, "ok": len(emails) - len(errors), "errors": len(errors),
        "messages": sum(sent.values()), "lost": lost, "duplicates": doubled, "same_messages": sent[SAME],
        "requests_recorded": pending[0], "wall_s": round(wall, 3),
        "throughput_rps": round(len(emails) / wall, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 1), "p99_ms": round(pct(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies, default=0) * 1000, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{len(emails)} concurrent POST /subscribe ({args.n} addresses + {args.same} for one): "
              f"{result['ok']} × 200, {result['errors']} errors; {result['messages']} confirmations, "
              f"{lost} lost, {doubled} duplicates, {sent[SAME]} for the repeated address")
        print(f"wall {result['wall_s']} s ({result['throughput_rps']} req/s); latency p50 {result['p50_ms']} ms, "
              f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms")
        if errors:
            print("errors:", sorted(set(errors))[:10])
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    good = not errors and not lost and not doubled and sent[SAME] == (1 if args.same else 0)
    return 0 if good and result["messages"] == args.n + (1 if args.same else 0) else 1


if __name__ == "__main__":
    sys.exit(main())
