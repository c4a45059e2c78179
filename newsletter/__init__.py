"""newsletter: compose, preview and send a monthly research-digest e-mail."""

__version__ = "0.1.0"
