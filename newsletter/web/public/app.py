"""The public pages behind `newsletter serve`: one-click unsubscribe (RFC 8058), the preference
page, the archive and its feeds (`site.py`) and the signup with double opt-in (`signup.py`).

Routes (under the path of base_url, if it has one):
  GET  /u/{token}       confirmation page with a button; changes nothing (scanners fetch links)
  POST /u/{token}       `List-Unsubscribe=One-Click` (urlencoded or multipart) → unsubscribed, 200
  GET  /p/{token}       the taxonomy as checkboxes, current choice ticked
  POST /p/{token}       action=save | resubscribe (with topic=slug...) or action=unsubscribe
  GET  /, /archive/, /archive/YYYY-MM, /topics/, /topics/SLUG, /feed.atom,
       /topics/SLUG/feed.atom, /site.css: the archive (see site.py)
  GET/POST /subscribe, /confirm/{token}: signup with double opt-in (see signup.py)
  GET  /manage          where the personal links are
  GET  /healthz         200 "ok" when the state database answers
  POST /webhooks/ses, /webhooks/postmark   relay bounce/complaint webhooks, when configured
                        (signature-verified or authenticated: webhooks.py)

A 'u' token only unsubscribes; the preference page needs the separate 'p' token from the same
e-mail, and no page hands out one kind of token in exchange for the other. Bad tokens of any
sort get the same 404; identifiers in the query string (`?email=`) get a 400.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from ...content.config import Settings
from ...delivery.transports import transport_factory
from ...delivery.transports.base import Transport
from ...mail.compose import SAMPLE_SID, Composer
from .desk import Desk
from .middleware import SecurityHeaders
from .pages import mask_email, render
from .signup import SignupPages
from .site import SITE_CSP, Site
from .state import Person, State, Unavailable
from .webhooks import webhook_routes

log = logging.getLogger("newsletter.serve")

MAX_BODY = 64 * 1024
# Unsigned ways of naming a subscriber that must never be honoured.
IDENTITY_PARAMS = frozenset({"email", "e", "mail", "address", "addr", "sid", "id", "uid", "user",
                             "subscriber", "recipient"})


def create_app(settings: Settings, subscribers_path: Path | str, *, composer: Composer | None = None,
               archive_drafts: bool = False, transport: Callable[[], Transport] | None = None) -> Starlette:
    """The public server's ASGI app. `transport` (default: the configured one) carries the
    signup confirmations. Raises TemplateError if signup is on and its templates are broken."""
    composer = composer or Composer.load(settings=settings)
    state = State(settings, Path(subscribers_path))
    site = Site(settings, drafts=archive_drafts)
    pages = _Pages(settings, composer, state, site)
    prefix = urlsplit(settings.base_url).path.rstrip("/")
    inner: list[BaseRoute] = [
        Route("/u/{token}", pages.unsubscribe_page, methods=["GET"]),
        Route("/u/{token}", pages.unsubscribe, methods=["POST"]),
        Route("/p/{token}", pages.preferences_page, methods=["GET"]),
        Route("/p/{token}", pages.preferences_post, methods=["POST"]),
        *[Route(p, pages.site_page, methods=["GET"]) for p in (
            "/", "/archive", "/archive/", "/archive/{month}", "/topics", "/topics/", "/topics/{slug}",
            "/topics/{slug}/feed.atom", "/feed.atom", "/site.css", "/favicon.ico")],
        Route("/manage", pages.manage, methods=["GET"]),
        Route("/healthz", pages.healthz, methods=["GET"]),
        *webhook_routes(settings, state, composer.keys),
    ]
    desk = None
    if settings.signup.enabled:
        desk = Desk(settings, composer.keys, state, transport or transport_factory(settings))
        inner += SignupPages(settings, composer.keys, desk, prefix).routes()
    routes: list[BaseRoute] = [Mount(prefix, routes=inner)] if prefix else inner

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if desk is not None:
            forgotten = await state.call(state.ledger.forget_unconfirmed)
            if forgotten:
                log.info("deleted %d signup request(s) never confirmed", forgotten)
        yield
        if desk is not None:
            await desk.close()
        state.close()

    app = Starlette(routes=routes, lifespan=lifespan, max_body_size=MAX_BODY,
                    exception_handlers={HTTPException: pages.http_error, Unavailable: pages.unavailable})
    app.router.redirect_slashes = False  # RFC 8058: never answer the POST with a redirect
    app.state.newsletter = state
    app.state.desk = desk
    app.add_middleware(SecurityHeaders)
    return app


class _Pages:
    def __init__(self, settings: Settings, composer: Composer, state: State, site: Site) -> None:
        self.settings, self.keys, self.state, self.site = settings, composer.keys, state, site
        self.prefix = urlsplit(settings.base_url).path.rstrip("/")
        contact = settings.reply_to or settings.sender
        self.contact = contact.addr

    # -- helpers -----------------------------------------------------------------------------------
    def page(self, template: str, status: int = 200, **context: object) -> HTMLResponse:
        html = render(template, list_name=self.settings.name,
                      postal_address=self.settings.postal_address, **context)
        return HTMLResponse(html, status_code=status)

    def message(self, title: str, *paragraphs: str, status: int = 200, role: str = "") -> HTMLResponse:
        return self.page("message.html", status, title=title, paragraphs=paragraphs, role=role)

    def invalid_link(self) -> HTMLResponse:
        return self.message(
            "This link does not work", "The link is incomplete or was changed. Please open it "
            "again from the e-mail, or copy it in full.",
            f"You can also reply to any issue, or write to {self.contact}, and we will take you "
            "off the list.", status=404)

    def token_sid(self, request: Request, purpose: str) -> tuple[str, str] | HTMLResponse:
        """(sid, token) if the token in the path is genuine, or the error page to answer with."""
        if IDENTITY_PARAMS.intersection(k.lower() for k in request.query_params):
            return self.message("Not accepted", "These pages only accept the personal link from "
                                "your e-mail; addresses or ids in the link are not accepted.",
                                status=400)
        token = request.path_params["token"]
        sid = self.keys.verify(token, purpose)
        if sid == SAMPLE_SID:  # `render`, `preview` and `send-test` copies: genuine, but nobody's
            return self.message("Test copy", "This link comes from a test or sample copy of the "
                                "newsletter. It works, and nothing was changed.", role="status")
        return (sid, token) if sid else self.invalid_link()

    async def person(self, request: Request, purpose: str) -> tuple[Person, str] | HTMLResponse:
        """The person the token in the path names, or the error page to answer with."""
        found = self.token_sid(request, purpose)
        if isinstance(found, Response):
            return found
        sid, token = found
        person = await self.state.call(self.state.person, sid)
        return (person, token) if person else self.invalid_link()

    def audit(self, request: Request, token: str) -> dict[str, object]:
        """What an unsubscribe/preference event records: time (by the ledger), key id, user
        agent. Never the token itself, nor the address."""
        ua = request.headers.get("user-agent", "")[:200]
        return {"kid": token.split(".", 1)[0], "ua": ua}

    async def form(self, request: Request) -> FormData | None:
        try:
            return await request.form(max_files=0, max_fields=100, max_part_size=8192)
        except HTTPException as exc:  # malformed multipart, a file upload, too many fields
            if exc.status_code == 413:
                raise
            return None

    # -- /u ----------------------------------------------------------------------------------------
    async def unsubscribe_page(self, request: Request) -> Response:
        found = await self.person(request, "u")
        if isinstance(found, Response):
            return found
        person, token = found
        if person.suppression is not None:
            return self.message("You are unsubscribed", f"{mask_email(person.email)} does not "
                                f"receive {self.settings.name} any more. Nothing else to do.")
        return self.page("confirm.html", title="Unsubscribe?", masked=mask_email(person.email),
                         token=token)

    async def unsubscribe(self, request: Request) -> Response:
        found = self.token_sid(request, "u")
        if isinstance(found, Response):
            return found
        sid, token = found
        form = await self.form(request)
        one_click = form is not None and form.get("List-Unsubscribe") == "One-Click"
        if not one_click and form is not None and not form:
            # A body without a form content type: accept the exact RFC 8058 pair as it is.
            one_click = (await request.body()).strip() == b"List-Unsubscribe=One-Click"
        if not one_click:
            return self.message("Not understood", "This address expects the one-click "
                                "unsubscribe request (List-Unsubscribe=One-Click). Open the link "
                                "in a browser to unsubscribe with a button.", status=400)
        source = "page" if form is not None and form.get("via") == "page" else "one-click"
        email = await self.state.unsubscribe(sid, source, self.audit(request, token))
        return self.unsubscribed(email) if email else self.invalid_link()

    def unsubscribed(self, email: str) -> HTMLResponse:
        return self.message(
            "You are unsubscribed",
            f"{mask_email(email)} will not receive {self.settings.name} any more.",
            "Unsubscribed by mistake? Use the “Change your topics” link in any issue you "
            f"received, or write to {self.contact}.", role="status")

    # -- /p ----------------------------------------------------------------------------------------
    def preferences_form(self, person: Person, token: str, chosen: frozenset[str] | None = None,
                         error: str = "", status: int = 200) -> HTMLResponse:
        tax = self.settings.taxonomy
        current = chosen if chosen is not None else person.topics
        ticked = set(tax.labels) if current is None else set(current)
        supp = person.suppression
        state = "subscribed" if supp is None else ("unsubscribed" if supp.by_reader else "blocked")
        return self.page("preferences.html", status, title="Choose your topics",
                         masked=mask_email(person.email), token=token, topics=list(tax.labels.items()),
                         chosen=ticked, state=state, error=error, contact=self.contact)

    async def preferences_page(self, request: Request) -> Response:
        found = await self.person(request, "p")
        if isinstance(found, Response):
            return found
        return self.preferences_form(*found)

    async def preferences_post(self, request: Request) -> Response:
        found = await self.person(request, "p")
        if isinstance(found, Response):
            return found
        person, token = found
        form = await self.form(request)
        action = form.get("action") if form is not None else None
        if form is None or action not in ("save", "resubscribe", "unsubscribe"):
            return self.message("Not understood", "Please use the buttons on the preference page.",
                                status=400)
        audit = self.audit(request, token)
        if action == "unsubscribe":
            await self.state.unsubscribe(person.sid, "page", audit)
            return self.unsubscribed(person.email)
        labels = self.settings.taxonomy.labels
        picked = [str(v) for v in form.getlist("topic")]
        if any(p not in labels for p in picked):
            return self.message("Not understood", "Unknown topic in the form; please reload the "
                                "preference page.", status=400)
        chosen = frozenset(picked)
        if not chosen:
            return self.preferences_form(
                person, token, chosen, status=422,
                error="Tick at least one topic, or use “Unsubscribe from everything” below.")
        resubscribe = action == "resubscribe" and person.suppression is not None \
            and person.suppression.by_reader
        stored = None if chosen == frozenset(labels) else chosen  # every topic, also future ones
        await self.state.call(self.state.save_topics, person.sid, stored, resubscribe, audit)
        return self.saved(person, token, stored, resubscribe)

    def saved(self, person: Person, token: str, topics: frozenset[str] | None,
              resubscribed: bool) -> HTMLResponse:
        tax = self.settings.taxonomy
        if topics is None:
            summary, labels = "Saved. You will receive every article.", []
        else:
            summary = "Saved. From the next issue you will receive articles on:"
            labels = [tax.labels[t] for t in tax.order(topics)]
        note = ""
        if resubscribed:
            summary = "Welcome back. " + summary
        elif person.suppression is not None:
            note = ("Your topics are stored, but delivery to this address stays stopped. "
                    f"Write to {self.contact} to receive the digest again.")
        return self.page("saved.html", title="Your topics are saved", summary=summary,
                         chosen_labels=labels, note=note, token=token)

    # -- the rest ----------------------------------------------------------------------------------
    async def site_page(self, request: Request) -> Response:
        """Any page of the archive (the same renderer as `newsletter site build`)."""
        path = request.url.path[len(self.prefix):] or "/"
        published = await self.state.call(self.state.publications)
        page = await run_in_threadpool(self.site.render, path, published)
        if page is None:
            return self.message("Not found", "There is no page at this address.", status=404)
        return Response(page.body, media_type=page.media_type, headers={
            "Cache-Control": "public, max-age=300", "Content-Security-Policy": SITE_CSP,
            "X-Robots-Tag": "all"})

    async def manage(self, request: Request) -> Response:
        return self.message(
            "Your subscription",
            "Your personal links to change your topics or to unsubscribe are at the end of "
            "every issue you receive by e-mail.",
            f"You can also reply to any issue, or write to {self.contact}.")

    async def healthz(self, request: Request) -> Response:
        try:
            await self.state.call(self.state.healthy)
        except Unavailable:
            return PlainTextResponse("state database unavailable\n", status_code=503)
        return PlainTextResponse("ok\n")

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        response = self.message("Please try again", "The server is busy and nothing was changed. "
                                "Please try again in a moment.", status=503)
        response.headers["Retry-After"] = "5"
        return response

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        titles = {404: "Not found", 405: "Not allowed", 413: "Too large"}
        response = self.message(titles.get(exc.status_code, "Request not accepted"),
                                "This address does not accept that request.", status=exc.status_code)
        if exc.status_code == 405:  # RFC 9110 §15.5.6: a 405 MUST list the methods the path allows
            # routing has already narrowed the scope to the mount it entered: start from the top again
            top = {**request.scope, "root_path": request.scope.get("app_root_path", ""), "path_params": {}}
            response.headers["Allow"] = ", ".join(allowed_methods(request.app.router.routes, top))
        return response


def allowed_methods(routes: list[BaseRoute], scope: dict[str, Any]) -> list[str]:
    """Every method some route serves at the request's path (Starlette's own `Allow` names only
    the first route that matches the path, and one path here has a route per method)."""
    methods: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        if isinstance(route, Mount):
            methods.update(allowed_methods(route.routes, {**scope, **child}))
        elif isinstance(route, Route) and route.methods:
            methods.update(route.methods)
    return sorted(methods)
