"""The double opt-in confirmation message: the project's `templates/confirm.mjml` and
`templates/confirm.txt` through the same pipeline as an issue (jinja2 → MJML → inlined HTML,
and a text part) and with the same head (`templates/_head.mjml`: `lang`, colour-scheme metas,
dark palette, the 46 px button) and preheader technique (`templates/_preheader.mjml`), compiled once; each request then only fills three markers (greeting, topics,
confirmation link) into pre-encoded quoted-printable chunks.

It is not a list message: no List-Unsubscribe (the reader is not subscribed), and
`Auto-Submitted: auto-generated` (RFC 3834) so auto-responders do not answer it.
"""

from __future__ import annotations

import hashlib
import html
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from ..content.config import Settings
from ..content.headers import check_header_value
from ..content.textfile import display_path
from ..errors import TemplateError
from . import headerfields, wording
from .message import _CRLF, _SOFT, Recipient, _encode_with_slots, _qp, _to_header, text_greeting
from .mjmllint import lint_template
from .plaintext import wrap
from .render import GREETING, TOPICS, WIDTH, mjml_to_html, text_direction

CONFIRM_URL = "__NL_CONFIRM_URL__"
HEADING = "Confirm your subscription"  # the message's h2 (the list's name is its h1)
BUTTON = "Confirm my subscription"
PREHEADER = "One click to confirm: until then, nothing is sent to you."  # the inbox snippet
HTML_TEMPLATE = "confirm.mjml"
TEXT_TEMPLATE = "confirm.txt"


@dataclass
class ConfirmationMail:
    """The compiled confirmation; `build` gives one message's bytes."""

    settings: Settings
    subject: str
    head: bytes
    text_chunks: list[bytes | str]
    html_chunks: list[bytes | str]
    boundary: bytes
    signer: Callable[[bytes], bytes] | None = None

    @classmethod
    def compile(cls, settings: Settings, signer: Callable[[bytes], bytes] | None = None) -> ConfirmationMail:
        """Render the templates once. Raises TemplateError naming the template and line."""
        hours = f"{settings.signup.confirm_hours:g}"
        subject = check_header_value(f"Confirm your subscription to {settings.name}", "subject")
        intro = (f"Please confirm that you want to receive {settings.name}, a monthly e-mail summarising "
                 "practice-oriented research.")
        expiry = (f"The link works for {hours} hours. If you did not ask for this, ignore this message: "
                  "you will not be subscribed, and we will not write to you again.")
        context = {"name": settings.name, "subject": subject, "hours": hours, "heading": HEADING,
                   "button": BUTTON, "intro": intro, "expiry": expiry, "logo": settings.logo,
                   "preheader": PREHEADER, "preheader_spacer": Markup("&zwnj;&nbsp;" * wording.SPACER_PAIRS),
                   "postal_address": settings.postal_address, "language": settings.language,
                   "direction": text_direction(settings.language),
                   "intro_wrapped": "\n".join(wrap(intro, WIDTH)),
                   "expiry_wrapped": "\n".join(wrap(expiry, WIDTH)),
                   "postal_wrapped": "\n".join(wrap(settings.postal_address, WIDTH))}
        folder = settings.templates_dir
        loader = jinja2.FileSystemLoader(str(folder))
        mjml_src = _render(jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined),
                           HTML_TEMPLATE, folder, context)
        problems = lint_template(folder, HTML_TEMPLATE)
        if problems:
            raise TemplateError("\n".join(problems))
        where = display_path(folder / HTML_TEMPLATE)
        html_part = mjml_to_html(mjml_src, where)
        text_part = _render(jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
                                               keep_trailing_newline=True), TEXT_TEMPLATE, folder, context)
        for name, part in ((HTML_TEMPLATE, html_part), (TEXT_TEMPLATE, text_part)):
            if CONFIRM_URL not in part:
                raise TemplateError(f"{display_path(folder / name)}:1:1: {CONFIRM_URL} (the confirmation link) "
                                    "is missing")
        head = [headerfields.mailbox("From", settings.sender.name, settings.sender.addr)]
        if settings.reply_to:
            head.append(headerfields.mailbox("Reply-To", settings.reply_to.name, settings.reply_to.addr))
        head += [headerfields.unstructured("Subject", subject), b"MIME-Version: 1.0\r\n",
                 b"Auto-Submitted: auto-generated\r\n"]
        digest = hashlib.sha256(html_part.encode() + text_part.encode()).hexdigest()[:24]
        return cls(settings, subject, b"".join(head), _encode_with_slots(text_part),
                   _encode_with_slots(html_part), f"=_nl_c_{digest}".encode(), signer)

    def topics_line(self, topics: frozenset[str] | None) -> str:
        if topics is None:
            return "You chose every topic."
        tax = self.settings.taxonomy
        return "You chose these topics: " + ", ".join(tax.labels[t] for t in tax.order(topics)) + "."

    def message_id(self) -> str:
        return f"<confirm.{secrets.token_hex(8)}@{self.settings.domain}>"

    def build(self, to: Recipient, topics: frozenset[str] | None, url: str, *, date: str,
              message_id: str | None = None) -> bytes:
        """The message to `to` (its sid is not used) confirming `topics` with link `url`."""
        greeting = wording.greeting(to.name or "")  # "Hello Ana," or none, as in an issue
        topics_text = self.topics_line(topics)
        text_vals = {GREETING: _qp(text_greeting(greeting)) + _SOFT,
                     TOPICS: _qp("\n".join(wrap(topics_text, WIDTH))) + _SOFT,
                     CONFIRM_URL: _qp(url) + _SOFT}
        html_vals = {GREETING: _qp(html.escape(greeting)) + _SOFT, TOPICS: _qp(html.escape(topics_text)) + _SOFT,
                     CONFIRM_URL: _qp(html.escape(url)) + _SOFT}
        b = self.boundary
        raw = b"".join([
            self.head, _to_header(to), f"Date: {date}\r\n".encode(),
            b"Message-ID: ", (message_id or self.message_id()).encode(), _CRLF,
            b'Content-Type: multipart/alternative; boundary="', b, b'"', _CRLF, _CRLF,
            b"--", b, _CRLF, b'Content-Type: text/plain; charset="utf-8"', _CRLF,
            b"Content-Transfer-Encoding: quoted-printable", _CRLF, _CRLF,
            *[c if isinstance(c, bytes) else text_vals[c] for c in self.text_chunks], _CRLF,
            b"--", b, _CRLF, b'Content-Type: text/html; charset="utf-8"', _CRLF,
            b"Content-Transfer-Encoding: quoted-printable", _CRLF, _CRLF,
            *[c if isinstance(c, bytes) else html_vals[c] for c in self.html_chunks], _CRLF,
            b"--", b, b"--", _CRLF,
        ])
        return self.signer(raw) if self.signer else raw


def _render(env: jinja2.Environment, name: str, folder: object, context: dict[str, Any]) -> str:
    where = display_path(folder / name)  # type: ignore[operator]
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"{where}:1:1: template not found (the signup confirmation needs it; see "
                            "README)") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{where}:{exc.lineno}:1: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{where}:1:1: {exc}") from None


__all__ = ["BUTTON", "CONFIRM_URL", "HEADING", "PREHEADER", "ConfirmationMail"]
