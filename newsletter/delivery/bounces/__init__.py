"""bounces: what comes back after sending. Classify DSNs (RFC 3464), complaints (RFC 5965),
auto-replies and non-standard bounces; match them to readers by signed evidence (VERP, our
Message-ID, the unsubscribe token); record each once and suppress by the rule in store/."""

from .classify import Finding, Kind, Malformed, Report, classify
from .match import Match, Matcher, Target, haystack
from .run import BounceRun, ReadOptions, read_bounces
from .settle import Outcome, Settled, settle
from .sources import MailboxError

__all__ = ["BounceRun", "Finding", "Kind", "MailboxError", "Malformed", "Match", "Matcher", "Outcome",
           "ReadOptions", "Report", "Settled", "Target", "classify", "haystack", "read_bounces", "settle"]
