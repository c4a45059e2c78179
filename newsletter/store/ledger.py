"""The ledger: durable per-recipient state, suppressions and preference changes (SQLite, WAL),
one connection behind two facades: the audience (`audience.py`) and the campaigns and their
deliveries (`campaigns.py`)."""

from __future__ import annotations

from .audience import Audience, Preference, SuppressionRow
from .campaigns import STATES, Campaigns, Delivery, State
from .db import Busy, LedgerError, new_sid


class Ledger(Audience, Campaigns):
    """The state database: `Ledger(path)` to write, `Ledger.read_only(path)` to look."""


__all__ = ["STATES", "Busy", "Delivery", "Ledger", "LedgerError", "Preference", "State", "SuppressionRow",
           "new_sid"]
