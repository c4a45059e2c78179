"""mail: from an issue to finished message bytes (composer, MJML + text rendering, Markdown, lint,
message, tokens, checks, DKIM). Imports `store`, `content` and `errors`, never delivery/web/cli."""

from .compose import Composer
from .message import CompiledVariant, Recipient

__all__ = ["CompiledVariant", "Composer", "Recipient"]
