"""store: the only place with SQL: the ledger (people, suppressions, preferences; campaigns and
their deliveries) in SQLite. Imports only `newsletter.errors` and `newsletter.content`."""

from .db import private_folder
from .ledger import (
    STATES,
    Busy,
    Delivery,
    FeedbackEvent,
    Ledger,
    LedgerError,
    Lift,
    Reason,
    Recorded,
    State,
    new_sid,
)

__all__ = ["STATES", "Busy", "Delivery", "FeedbackEvent", "Ledger", "LedgerError", "Lift", "Reason", "Recorded",
           "State", "new_sid", "private_folder"]
