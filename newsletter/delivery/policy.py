"""Delivery policy: what a refusal means for the recipient (retry, bounce, fail, stop)."""

from __future__ import annotations

from enum import StrEnum

from .transports.base import SendError


class Outcome(StrEnum):
    """How the dispatcher treats a refused recipient (see `classify`)."""

    DEFERRED = "deferred"
    BOUNCE = "bounce"
    FAILED = "failed"
    POLICY = "policy"
    TOO_LARGE = "too_large"


def classify(err: SendError) -> Outcome:
    """What a refusal means for the recipient, by reply code and enhanced status code:
    deferred (retry later) | bounce (failed, address suppressed) | failed (this message only) |
    policy (5.7.x: not the address's fault; counts towards the circuit breaker) |
    too_large (every message would fail: stop the run)."""
    code, text = err.code or 0, err.text.strip()
    first = text.split(" ", 1)[0]
    enhanced = first if len(first) >= 5 and first[0] in "245" and first[1] == "." else ""
    if enhanced.startswith("5.7."):
        return Outcome.POLICY
    if enhanced == "5.3.4":
        return Outcome.TOO_LARGE
    if 400 <= code < 500 or enhanced.startswith("4.") or enhanced == "5.2.2":
        return Outcome.DEFERRED
    if enhanced.startswith("5.1.") or (code in (550, 551, 553) and not enhanced):
        return Outcome.BOUNCE
    if 500 <= code < 600:
        return Outcome.FAILED
    return Outcome.DEFERRED
