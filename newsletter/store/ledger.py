"""The ledger: durable per-recipient state, suppressions and preference changes (SQLite, WAL),
one connection behind its facades: the audience (`audience.py`), the campaigns and their
deliveries (`campaigns.py`), what came back: bounces and complaints (`feedback.py`), the signups
of the public form (`signups.py`), and what `status` reports of it all (`reports.py`)."""

from __future__ import annotations

from .audience import Audience, Lift, Preference, Reason, SuppressionRow
from .campaigns import STATES, Delivery, Mark, State
from .db import Busy, LedgerError, new_sid
from .feedback import FeedbackEvent, Recorded
from .reports import CampaignReport, Reports, Row
from .signups import Confirmation, ConsentRecord, SignupClaim, SignupForm, Signups, WebSubscriber


class Ledger(Audience, Reports, Signups):
    """The state database: `Ledger(path)` to write, `Ledger.read_only(path)` to look."""


__all__ = ["STATES", "Busy", "CampaignReport", "Confirmation", "ConsentRecord", "Delivery", "FeedbackEvent", "Ledger",
           "LedgerError", "Lift", "Mark", "Preference", "Reason", "Recorded", "Row", "SignupClaim", "SignupForm", "State",
           "SuppressionRow", "WebSubscriber", "new_sid"]
