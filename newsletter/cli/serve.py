from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import default_subscribers, examples, existing_file, root_of, whole_number

EXAMPLES = examples(
    "newsletter serve                      # http://127.0.0.1:8080, behind an HTTPS reverse proxy",
    "newsletter serve --port 9000 --subscribers subscribers.yaml")

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: put an HTTPS reverse proxy in front)")
    p.add_argument("--port", type=whole_number(1, 65535, "a port number"), default=8080,
                   help="port (default 8080)")
    p.add_argument("--subscribers", type=existing_file, help="subscriber list, for names and topics on the preference "
                                         "page (default: subscribers.yaml, else subscribers.example.yaml)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                   help="proxies whose X-Forwarded-For gives the client's address, for the signup limits "
                        "(default 127.0.0.1: a reverse proxy on this machine)")
    p.add_argument("--archive-drafts", action="store_true",
                   help="also show issues that have not been sent yet under /archive/ (local use)")


def run(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from ..mail.compose import Composer
    from ..web.public.app import create_app

    composer = Composer.load(root_of(args))
    settings = composer.settings
    subs = Path(args.subscribers) if args.subscribers else default_subscribers(settings.root)
    app = create_app(settings, subs, composer=composer, archive_drafts=args.archive_drafts)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.host not in _LOOPBACK:
        print(f"warning: listening on {args.host} without TLS; RFC 8058 needs HTTPS, so only a "
              "reverse proxy should reach this port (see docs/deployment.md)", file=sys.stderr)
    print(f"serving the pages of {settings.base_url} on http://{args.host}:{args.port} "
          f"(state: {settings.state_db}, subscribers: {subs})", file=sys.stderr)
    # uvicorn's access log would write every token into the log; serve.py logs redacted paths.
    # X-Forwarded-For is believed only from --forwarded-allow-ips (the per-client signup limit).
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, server_header=False,
                log_level="info", proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
    return 0
