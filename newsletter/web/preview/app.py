"""`newsletter preview`: a local server showing issues as subscribers will receive them.

Starlette serves the pages, uvicorn runs them on 127.0.0.1, watchfiles notices saved files.
A change bumps a counter that every open page hears about through server-sent events; the
page then fetches itself again and swaps the parts that changed (preview.js). Config or
template changes drop the loaded Composer so the next request builds a fresh one. Content
errors are shown in the page, never raised out of the server.

"Send test" calls `send_test`, the path of `newsletter send-test`. With no `smtp:` in the
config the embedded default is the Maildir outbox, which counts as a configured transport: the
button is enabled and the copy shows up in the page's outbox panel. It is disabled, with the
reason beside it, when the transport cannot be built (e.g. the SMTP password variable is
empty), when the issue has errors, or when the chosen variant gets no article.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import json
import socket
import threading
import webbrowser
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ...delivery.sendtest import BadTestRequest, send_test
from ...delivery.transports import describe
from ...errors import NewsletterError, UsageError
from .assets import CSS, JS
from .http import cross_site, not_found, state_of
from .model import PreviewState
from .outbox_routes import ROUTES as OUTBOX_ROUTES
from .pages import index_page, issue_page
from .views import Variant
from .watch import Live, log, watch

HOST = "127.0.0.1"
TABS, VIEWS = ("email", "text", "source"), ("both", "desktop", "phone")
PAGE_FIELDS = {"to": "To", "reader": ""}  # send_test's inputs as the page labels them


class PortInUse(NewsletterError):
    exit_code = 2


# -- routes ---------------------------------------------------------------------------------------
def _variant(q: ImmutableMultiDict[str, Any]) -> Variant:
    return Variant.from_query(q.get("variant"), [str(t) for t in q.getlist("topic")], q.get("sub"))


def _choice(value: str | None, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else allowed[0]


def index(request: Request) -> Response:
    state = state_of(request)
    version = state.stamp
    entries, problems = state.index()
    return HTMLResponse(index_page(entries, problems, version))


def issue(request: Request) -> Response:
    state, q = state_of(request), request.query_params
    name = request.path_params["name"]
    try:
        view = state.issue_view(name, _variant(q))
    except KeyError:
        return not_found(state, f"There is no issue '{name}' (expected issues/{name}.yaml).")
    return HTMLResponse(issue_page(view, tab=_choice(q.get("tab"), TABS), view=_choice(q.get("view"), VIEWS),
                                   sent=q.get("sent", "")))


def combinations(request: Request) -> Response:
    """Slow (every article subset is rendered), so pages load it after the e-mail is shown."""
    try:
        summary = state_of(request).combinations(request.path_params["name"])
    except KeyError:
        return Response("", 404)
    return HTMLResponse(html.escape(summary))


def issue_eml(request: Request) -> Response:
    return _issue_part(request, "eml")


def issue_html(request: Request) -> Response:
    return _issue_part(request, "html")


def _issue_part(request: Request, kind: str) -> Response:
    state, name = state_of(request), request.path_params["name"]
    try:
        view = state.issue_view(name, _variant(request.query_params))
    except KeyError:
        return not_found(state, f"There is no issue '{name}'.")
    if not view.raw or view.stale:
        reasons = [f"{p.where} {p.message}".strip() for p in view.problems] or [view.notice]
        return Response("\n".join(reasons) + "\n", 409, media_type="text/plain")
    if kind == "html":  # as a mail client would show it: no scripts, nothing fetched but images
        csp = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
        return HTMLResponse(view.html, headers={"Content-Security-Policy": csp})
    return Response(view.raw, media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="{view.filename}"'})


async def send(request: Request) -> Response:
    state, name = state_of(request), request.path_params["name"]
    refused = cross_site(request)
    if refused is not None:
        return refused
    form = await request.form()
    variant = _variant(form)
    try:
        message, ok = await send_from_preview(state, name, variant, str(form.get("to", ""))), True
    except NewsletterError as exc:
        message, ok = str(exc), False
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": ok, "message": message}, 200 if ok else 400)
    query = urlencode([*variant.query(), ("sent", message)])
    return RedirectResponse(f"/issue/{name}?{query}", 303)


async def send_from_preview(state: PreviewState, name: str, variant: Variant, to: str) -> str:
    """The `newsletter send-test` path, for the variant the page shows."""
    composer = await asyncio.to_thread(state.composer)
    path = state.issue_paths().get(name)
    if path is None:
        raise UsageError(f"there is no issue '{name}'")
    issue = await asyncio.to_thread(composer.issue, path)
    settings, subscriber, topics = composer.settings, None, None
    if variant.kind == "subscriber":
        people = await asyncio.to_thread(state.subscriber_index, settings)
        subscriber = people.find(variant.subscriber)
        if subscriber is None:
            raise UsageError(f"{variant.subscriber or 'no subscriber chosen'}: not in the subscriber list")
    elif variant.kind == "topics":
        topics = variant.topics
    if not composer.selection_for(issue, subscriber.topics if subscriber else topics):
        raise UsageError("this variant has no articles, so there is nothing to send")
    try:
        reply = await send_test(composer, issue, to, topics=topics, subscriber=subscriber)
    except BadTestRequest as exc:  # in the page's words: the "To" box, this copy
        where = PAGE_FIELDS.get(exc.field, exc.field)
        raise UsageError(f"{where}: {exc.problem}" if where else exc.problem) from None
    return f"Sent to {to.strip()} via {describe(settings)}: {reply.code} {reply.text}"


async def subscribers(request: Request) -> Response:
    """The "as subscriber" typeahead: readers whose address or name contains `q`, as JSON."""
    state = state_of(request)
    settings = await asyncio.to_thread(state.settings)
    if settings is None:
        return JSONResponse({"items": [], "matches": 0, "more": False, "total": 0})
    people = await asyncio.to_thread(state.subscriber_index, settings)
    try:
        limit = min(max(int(request.query_params.get("limit", "12")), 1), 50)
    except ValueError:
        limit = 12
    found = people.search(request.query_params.get("q", "")[:200], limit)
    items = [{"email": s.email, "name": s.name,
              "topics": "all topics" if s.topics is None else f"{len(s.topics)} topic(s)"} for s in found.items]
    return JSONResponse({"items": items, "matches": found.matches, "more": found.more, "total": found.total})


async def events(request: Request) -> Response:
    live: Live = request.app.state.live

    async def stream() -> AsyncIterator[str]:
        yield "retry: 500\n\n"  # reconnect quickly when the server restarts
        seen = -1
        while not live.stopping:
            if live.state.version != seen:
                seen = live.state.version
                yield f"event: change\ndata: {json.dumps({'version': live.state.stamp})}\n\n"
            else:
                yield ": keep-alive\n\n"
            await live.wait(seen, 15)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _asset(body: str, media_type: str) -> Any:
    def endpoint(request: Request) -> Response:
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-cache"})
    return endpoint


def _warm(state: PreviewState) -> None:
    try:
        state.warm()
    except Exception:  # noqa: BLE001 - only a head start: the pages report any problem themselves
        log.debug("warming up failed", exc_info=True)


def create_app(state: PreviewState, *, watch_files: bool = True) -> Starlette:
    live = Live(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        live.loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        task = asyncio.create_task(watch(state, live, stop)) if watch_files else None
        threading.Thread(target=_warm, args=(state,), daemon=True).start()
        try:
            yield
        finally:
            stop.set()
            live.stop()
            if task is not None:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, 6)

    routes = [
        Route("/", index), Route("/issue/{name}", issue), Route("/issue/{name}/eml", issue_eml),
        Route("/issue/{name}/html", issue_html), Route("/issue/{name}/combinations", combinations), Route("/issue/{name}/send-test", send, methods=["POST"]),
        Route("/subscribers", subscribers), *OUTBOX_ROUTES,
        Route("/events", events),
        Route("/static/preview.css", _asset(CSS, "text/css")),
        Route("/static/preview.js", _asset(JS, "text/javascript")),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
    # Only this machine, by name too: a web page elsewhere cannot reach in via DNS rebinding.
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=[HOST, "localhost"])]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.preview = state
    app.state.live = live
    return app


# -- running --------------------------------------------------------------------------------------
def listen(port: int) -> socket.socket:
    try:
        return socket.create_server((HOST, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"{HOST}:{port} is already in use (another preview?); choose a free "
                            f"port with --port N") from None
        raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None


class PreviewServer(uvicorn.Server):
    """uvicorn, plus ending the event streams on Ctrl-C so shutdown does not wait for them."""

    def __init__(self, app: Starlette, on_started: Callable[[], None] | None = None) -> None:
        super().__init__(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                        timeout_graceful_shutdown=2))
        self.live: Live = app.state.live
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.on_started is not None and not self.should_exit:
            self.on_started()  # Ctrl-C is handled from here on

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.live.stop()
        super().handle_exit(sig, frame)

    def start_in_thread(self, sock: socket.socket) -> threading.Thread:
        """For tests and the benchmark: serve on `sock` until `stop()`."""
        thread = threading.Thread(target=self.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not self.started and thread.is_alive():
            threading.Event().wait(0.01)
        return thread

    def stop(self) -> None:
        self.live.stop()
        self.should_exit = True


def serve(state: PreviewState, *, port: int, open_browser: bool, path: str = "/") -> None:
    sock = listen(port)
    url = f"http://{HOST}:{sock.getsockname()[1]}{path}"

    def started() -> None:
        print(f"Previewing {state.root} at {url}  (Ctrl-C to stop)", flush=True)
        if open_browser:  # in a thread: a text-mode browser would otherwise block the server
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    try:
        PreviewServer(create_app(state), started).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then re-raised the Ctrl-C: a normal end
        pass
    print("Preview stopped.", flush=True)
