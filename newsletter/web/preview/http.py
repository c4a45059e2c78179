"""Small helpers the preview's route modules share: the state behind a request, the 404 page,
and the same-origin check every state-changing POST makes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .model import PreviewState
from .pages import missing_page


def state_of(request: Request) -> PreviewState:
    state: PreviewState = request.app.state.preview
    return state


def not_found(state: PreviewState, message: str) -> Response:
    return HTMLResponse(missing_page(message, state.stamp), 404)


def cross_site(request: Request) -> Response | None:
    """A 403 for a POST another site's page made (its Origin is not this server), else None.
    Browsers send Origin with every cross-site POST; TrustedHostMiddleware already refuses
    other Host names (DNS rebinding)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
        return Response("cross-site request refused\n", 403, media_type="text/plain")
    return None
