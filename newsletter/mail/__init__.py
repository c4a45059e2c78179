"""mail: from an issue to finished message bytes (composer, MJML + text rendering, Markdown, lint,
message, tokens, checks, DKIM). Imports `content`, `store` and `errors`, never delivery/web/cli."""
