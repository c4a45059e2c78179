"""The ledger: durable per-recipient state, suppressions and preference changes (SQLite, WAL),
one connection behind its facades: the audience (`audience.py`), the campaigns and their
deliveries (`campaigns.py`) and what `status` reports of them (`reports.py`)."""

from __future__ import annotations

from .audience import UNSUBSCRIBED, Audience, Preference, SuppressionRow
from .campaigns import STATES, Delivery, State
from .db import Busy, LedgerError, new_sid
from .reports import CampaignReport, Reports, Row


class Ledger(Audience, Reports):
    """The state database: `Ledger(path)` to write, `Ledger.read_only(path)` to look."""


__all__ = ["STATES", "UNSUBSCRIBED", "Busy", "CampaignReport", "Delivery", "Ledger", "LedgerError", "Preference",
           "Row", "State", "SuppressionRow", "new_sid"]
