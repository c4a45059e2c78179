"""Delivery policy: the one place where a recipient's transaction outcome is settled, from any
reply or error (`settle`), by reply code and enhanced status code (RFC 5321 §4.2.1, RFC 3463).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from ..content.config import RetrySettings
from .transports.base import ErrorKind, Reply, SendError, Stage

REPLY_CHARS = 500  # of a server's reply kept in the ledger


class Outcome(StrEnum):
    """What a refusal means for the recipient (see `classify`)."""

    DEFERRED = "deferred"
    BOUNCE = "bounce"
    FAILED = "failed"
    POLICY = "policy"


def enhanced_code(text: str) -> str:
    """The enhanced status code (RFC 3463) a reply text starts with ('5.1.1'), or ''."""
    first = text.strip().split(" ", 1)[0]
    return first if len(first) >= 5 and first[0] in "245" and first[1] == "." else ""


def classify(err: SendError) -> Outcome:
    """What a refusal means for the recipient, by reply code and enhanced status code:
    deferred (retry later) | bounce (failed, address suppressed) | failed (this message only:
    5.3.x too large, 5.6.x content, other 5xx) | policy (5.7.x: not the address's fault; counts
    towards the circuit breaker). Unknown codes are read by their first digit (§4.3.2)."""
    code, enhanced = err.code or 0, enhanced_code(err.text)
    if enhanced.startswith("5.7."):
        return Outcome.POLICY
    if 400 <= code < 500 or enhanced.startswith("4.") or enhanced == "5.2.2":
        return Outcome.DEFERRED
    if enhanced.startswith("5.1.") or (code in (550, 551, 553) and not enhanced):
        return Outcome.BOUNCE
    if 500 <= code < 600:
        return Outcome.FAILED
    return Outcome.DEFERRED


@dataclass(frozen=True)
class Verdict:
    """A settled transaction: the recipient's new `state` with the `code` and `reply` to
    record, `attempts` to add (0 or 1), and what else follows: `retry_in` seconds (deferred),
    `requeue` (pending, tried again in this run), `suppress` (hard bounce), `fatal` (stop the
    run: relay configuration), `connection` (the connection failed: back off before the next),
    `policy` (a 5.7.x refusal), `signature` (a permanent refusal that is not about the address:
    the same one for many recipients in a row trips the circuit breaker)."""

    state: str
    code: int | None
    reply: str
    attempts: int = 1
    retry_in: float = 0.0
    requeue: bool = False
    suppress: bool = False
    fatal: bool = False
    connection: bool = False
    policy: bool = False
    signature: str = ""


def recordable(text: str) -> str:
    """`text` (a server's reply, perhaps with bytes that were not UTF-8 kept as surrogate
    escapes by aiosmtplib) as text the ledger can store: at most REPLY_CHARS characters, every
    character encodable as UTF-8 (anything else becomes U+FFFD)."""
    return text[:REPLY_CHARS].encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def settle(result: Reply | SendError, attempts: int, retry: RetrySettings) -> Verdict:
    """The outcome of one transaction for its recipient, who had `attempts` settled attempts
    before this one. Retries of every kind (4xx, 5.7.x, 421 and losses before the end of the
    message) end in `failed` at `retry.max_attempts`, with the last reply (`recordable`)."""
    if isinstance(result, Reply):
        return Verdict("sent", result.code, recordable(result.text))
    err, text = result, recordable(result.text)
    if err.kind == ErrorKind.FATAL:
        return Verdict("pending", err.code, text, attempts=0, fatal=True)
    if err.kind == ErrorKind.AMBIGUOUS:
        return Verdict("unknown", err.code, text, connection=True)
    if err.kind == ErrorKind.CONNECTION:
        if err.stage < Stage.RCPT:  # nothing about this recipient yet: not their attempt
            return Verdict("pending", err.code, text, attempts=0, requeue=True, connection=True)
        v = Verdict("pending", err.code, text, requeue=True, connection=True)
        return _give_up(v, attempts, retry) if attempts + 1 >= retry.max_attempts else v
    if err.kind == ErrorKind.INTERNAL:
        return Verdict("failed", None, text, signature=f"internal {text.split(':', 2)[1].strip()}"
                       if text.count(":") >= 2 else "internal")
    outcome = classify(err)
    if outcome in (Outcome.DEFERRED, Outcome.POLICY):
        policy = outcome == Outcome.POLICY
        if attempts + 1 >= retry.max_attempts:
            return replace(_give_up(Verdict("deferred", err.code, text), attempts, retry), policy=policy)
        wait = min(retry.max_defer_seconds, retry.defer_seconds * 2 ** attempts)
        return Verdict("deferred", err.code, text, retry_in=wait, policy=policy)
    if outcome == Outcome.BOUNCE:
        return Verdict("failed", err.code, text, suppress=True)
    return Verdict("failed", err.code, text, signature=f"{err.code} {enhanced_code(text)}".strip())


def _give_up(v: Verdict, attempts: int, retry: RetrySettings) -> Verdict:
    why = f" (gave up after {attempts + 1} attempts: retry.max_attempts is {retry.max_attempts})"
    return replace(v, state="failed", reply=v.reply[:REPLY_CHARS - len(why)] + why, requeue=False, retry_in=0.0)


__all__ = ["Outcome", "Verdict", "classify", "enhanced_code", "recordable", "settle"]
