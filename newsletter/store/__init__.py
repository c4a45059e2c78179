"""store: the only place with SQL: the ledger (people, suppressions, preferences; campaigns and
their deliveries) in SQLite. Imports only `newsletter.errors` and `newsletter.content`."""

from .db import private_folder
from .ledger import (
    STATES,
    Busy,
    CampaignReport,
    Delivery,
    FeedbackEvent,
    Ledger,
    LedgerError,
    Lift,
    Reason,
    Recorded,
    Row,
    State,
    new_sid,
)

__all__ = ["STATES", "Busy", "CampaignReport", "Delivery", "FeedbackEvent", "Ledger", "LedgerError", "Lift", "Reason",
           "Recorded", "Row", "State", "new_sid", "private_folder"]
