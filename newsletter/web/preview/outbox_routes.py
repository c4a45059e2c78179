"""The outbox pages of the preview: the list (search, "[TEST] only", pages), one message taken
apart (decoded headers, text part, links), its .eml, and clearing with a confirmation step."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .http import cross_site, not_found, state_of
from .letter import read_letter
from .outbox import Outbox
from .pages import clear_page, letter_page, outbox_page

PAGE_SIZE = 25


def _filters(q: ImmutableMultiDict[str, Any]) -> tuple[str, bool]:
    return str(q.get("q", "") or "")[:200], q.get("test") in ("1", "on", "yes")


def _page(request: Request) -> Outbox | None:
    state = state_of(request)
    settings = state.settings()
    if settings is None:
        return None
    query, test_only = _filters(request.query_params)
    try:
        offset = max(0, int(request.query_params.get("from", "0")))
    except ValueError:
        offset = 0
    return state.outbox(settings).page(query=query, test_only=test_only, offset=offset, limit=PAGE_SIZE)


async def listing(request: Request) -> Response:
    state = state_of(request)
    box = await asyncio.to_thread(_page, request)
    if box is None:
        return not_found(state, "The configuration has problems; the outbox cannot be located.")
    return HTMLResponse(outbox_page(box, state.stamp, PAGE_SIZE, request.query_params.get("done", "")))


async def confirm_clear(request: Request) -> Response:
    state = state_of(request)
    box = await asyncio.to_thread(_page, request)
    if box is None:
        return not_found(state, "The configuration has problems; the outbox cannot be located.")
    return HTMLResponse(clear_page(box, state.stamp))


async def clear(request: Request) -> Response:
    refused = cross_site(request)
    if refused is not None:
        return refused
    state, form = state_of(request), await request.form()
    settings = state.settings()
    query, test_only = _filters(form)
    back = {"q": query, "test": "1" if test_only else ""}
    if settings is None or form.get("confirm") != "yes":
        return RedirectResponse(f"/outbox/?{urlencode(back)}", 303)
    index = state.outbox(settings)
    n = await asyncio.to_thread(index.clear, query=query, test_only=test_only, upto=str(form.get("upto", "")))
    done = f"Deleted {n} message{'s' if n != 1 else ''}."
    return RedirectResponse(f"/outbox/?{urlencode({'done': done})}", 303)


def _raw(request: Request) -> bytes | None:
    settings, key = state_of(request).settings(), request.path_params["key"]
    return state_of(request).outbox(settings).message(key) if settings else None


async def message(request: Request) -> Response:
    state, key = state_of(request), request.path_params["key"]
    raw = await asyncio.to_thread(_raw, request)
    if raw is None:
        return not_found(state, "That message is no longer in the outbox.")
    return HTMLResponse(letter_page(key, read_letter(raw), len(raw), state.stamp))


async def eml(request: Request) -> Response:
    raw = await asyncio.to_thread(_raw, request)
    if raw is None:
        return Response("not in the outbox\n", 404, media_type="text/plain")
    return Response(raw, media_type="message/rfc822",
                    headers={"Content-Disposition": 'attachment; filename="message.eml"'})


ROUTES = [
    Route("/outbox", lambda request: RedirectResponse("/outbox/", 308)),
    Route("/outbox/", listing),
    Route("/outbox/clear", confirm_clear),
    Route("/outbox/clear", clear, methods=["POST"]),
    Route("/outbox/{key}", message),
    Route("/outbox/{key}/eml", eml),
]
