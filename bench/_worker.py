"""One measurement in a fresh interpreter, so its peak RSS and CPU time are its own.

    _worker.py send|floor|refclient|handwritten|load|parse|render|message [options]

Prints one JSON line (the last line of stdout). Started by bench/run.py with the working
directory set to a throw-away project and NEWSLETTER_TOKEN_KEYS set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import ISSUE, SENDER, cpu_seconds, peak_rss_mb, rss_mb

DATE = "Thu, 01 Oct 2020 09:00:00 +0000"


def client_tls() -> ssl.SSLContext:
    """One verifying context for the whole run (system CAs + the bench's private CA), as the
    transport has: the reference clients pay for TLS exactly as ours does."""
    ctx = ssl.create_default_context()
    ctx.load_verify_locations(os.environ["NEWSLETTER_SMTP_CA_FILE"])
    return ctx


# -- ours: the real `newsletter send` code path --------------------------------------------------
def cmd_send(a: argparse.Namespace) -> dict[str, object]:
    from newsletter.delivery import sending
    from newsletter.delivery.dispatch import Dispatcher
    from newsletter.mail.compose import Composer

    project = Path.cwd()
    rss_start = rss_mb()
    phases: dict[str, float] = {}
    run = Dispatcher.run
    prepare = sending.prepare

    async def timed_run(self, due):  # type: ignore[no-untyped-def]
        phases["dispatch_start"], phases["dispatch_cpu0"] = time.perf_counter(), cpu_seconds()
        try:
            return await run(self, due)
        finally:
            phases["dispatch_end"], phases["dispatch_cpu1"] = time.perf_counter(), cpu_seconds()

    def timed_prepare(*args, **kw):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return prepare(*args, **kw)
        finally:
            phases["prepare"] = time.perf_counter() - t

    Dispatcher.run = timed_run  # type: ignore[method-assign]
    sending.prepare = timed_prepare  # type: ignore[assignment]
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    composer = Composer.load(project)
    t1 = time.perf_counter()
    summary, counts = sending.send(composer, project / ISSUE, Path(a.subs),
                                   sending.SendOptions(connections=a.connections))
    t2, cpu2 = time.perf_counter(), cpu_seconds()
    if summary.sent == 0 or summary.failed or summary.unknown or summary.deferred:
        raise SystemExit(f"unexpected outcome: {summary.line()}")
    elapsed = phases["dispatch_end"] - phases["dispatch_start"]
    return {
        "sent": summary.sent, "skipped": summary.skipped, "counts": counts,
        "startup_s": t1 - t0, "prepare_s": phases.get("prepare", 0.0), "send_s": t2 - t1,
        "dispatch_s": elapsed, "rate": summary.sent / elapsed,
        "dispatch_cpu_s": phases["dispatch_cpu1"] - phases["dispatch_cpu0"],
        "cpu_s": cpu2 - cpu0, "rss_start_mb": rss_start, "peak_rss_mb": peak_rss_mb(),
    }


# -- the transport floor: aiosmtplib alone, same bytes, same connections ---------------------------
def _messages(a: argparse.Namespace, pool: int) -> tuple[list[tuple[str, bool]], list[bytes]]:
    """The recipients `send` would mail (same list, same variants) and up to `pool` of their
    finished messages, built before any timing starts."""
    from newsletter.delivery.plan import prepare
    from newsletter.mail.compose import Composer

    composer = Composer.load(Path.cwd())
    plan = prepare(composer, Path.cwd() / ISSUE, Path(a.subs), None, create_ids=False)
    compiled = plan.compiled(composer, DATE)
    todo = [e for e in plan.entries if not e.skip_reason]
    msgs = [compiled[e.selection].build(e.recipient) for e in todo[:pool]]
    return [(e.email, e.smtputf8) for e in todo], msgs


def cmd_floor(a: argparse.Namespace) -> dict[str, object]:
    import aiosmtplib

    rcpts, msgs = _messages(a, a.pool)
    tls = client_tls()
    if a.sample_out:
        Path(a.sample_out).write_bytes(msgs[0])
    sizes = [len(m) for m in msgs]

    async def main() -> float:
        it = iter(range(len(rcpts)))

        async def worker() -> None:
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=a.port, use_tls=True, tls_context=tls, timeout=60)
            await smtp.connect()
            for i in it:
                addr, utf8 = rcpts[i]
                await smtp.mail(SENDER, options=["SMTPUTF8"] if utf8 else [])
                await smtp.rcpt(addr)
                await smtp.data(msgs[i % len(msgs)], timeout=120)
            await smtp.quit()

        t = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(min(a.connections, len(rcpts)))])
        return time.perf_counter() - t

    cpu0 = cpu_seconds()
    elapsed = asyncio.run(main())
    return {"sent": len(rcpts), "dispatch_s": elapsed, "rate": len(rcpts) / elapsed,
            "dispatch_cpu_s": cpu_seconds() - cpu0, "peak_rss_mb": peak_rss_mb(),
            "mean_size": sum(sizes) / len(sizes), "pool": len(msgs)}


# -- the one-round-trip reference: a minimal client that pipelines (RFC 2920) ------------------------
def cmd_refclient(a: argparse.Namespace) -> dict[str, object]:
    """The same recipients and pre-built bytes as the floor, over the same number of TLS
    connections, by a client written for nothing but speed: MAIL, RCPT and DATA as one group,
    then the message, its dot and the next group in one write, so one round trip a message.
    (The messages are built ready for the wire: no line starts with a dot.)"""
    rcpts, msgs = _messages(a, a.pool)
    tls = client_tls()
    sender = SENDER.encode()

    def group(i: int) -> bytes:
        addr, utf8 = rcpts[i]
        return (b"MAIL FROM:<" + sender + b">" + (b" SMTPUTF8" if utf8 else b"") + b"\r\nRCPT TO:<"
                + addr.encode() + b">\r\nDATA\r\n")

    async def main() -> float:
        it = iter(range(len(rcpts)))

        async def worker() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", a.port, ssl=tls)

            async def reply() -> int:
                while True:
                    line = await reader.readline()
                    if not line:
                        raise ConnectionError("closed")
                    if line[3:4] != b"-":
                        return int(line[:3])

            assert await reply() == 220
            writer.write(b"EHLO bench.example.org\r\n")
            assert await reply() == 250
            cur = next(it, None)
            if cur is not None:
                writer.write(group(cur))
            while cur is not None:
                codes = [await reply(), await reply(), await reply()]
                if codes != [250, 250, 354]:
                    raise RuntimeError(f"refused: {codes}")
                nxt = next(it, None)
                writer.write(msgs[cur % len(msgs)] + b".\r\n" + (group(nxt) if nxt is not None else b""))
                if await reply() != 250:
                    raise RuntimeError("message refused")
                cur = nxt
            writer.write(b"QUIT\r\n")
            await reply()
            writer.close()

        t = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(min(a.connections, len(rcpts)))])
        return time.perf_counter() - t

    cpu0 = cpu_seconds()
    elapsed = asyncio.run(main())
    return {"sent": len(rcpts), "dispatch_s": elapsed, "rate": len(rcpts) / elapsed,
            "dispatch_cpu_s": cpu_seconds() - cpu0, "peak_rss_mb": peak_rss_mb()}


# -- what a user would otherwise write -------------------------------------------------------------
def cmd_handwritten(a: argparse.Namespace) -> dict[str, object]:
    """Per recipient: jinja2 → mjml-python → premailer (the project's templates and settings, via
    Renderer.render, which is exactly those three steps plus the text template), EmailMessage,
    aiosmtplib send_message; over the same number of connections."""
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import formataddr

    import aiosmtplib

    from newsletter.delivery.plan import prepare
    from newsletter.mail.compose import Composer
    from newsletter.mail.message import _html_values, _text_values, fill, personal_values

    composer = Composer.load(Path.cwd())
    s = composer.settings
    issue = composer.issue(Path.cwd() / ISSUE)
    plan = prepare(composer, Path.cwd() / ISSUE, Path(a.subs), None, create_ids=False)
    todo = [e for e in plan.entries if not e.skip_reason][: a.sample]
    renderer = composer.renderer
    tls = client_tls()

    def message(e) -> EmailMessage:  # type: ignore[no-untyped-def]
        r = e.recipient
        rendered = renderer.render(issue, e.selection)
        p = personal_values(s, composer.keys, r)
        m = EmailMessage()
        m["From"] = formataddr((s.sender.name, s.sender.addr))
        m["To"] = Address(r.name, addr_spec=r.email)
        m["Subject"] = rendered.subject
        m["Date"] = DATE
        m["Message-ID"] = f"<{issue.month}.{r.sid}@{s.domain}>"
        m["List-Id"] = f"{s.name} <{s.list_id}>"
        m["List-Unsubscribe"] = p.list_unsubscribe.replace("\r\n", "")
        m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        m.set_content(fill(rendered.text, _text_values(p)), cte="quoted-printable")
        m.add_alternative(fill(rendered.html, _html_values(p)), subtype="html", cte="quoted-printable")
        return m

    async def main() -> float:
        it = iter(todo)

        async def worker() -> None:
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=a.port, use_tls=True, tls_context=tls, timeout=60)
            await smtp.connect()
            for e in it:
                await smtp.send_message(message(e))
            await smtp.quit()

        t = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(min(a.connections, len(todo)))])
        return time.perf_counter() - t

    cpu0 = cpu_seconds()
    elapsed = asyncio.run(main())
    return {"sent": len(todo), "dispatch_s": elapsed, "rate": len(todo) / elapsed,
            "dispatch_cpu_s": cpu_seconds() - cpu0, "peak_rss_mb": peak_rss_mb()}


# -- subscriber list loading ---------------------------------------------------------------------
def cmd_load(a: argparse.Namespace) -> dict[str, object]:
    from newsletter.content.config import load_settings
    from newsletter.content.subscribers import load_subscribers

    settings = load_settings(Path.cwd())
    import email_validator  # noqa: F401  (imports are start-up, not loading)

    rss0 = rss_mb()
    t = time.perf_counter()
    subs, reader = load_subscribers(Path(a.subs), settings)
    elapsed = time.perf_counter() - t
    return {"count": len(subs), "warnings": len(reader.warnings), "load_s": elapsed,
            "rss_start_mb": rss0, "peak_rss_mb": peak_rss_mb()}


def cmd_parse(a: argparse.Namespace) -> dict[str, object]:
    """Baseline: libyaml's safe loader turning the same file into plain Python objects."""
    import yaml

    from newsletter.content.config import load_settings

    load_settings(Path.cwd())
    rss0 = rss_mb()
    t = time.perf_counter()
    with open(a.subs, encoding="utf-8") as f:
        data = yaml.load(f, Loader=yaml.CSafeLoader)
    elapsed = time.perf_counter() - t
    return {"count": len(data), "load_s": elapsed, "rss_start_mb": rss0, "peak_rss_mb": peak_rss_mb()}


# -- rendering ------------------------------------------------------------------------------------
def cmd_render(a: argparse.Namespace) -> dict[str, object]:
    """One issue end to end after start-up (load + validate the YAML, render, compile, build one
    message), each variant alone, and mjml2html alone on the same MJML as the baseline."""
    t = time.perf_counter()
    import mjml

    from newsletter.content.variants import all_selections
    from newsletter.mail import render as render_mod
    from newsletter.mail.compose import Composer, now_header
    from newsletter.mail.message import Recipient, compile_variant

    composer = Composer.load(Path.cwd())
    startup = time.perf_counter() - t

    from _common import median, timed

    path = Path.cwd() / ISSUE
    date = now_header()
    reader = Recipient("reader@example.org", "Sample Reader", None, "sample000000")

    # where the time goes inside a render: wrap the two library calls (timing only)
    spent = {"mjml": 0.0, "premailer": 0.0}
    mjml_sources: list[str] = []
    real_mjml, real_inline = render_mod.mjml.mjml2html, render_mod.inline_css_faithfully

    def mjml_timed(src, **kw):  # type: ignore[no-untyped-def]
        mjml_sources.append(src)
        t0 = time.perf_counter()
        try:
            return real_mjml(src, **kw)
        finally:
            spent["mjml"] += time.perf_counter() - t0

    def inline_timed(html, css):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return real_inline(html, css)
        finally:
            spent["premailer"] += time.perf_counter() - t0

    def end_to_end() -> None:
        issue = composer.issue(path)
        rendered = composer.renderer.render(issue)
        compile_variant(composer.settings, composer.keys, rendered, campaign=issue.month,
                        date=date).build(reader)

    t = time.perf_counter()
    end_to_end()
    first = time.perf_counter() - t
    e2e = timed(end_to_end, a.repeat)
    issue = composer.issue(path)
    sels = all_selections(issue)
    for s in sels:  # warm every variant once, as a running preview or send would have
        composer.renderer.render(issue, s)
    per_variant = {",".join(map(str, s)): median(timed(lambda s=s: composer.renderer.render(issue, s), a.repeat))
                   for s in sels}
    all_variants = timed(lambda: [composer.renderer.render(issue, s) for s in sels], max(3, a.repeat // 3))
    render_mod.mjml.mjml2html, render_mod.inline_css_faithfully = mjml_timed, inline_timed  # type: ignore[assignment]
    try:
        n = a.repeat
        mjml_sources.clear()
        spent.update(mjml=0.0, premailer=0.0)
        for _ in range(n):
            composer.renderer.render(issue)
    finally:
        render_mod.mjml.mjml2html, render_mod.inline_css_faithfully = real_mjml, real_inline  # type: ignore[assignment]
    src = mjml_sources[0]
    baseline = timed(lambda: mjml.mjml2html(src, disable_comments=True, fonts={}), a.repeat)
    return {"startup_s": startup, "first_s": first, "end_to_end_s": median(e2e), "end_to_end_best_s": min(e2e),
            "per_variant_s": per_variant, "all_variants_s": median(all_variants),
            "mjml_share_s": spent["mjml"] / n, "premailer_share_s": spent["premailer"] / n,
            "mjml2html_alone_s": median(baseline), "articles": len(issue.articles)}


# -- per-recipient message building ----------------------------------------------------------------
def cmd_message(a: argparse.Namespace) -> dict[str, object]:
    """After the variants are rendered: the fast per-recipient build against the straightforward
    EmailMessage path (`build_with_email_package`), for the same recipients."""
    from _common import median

    from newsletter.delivery.plan import prepare
    from newsletter.mail.compose import Composer
    from newsletter.mail.message import build_with_email_package

    composer = Composer.load(Path.cwd())
    plan = prepare(composer, Path.cwd() / ISSUE, Path(a.subs), None, create_ids=False)
    todo = [e for e in plan.entries if not e.skip_reason]
    fast = []
    for _ in range(a.repeat):
        compiled = plan.compiled(composer, DATE)  # fresh variants: no warm per-variant caches
        pairs = [(compiled[e.selection], e.recipient) for e in todo]
        t = time.perf_counter()
        for cv, r in pairs:
            cv.build(r)
        fast.append((time.perf_counter() - t) / len(pairs))
    sample = todo[: a.sample]
    slow = []
    for _ in range(max(3, a.repeat)):
        t = time.perf_counter()
        for e in sample:
            build_with_email_package(composer.settings, composer.keys, composer.render(plan.issue, e.selection),
                                     e.recipient, campaign=plan.issue.month, date=DATE)
        slow.append((time.perf_counter() - t) / len(sample))
    return {"recipients": len(todo), "fast_s": median(fast), "fast_best_s": min(fast),
            "email_package_s": median(slow), "email_package_sample": len(sample)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["send", "floor", "refclient", "handwritten", "load", "parse", "render", "message"])
    ap.add_argument("--subs", default="")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--pool", type=int, default=2000)
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--sample-out", default="")
    ap.add_argument("--repeat", type=int, default=15)
    a = ap.parse_args()
    out = {"send": cmd_send, "floor": cmd_floor, "refclient": cmd_refclient, "handwritten": cmd_handwritten,
           "load": cmd_load, "parse": cmd_parse, "render": cmd_render, "message": cmd_message}[a.cmd](a)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
