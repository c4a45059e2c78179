"""The circuit breaker: refusals that point at the campaign, not at the addresses, pause the run
before they fail the whole list."""

from __future__ import annotations

from dataclasses import replace

from .policy import Verdict


class Breaker:
    """Trips on `threshold` policy refusals (5.7.x: authentication, reputation) in one run, or
    on the same permanent refusal (e.g. `552 5.3.4` message too large) for `threshold`
    recipients in a row (other outcomes in between neither break nor extend the row; a
    delivery breaks it). The recipients of such a row are not at fault: once it trips, they
    and any later refusal of the same kind go back to `pending` (see `revoked`, `revise`)."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.policy = 0
        self.signature = ""
        self.row: list[str] = []  # recipients refused with `signature`, in a row
        self.message = ""  # why it tripped ('' while it has not)
        self.revoked: list[str] = []  # recipients of the row that tripped it

    def record(self, key: str, v: Verdict) -> bool:
        """Count one settled transaction; True when this one trips the breaker."""
        if v.state == "sent":
            self.signature, self.row = "", []
            return False
        if self.message:
            return False
        if v.policy:
            self.policy += 1
            if self.policy >= self.threshold:
                self.message = (
                    f"paused after {self.policy} policy rejections (5.7.x), the last: {v.code} {v.reply}. "
                    "This usually means an SPF/DKIM/DMARC alignment or reputation problem, not bad "
                    "addresses; nobody was suppressed. Fix it and run `newsletter send` again")
                return True
        if v.signature and v.state == "failed":
            if v.signature != self.signature:
                self.signature, self.row = v.signature, []
            self.row.append(key)
            if len(self.row) >= self.threshold:
                hint = " (the message is too large for the relay: shorten the issue)" if "5.3.4" in v.signature else ""
                self.message = (
                    f"paused: {len(self.row)} recipients in a row were refused with the same permanent reply, "
                    f"the last: {v.code} {v.reply}{hint}. That points at the message or the relay, not at the "
                    "addresses, so they were not marked failed (they are pending again); fix the cause and "
                    "run `newsletter send` again")
                self.revoked = list(self.row)
                return True
        return False

    def revise(self, v: Verdict) -> Verdict:
        """After a trip by a row of identical refusals, the same refusal arriving from a
        transaction still in flight leaves its recipient pending, too."""
        if self.revoked and v.state == "failed" and v.signature == self.signature:
            return replace(v, state="pending", attempts=0, signature="")
        return v


__all__ = ["Breaker"]
