"""The ledger: durable per-recipient state, suppressions and preference changes (SQLite, WAL),
one connection behind three facades: the audience (`audience.py`), the campaigns and their
deliveries (`campaigns.py`), what came back: bounces and complaints (`feedback.py`), and the
signups of the public form (`signups.py`)."""

from __future__ import annotations

from .audience import Audience, Lift, Preference, Reason, SuppressionRow
from .campaigns import STATES, Campaigns, Delivery, State
from .db import Busy, LedgerError, new_sid
from .feedback import Feedback, FeedbackEvent, Recorded
from .signups import Confirmation, ConsentRecord, SignupClaim, SignupForm, Signups, WebSubscriber


class Ledger(Audience, Campaigns, Feedback, Signups):
    """The state database: `Ledger(path)` to write, `Ledger.read_only(path)` to look."""


__all__ = ["STATES", "Busy", "Confirmation", "ConsentRecord", "Delivery", "FeedbackEvent", "Ledger", "LedgerError", "Lift",
           "Preference", "Reason", "Recorded", "SignupClaim", "SignupForm", "State", "SuppressionRow", "WebSubscriber",
           "new_sid"]
