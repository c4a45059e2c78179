"""web.preview: the author's local preview app (app, model, views, pages, assets, watch, outbox,
problems). Imports `web`'s shared layer and everything below `web`; never `web.public`."""
