"""store: the only place with SQL: the ledger (people, suppressions, preferences; campaigns and
their deliveries) in SQLite. Imports only `newsletter.errors` and `newsletter.content`."""

from .ledger import (
           STATES,
           UNSUBSCRIBED,
           Busy,
           CampaignReport,
           Delivery,
           Ledger,
           LedgerError,
           Row,
           State,
           new_sid,
)

__all__ = ["STATES", "UNSUBSCRIBED", "Busy", "CampaignReport", "Delivery", "Ledger", "LedgerError", "Row", "State",
           "new_sid"]
