"""content: reading and validating the author's files (located YAML, schema, config, taxonomy and
variants, issue, subscribers, addresses, header-value hygiene). Imports only `newsletter.errors`."""

from .config import Settings, find_root, load_settings
from .issue import Article, Issue, load_issue, read_issue
from .subscribers import Subscriber, load_subscribers, read_subscribers
from .taxonomy import Taxonomy

__all__ = ["Article", "Issue", "Settings", "Subscriber", "Taxonomy", "find_root", "load_issue", "load_settings",
           "load_subscribers", "read_issue", "read_subscribers"]
