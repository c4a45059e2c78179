"""web.public: the public server (unsubscribe, preferences, archive). Imports `web`'s shared layer
and everything below `web`; never `web.preview`, so nothing of the preview can leak onto it."""
