"""store: the only place with SQL: the ledger (campaigns, deliveries, suppressions, preferences) in
SQLite. Imports only `newsletter.errors` and `newsletter.content`."""
