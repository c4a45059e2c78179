"""The ledger: durable per-recipient state, suppressions and preference changes (SQLite, WAL),
one connection behind its facades: the audience (`audience.py`), the campaigns and their
deliveries (`campaigns.py`), what came back: bounces and complaints (`feedback.py`), and what
`status` reports of it all (`reports.py`)."""

from __future__ import annotations

from .audience import Audience, Lift, Preference, Reason, SuppressionRow
from .campaigns import STATES, Delivery, State
from .db import Busy, LedgerError, new_sid
from .feedback import FeedbackEvent, Recorded
from .reports import CampaignReport, Reports, Row


class Ledger(Audience, Reports):
    """The state database: `Ledger(path)` to write, `Ledger.read_only(path)` to look."""


__all__ = ["STATES", "Busy", "CampaignReport", "Delivery", "FeedbackEvent", "Ledger", "LedgerError", "Lift",
           "Preference", "Reason", "Recorded", "Row", "State", "SuppressionRow", "new_sid"]
