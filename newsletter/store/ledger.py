"""The ledger: durable per-recipient state, suppressions and preference changes (SQLite, WAL),
one connection behind three facades: the audience (`audience.py`), the campaigns and their
deliveries (`campaigns.py`), and what came back: bounces and complaints (`feedback.py`)."""

from __future__ import annotations

from .audience import Audience, Lift, Preference, Reason, SuppressionRow
from .campaigns import STATES, Campaigns, Delivery, State
from .db import Busy, LedgerError, new_sid
from .feedback import Feedback, FeedbackEvent, Recorded


class Ledger(Audience, Campaigns, Feedback):
    """The state database: `Ledger(path)` to write, `Ledger.read_only(path)` to look."""


__all__ = ["STATES", "Busy", "Delivery", "FeedbackEvent", "Ledger", "LedgerError", "Lift", "Preference", "Reason",
           "Recorded", "State", "SuppressionRow", "new_sid"]
