"""What `newsletter status` tells: one campaign's story, or one line per campaign.

A report is a list of `Row`s (a stable key for scripts, a label for people, a number) in a
few groups, so a new count is one more row where the others are made (`_rows`), and both the
text and the JSON output show it without further changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .audience import Reason
from .campaigns import STATES, Campaigns, Delivery
from .feedback import Feedback

STATE_GROUP, SINCE_GROUP = "states", "since_send"
PROBLEM_STATES = ("failed", "unknown", "deferred")


@dataclass(frozen=True)
class Row:
    """One figure of a report: `group` (STATE_GROUP or SINCE_GROUP), `key` (stable, for JSON),
    `label` (for people) and the count."""

    group: str
    key: str
    label: str
    value: int


@dataclass(frozen=True)
class CampaignReport:
    """A campaign (one issue sent to a list): when and what, its figures, and with `detail` the
    recipients whose delivery failed, is unknown or is still deferred, with the server's reply.
    Times are Unix timestamps (seconds); `finished` is None while recipients are still due."""

    issue: str
    subject: str | None
    list_file: str | None
    date_header: str
    started: float
    finished: float | None
    rows: list[Row]
    problems: list[Delivery] = field(default_factory=list)

    def value(self, key: str, group: str = STATE_GROUP) -> int:
        """The count of one row (0 if the report has no such row)."""
        return next((r.value for r in self.rows if r.group == group and r.key == key), 0)

    def as_json(self) -> dict[str, Any]:
        """Plain data for `status --json`: every row under its group, times in ISO 8601 (UTC)."""
        from datetime import UTC, datetime

        def iso(t: float | None) -> str | None:
            return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")

        out: dict[str, Any] = {"issue": self.issue, "subject": self.subject, "list_file": self.list_file,
                               "date_header": self.date_header, "started": iso(self.started),
                               "finished": iso(self.finished)}
        for row in self.rows:
            out.setdefault(row.group, {})[row.key] = row.value
        out["recipients"] = [{"email": d.email, "state": d.state, "code": d.code, "reply": d.reply,
                              "attempts": d.attempts} for d in self.problems]
        return out


class Reports(Campaigns, Feedback):
    """Read-only reporting over the campaigns, deliveries, bounces and suppressions."""

    def campaign_report(self, issue: str, *, detail: bool = True) -> CampaignReport | None:
        """The report of one campaign, None if that issue was never sent."""
        found = self._campaign_rows("WHERE issue=?", (issue,))
        if not found:
            return None
        report = found[0]
        if not detail:
            return report
        problems = self.rows(issue, PROBLEM_STATES)
        problems.sort(key=lambda d: PROBLEM_STATES.index(d.state))
        return CampaignReport(report.issue, report.subject, report.list_file, report.date_header,
                              report.started, report.finished, report.rows, problems)

    def campaign_reports(self) -> list[CampaignReport]:
        """Every campaign, newest issue first, without the recipients' details."""
        return self._campaign_rows("ORDER BY issue DESC", ())

    def _campaign_rows(self, where: str, args: tuple[str, ...]) -> list[CampaignReport]:
        have = self.columns("campaigns")  # a database from before these columns has none of them
        extra = ", ".join(c if c in have else "NULL" for c in ("subject", "list_file"))
        q = f"SELECT issue, date_header, created, finished, {extra} FROM campaigns {where}"
        return [CampaignReport(issue, subject, list_file, date, created, finished, self._rows(issue, created))
                for issue, date, created, finished, subject, list_file in self.db.execute(q, args).fetchall()]

    def _rows(self, issue: str, started: float) -> list[Row]:
        """Every figure of a campaign: deliveries by state; then, since the send, the readers whose
        bounce or complaint about this issue came back (`newsletter bounces`, relay webhooks) and
        those who unsubscribed on the web pages."""
        counts = self.counts(issue)
        rows = [Row(STATE_GROUP, state, state, counts[state]) for state in STATES]
        fb = self.feedback_counts(issue)
        (unsubscribed,) = self.db.execute("SELECT COUNT(*) FROM suppressions WHERE reason=? AND created>=?",
                                          (Reason.UNSUBSCRIBED.value, started)).fetchone()
        rows += [Row(SINCE_GROUP, "bounced_hard", "bounced: hard (suppressed)", fb["hard"]),
                 Row(SINCE_GROUP, "bounced_soft", "bounced: soft", fb["soft"]),
                 Row(SINCE_GROUP, "complained", "complained (unsubscribed)", fb["complaint"]),
                 Row(SINCE_GROUP, "unsubscribed", "unsubscribed on the web page", unsubscribed)]
        return rows
