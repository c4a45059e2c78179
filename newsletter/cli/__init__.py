"""cli: the `newsletter` entry point, one module per command, and the progress display.
The top of the tree: it may import every other subpackage; nothing imports it."""

from .main import main

__all__ = ["main"]
