"""The signup desk: records form submissions in the ledger and sends their confirmations.

Submissions that arrive together are written in one transaction (on the ledger's thread, as
unsubscribes are), which also decides, per address, whether a confirmation may be sent now (at
most one per 10 minutes). The claimed confirmations are then sent one after another through
one transport (the configured one: the Maildir outbox by default, or the SMTP relay over one
kept-open connection). A request is answered only after its message was handed over, so the
burst test's "one confirmation each" is observable when the responses are in. If sending fails,
the claim is given back (the reader can try again at once) and the failure is logged; the
page the reader sees is the same either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ...content.config import Settings
from ...content.signup import ADDRESS_INTERVAL
from ...delivery.transports.base import ErrorKind, SendError, Transport
from ...mail.compose import now_header
from ...mail.confirmation import ConfirmationMail
from ...mail.message import Recipient
from ...mail.tokens import TokenKeys
from ...store.ledger import Confirmation, SignupClaim, SignupForm
from .state import State

log = logging.getLogger("newsletter.serve")
MAX_BATCH = 500
PURPOSE = "c"  # the confirmation link's token purpose


class Desk:
    def __init__(self, settings: Settings, keys: TokenKeys, state: State,
                 transport: Callable[[], Transport]) -> None:
        """Compiles the confirmation message now: raises TemplateError for broken templates
        and NewsletterError for an unusable DKIM key."""
        self.settings, self.keys, self.state = settings, keys, state
        self.mail = ConfirmationMail.compile(settings, _signer(settings))
        self._factory = transport
        self._transport: Transport | None = None
        self._send_lock = asyncio.Lock()
        self._queued: list[tuple[SignupForm, asyncio.Future[SignupClaim]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.sent = 0  # confirmations handed to the transport (for tests and the log)

    def link(self, rid: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.settings.signup.confirm_hours * 3600)
        return f"{self.settings.base_url}/confirm/{self.keys.sign_expiring(rid, PURPOSE, expires)}"

    async def request(self, form: SignupForm) -> None:
        """Record a submission and send its confirmation if the address is due one."""
        fut: asyncio.Future[SignupClaim] = asyncio.get_running_loop().create_future()
        self._queued.append((form, fut))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued())
        claim = await asyncio.shield(fut)  # a client hanging up does not cancel the write
        if claim.mail:
            await asyncio.shield(self._send(claim))

    async def resend(self, rid: str) -> None:
        """A fresh link for a pending request whose link expired (same per-address limit)."""
        claim = await self.state.call(self._claim_resend, rid)
        if claim is not None and claim.mail:
            await asyncio.shield(self._send(claim))

    async def confirm(self, rid: str, complaint_confirmed: bool = False) -> Confirmation | None:
        return await self.state.call(self._confirm, rid, complaint_confirmed)

    def _confirm(self, rid: str, complaint_confirmed: bool) -> Confirmation | None:
        return self.state.ledger.confirm_signup(rid, complaint_confirmed=complaint_confirmed)

    async def close(self) -> None:
        async with self._send_lock:
            if self._transport is not None:
                await self._transport.close()
                self._transport = None

    # -- internals ---------------------------------------------------------------------------------
    def _claim_resend(self, rid: str) -> SignupClaim | None:
        return self.state.ledger.claim_resend(rid, interval=ADDRESS_INTERVAL)

    def _record(self, forms: list[SignupForm]) -> list[SignupClaim]:
        return self.state.ledger.request_signups(forms, interval=ADDRESS_INTERVAL)

    async def _write_queued(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                try:
                    claims = await self.state.call(self._record, [f for f, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every waiting request must hear of it
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (_, fut), claim in zip(batch, claims):
                    if not fut.done():
                        fut.set_result(claim)
        finally:
            self._writer = None

    async def _send(self, claim: SignupClaim) -> None:
        raw = self.mail.build(Recipient(claim.email, claim.name, None, "", claim.smtputf8), claim.topics,
                              self.link(claim.rid), date=now_header())
        async with self._send_lock:
            try:
                if self._transport is None:
                    self._transport = self._factory()
                    await self._transport.open()
                await self._transport.send(self.settings.envelope_from, claim.email, raw, smtputf8=claim.smtputf8)
                self.sent += 1
                return
            except SendError as exc:
                log.error("signup confirmation not sent (%s): %s", exc.kind, exc)
                if exc.kind != ErrorKind.RECIPIENT and self._transport is not None:
                    await self._transport.close()
                    self._transport = None
            except OSError as exc:
                log.error("signup confirmation not sent: %s", exc)
                self._transport = None
        await self.state.call(self.state.ledger.unclaim_signup, claim.rid, claim.previous)


def _signer(settings: Settings) -> Callable[[bytes], bytes] | None:
    if settings.dkim is None:
        return None
    from ...mail.dkim import load_signer

    return load_signer(settings.dkim)


__all__ = ["PURPOSE", "Desk"]
