"""The signup pages (double opt-in):

  GET  /subscribe        the form: address, optional name, topics (all ticked), the consent text
  POST /subscribe        always the same "check your inbox" page for a valid form, whether the
                         address is new, pending, subscribed or unsubscribed (no enumeration)
  GET  /confirm/{token}  a button (link scanners fetch links; a GET changes nothing), or "expired"
                         with a button for a new link, or "already subscribed"
  POST /confirm/{token}  action=confirm subscribes (idempotent); action=resend mails a new link

Limits: the Origin check (CSRF), `signup.per_client` requests per client per 10 minutes (429),
a honeypot field (a filled one is answered like a success and recorded nowhere), the app's body
limit and small form limits, one confirmation per address per 10 minutes (in the ledger).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ...content.addresses import AddressError, address_key, normalize_address
from ...content.config import Settings
from ...content.headers import HeaderValueError, check_header_value
from ...content.signup import CLIENT_WINDOW
from ...mail.tokens import TokenKeys
from ...store.ledger import Reason, SignupForm
from .desk import PURPOSE, Desk
from .guard import ClientLimiter, allowed_origin, client_key, origin_of
from .pages import mask_email
from .site import SITE_CSP, _env

log = logging.getLogger("newsletter.serve")
HONEYPOT = "website"
COMPLAINT = str(Reason.COMPLAINT)
MAX_NAME = 200


class SignupPages:
    def __init__(self, settings: Settings, keys: TokenKeys, desk: Desk, prefix: str) -> None:
        self.settings, self.keys, self.desk, self.prefix = settings, keys, desk, prefix
        self.limiter = ClientLimiter(settings.signup.per_client, CLIENT_WINDOW)
        self.origins = {origin_of(settings.base_url), *settings.signup.allowed_origins}
        self.own_origin = {origin_of(settings.base_url)}

    def routes(self) -> list[BaseRoute]:
        return [Route("/subscribe", self.subscribe_page, methods=["GET"]),
                Route("/subscribe", self.subscribe, methods=["POST"]),
                Route("/confirm/{token}", self.confirm_page, methods=["GET"]),
                Route("/confirm/{token}", self.confirm, methods=["POST"])]

    # -- helpers -----------------------------------------------------------------------------------
    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        s = self.settings
        context.setdefault("description", f"Subscribe to {s.name}")
        html = _env.get_template(template).render(
            list_name=s.name, postal_address=s.postal_address, prefix=self.prefix, base_url=s.base_url,
            canonical=f"{s.base_url}/subscribe", topic_feed="", signup=True, **context)
        return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": SITE_CSP})

    def message(self, title: str, *paragraphs: str, status: int = 200, form: dict[str, str] | None = None,
                role: str = "status") -> HTMLResponse:
        return self.page("signup_message.html", status, title=title, paragraphs=paragraphs, form=form, role=role)

    def form_page(self, status: int = 200, *, email: str = "", name: str = "",
                  chosen: frozenset[str] | None = None, errors: dict[str, str] | None = None) -> HTMLResponse:
        tax = self.settings.taxonomy
        return self.page("subscribe.html", status, title=f"Subscribe to {self.settings.name}", email=email,
                         name=name, topics=list(tax.labels.items()),
                         chosen=set(tax.labels) if chosen is None else chosen, errors=errors or {},
                         consent=self.settings.signup.consent_text(self.settings.name), honeypot=HONEYPOT)

    async def read_form(self, request: Request) -> FormData | None:
        try:
            return await request.form(max_files=0, max_fields=len(self.settings.taxonomy.labels) + 20,
                                      max_part_size=4096)
        except HTTPException as exc:
            if exc.status_code == 413:
                raise
            return None

    def refused_origin(self) -> HTMLResponse:
        return self.message("Not accepted", "This form can only be sent from our own pages. Please open "
                            f"{self.settings.base_url}/subscribe and try again.", status=403, role="alert")

    # -- /subscribe --------------------------------------------------------------------------------
    async def subscribe_page(self, request: Request) -> Response:
        return self.form_page()

    async def subscribe(self, request: Request) -> Response:
        if not allowed_origin(request, self.origins):
            return self.refused_origin()
        if not self.limiter.allow(client_key(request)):
            response = self.message("Please try again later", "Too many signup requests came from your "
                                    "network in the last few minutes. Nothing was sent.", status=429, role="alert")
            response.headers["Retry-After"] = str(int(CLIENT_WINDOW))
            return response
        form = await self.read_form(request)
        if form is None:
            return self.message("Not understood", "Please use the form on the subscribe page.", status=400)
        if str(form.get(HONEYPOT) or "").strip():
            log.info("signup: honeypot field filled; nothing recorded")
            return self.check_inbox(str(form.get("email") or "")[:320])
        parsed = self.validate(form)
        if isinstance(parsed, Response):
            return parsed
        await self.desk.request(parsed)
        return self.check_inbox(parsed.email)

    def validate(self, form: FormData) -> SignupForm | Response:
        """The form as a SignupForm, or the form page again with every problem marked."""
        raw_email = str(form.get("email") or "").strip()
        raw_name = str(form.get("name") or "").strip()
        name = " ".join(raw_name.split())
        picked = [str(v) for v in form.getlist("topic")]
        labels = self.settings.taxonomy.labels
        errors: dict[str, str] = {}
        addr, utf8 = "", False
        try:
            addr, utf8 = normalize_address(raw_email)
        except AddressError as exc:
            errors["email"] = ("Please enter your e-mail address." if not raw_email else
                               f"This is not an e-mail address we can send to: {str(exc).split(': ', 1)[-1]}")
        if len(name) > MAX_NAME:
            errors["name"] = f"Please shorten the name to at most {MAX_NAME} characters."
        else:
            try:
                check_header_value(raw_name, "the name")  # line breaks refused, not folded away
            except HeaderValueError:
                errors["name"] = "The name contains characters that cannot be used in an e-mail header."
        unknown = [p for p in picked if p not in labels]
        if unknown:
            return self.message("Not understood", "Unknown topic in the form; please reload the subscribe page.",
                                status=400, role="alert")
        if not picked and form.get("choose") == "topics":  # our form offered the boxes: none ticked
            errors["topics"] = "Tick at least one topic."
        if not picked:  # a form without topic boxes (an embedded one): every topic
            picked = list(labels)
        if errors:
            return self.form_page(422, email=raw_email[:320], name=name[:MAX_NAME], chosen=frozenset(picked),
                                  errors=errors)
        chosen = frozenset(picked)
        topics = None if chosen == frozenset(labels) else chosen  # every topic, also future ones
        return SignupForm(address_key(addr), addr, name, topics, utf8, "form",
                          self.settings.signup.consent_text(self.settings.name))

    def check_inbox(self, email: str) -> HTMLResponse:
        hours = f"{self.settings.signup.confirm_hours:g}"
        return self.message(
            "Check your inbox",
            f"We sent a message to {email} with a link to confirm your subscription, unless we sent one "
            "in the last 10 minutes. Nothing is sent to you until you confirm.",
            f"The link works for {hours} hours. No message? Look in your spam folder, or try again in "
            "10 minutes.")

    # -- /confirm ----------------------------------------------------------------------------------
    async def confirm_page(self, request: Request) -> Response:
        found = await self.request_of(request)
        if isinstance(found, Response):
            return found
        token, email, expired, reason = found
        if expired:
            return self.expired(token)
        return self.page("confirm_signup.html", title="Confirm your subscription", masked=mask_email(email),
                         token=token, complaint=reason == COMPLAINT)

    async def confirm(self, request: Request) -> Response:
        if not allowed_origin(request, self.own_origin):
            return self.refused_origin()
        found = await self.request_of(request)
        if isinstance(found, Response):
            return found
        token, _email, expired, _reason = found
        form = await self.read_form(request)
        action = form.get("action") if form is not None else None
        rid = token.split(".")[1]
        if action == "resend":
            await self.desk.resend(rid)
            return self.message("Check your inbox", "If this subscription is still waiting for confirmation, "
                                "a new link is on its way (at most one every 10 minutes).")
        if action != "confirm":
            return self.message("Not understood", "Please use the button on the confirmation page.", status=400)
        if expired:
            return self.expired(token)
        done = await self.desk.confirm(rid, form is not None and form.get("complaint_ok") == "yes")
        if done is None:
            return self.invalid_link()
        if done.kept:
            return self.message("Your confirmation is recorded", "An earlier issue sent to this address was "
                                "reported as spam, so nothing is sent to it until you also tick that you want "
                                "the digest again. Open the link again to do so.", role="alert")
        log.info("signup confirmed%s", " (again)" if done.already else "")
        title = "You are already subscribed" if done.already else "You are subscribed"
        return self.message(title, f"{mask_email(done.email)} will receive {self.settings.name} from the next "
                            "issue on. Every issue has links to change your topics or to unsubscribe.")

    async def request_of(self, request: Request) -> tuple[str, str, bool, str | None] | Response:
        """(token, address, expired?, suppression reason) of a genuine confirmation link, or the
        page to answer with; a confirmed request answers "already subscribed" here."""
        token = request.path_params["token"]
        signed = self.keys.verify_expiring(token, PURPOSE)
        if signed is None:
            return self.invalid_link()
        found = await self.desk.state.call(self.desk.state.ledger.signup_state, signed.value)
        if found is None:
            return self.invalid_link()
        email, confirmed, reason = found
        if confirmed:
            return self.message("You are already subscribed", f"{mask_email(email)} is subscribed to "
                                f"{self.settings.name}. Nothing else to do.")
        return token, email, signed.expired(time.time()), reason

    def expired(self, token: str) -> HTMLResponse:
        return self.message("This link has expired",
                            f"Confirmation links work for {self.settings.signup.confirm_hours:g} hours. "
                            "Press the button for a new one; it goes to the same address.",
                            status=410, form={"action": token, "value": "resend", "label": "Send me a new link"})

    def invalid_link(self) -> HTMLResponse:
        return self.message("This link does not work", "The link is incomplete or was changed. Please open it "
                            "again from the e-mail, or subscribe again.", status=404, role="alert")


__all__ = ["HONEYPOT", "SignupPages"]
