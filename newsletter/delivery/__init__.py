"""delivery: getting bytes to people (plan, transports, reply policy, dispatch, send, test send).
Imports `mail`, `store`, `content` and `errors`, never web or cli."""

from .plan import Entry, Plan, prepare
from .sending import SendOptions, dry_run, send
from .sendtest import send_test
from .transports import Transport, describe, transport_factory

__all__ = ["Entry", "Plan", "SendOptions", "Transport", "describe", "dry_run", "prepare", "send", "send_test",
           "transport_factory"]
