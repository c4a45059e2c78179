"""What the preview shows, read fresh from disk and rendered through the sending pipeline.

Nothing here renders e-mail itself: every message is built by `Composer.sample` (or
`send_test`), exactly as `newsletter render` and `newsletter send-test` build it, and is then
taken apart again with `parts()`, so the page shows the bytes a subscriber would receive.
"""

from __future__ import annotations

import re
import secrets
import threading
import traceback
from pathlib import Path

from ...content.config import Settings, find_root
from ...content.issue import read_issue
from ...content.references.check import check_issue
from ...delivery.transports import describe, transport_factory
from ...errors import NewsletterError
from ...mail.checks import check_message, failures
from ...mail.compose import Composer, parts
from .lastgood import LastGood
from .outbox import OutboxIndex
from .problems import Located, locate_error, locate_problem, unexpected
from .subscribers import SubscriberIndex
from .views import IndexEntry, IssueView, SendState, Variant

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")
SAMPLE_NAME, SAMPLE_EMAIL = "Sample Reader", "reader@example.org"
OUTBOX_PANEL = 5  # newest outbox messages listed beside an issue


class PreviewState:
    """The loaded configuration and templates (replaced when they change) and a change counter."""

    def __init__(self, root: Path | None = None, subscribers: Path | None = None,
                 extra_issue: Path | None = None) -> None:
        self.root = find_root(root)
        self.subscribers_override = subscribers
        self.extra_issue = extra_issue.resolve() if extra_issue else None
        self.version = 0  # bumped on every change the watcher sees
        self.boot = secrets.token_hex(4)  # so a restarted server never looks unchanged
        self._lock = threading.Lock()
        self._composer: Composer | None = None
        self._composer_error: NewsletterError | None = None
        self._generation = 0
        self._index: dict[tuple[str, int, int, int, int], IndexEntry] = {}
        self._subscribers: tuple[tuple[object, ...], SubscriberIndex] | None = None
        self._people_lock = threading.Lock()
        self._outboxes: dict[Path, OutboxIndex] = {}
        self._good = LastGood()

    @property
    def stamp(self) -> str:
        """Which state of the files a page shows (pages compare it with the event stream's)."""
        return f"{self.boot}.{self.version}"

    # -- what changes invalidate ------------------------------------------------------------------
    @property
    def issues_dir(self) -> Path:
        return self.root / "issues"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def subscribers_path(self) -> Path:
        if self.subscribers_override:
            return self.subscribers_override
        real = self.root / "subscribers.yaml"
        return real if real.exists() else self.root / "subscribers.example.yaml"

    def reload(self) -> None:
        """Config or templates changed: the next request loads a fresh Composer."""
        with self._lock:
            self._composer = None
            self._composer_error = None
            self._generation += 1

    # -- loading ----------------------------------------------------------------------------------
    def composer(self) -> Composer:
        """A Composer with an empty render cache (issues are re-read on every request)."""
        with self._lock:
            if self._composer is None and self._composer_error is None:
                try:
                    self._composer = Composer.load(self.root)
                except NewsletterError as exc:
                    self._composer_error = exc
            if self._composer_error is not None:
                raise self._composer_error
            assert self._composer is not None
            base = self._composer
        return Composer(base.settings, base.renderer, base.keys)

    def settings(self) -> Settings | None:
        try:
            return self.composer().settings
        except NewsletterError:
            return None

    def issue_paths(self) -> dict[str, Path]:
        """Issue name (file stem) → path, newest first."""
        found = {p.stem: p for p in self.issues_dir.glob("*.yaml") if _NAME.match(p.stem)}
        if self.extra_issue is not None:
            found[self.extra_issue.stem] = self.extra_issue
        return dict(sorted(found.items(), reverse=True))

    def subscriber_index(self, settings: Settings) -> SubscriberIndex:
        """The subscriber list, read again only when the file (or the configuration) changed."""
        path = self.subscribers_path()
        try:
            st = path.stat()
            key: tuple[object, ...] = (str(path), st.st_ino, st.st_mtime_ns, st.st_size, self._generation)
        except OSError:
            key = (str(path), self._generation)
        with self._people_lock:  # one reader of a long list at a time; the others wait for it
            cached = self._subscribers
            if cached is not None and cached[0] == key:
                return cached[1]
            index = SubscriberIndex.load(path, settings)
            self._subscribers = (key, index)
            return index

    def warm(self) -> None:
        """Read what the first pages need before they ask (a long subscriber list takes seconds;
        a big outbox's headers too), so the author's first look does not wait for it."""
        settings = self.settings()
        if settings is not None:
            self.subscriber_index(settings)
            self.outbox(settings).warm()

    def outbox(self, settings: Settings) -> OutboxIndex:
        """The outbox folder's index, kept for the life of the server."""
        index = self._outboxes.get(settings.outbox)
        if index is None:
            index = self._outboxes.setdefault(settings.outbox, OutboxIndex(settings.outbox))
        return index

    # -- the index --------------------------------------------------------------------------------
    def index(self) -> tuple[list[IndexEntry], list[Located]]:
        try:
            composer = self.composer()
        except NewsletterError as exc:
            return [IndexEntry(n, n, (), 0, 0, 0, False) for n in self.issue_paths()], locate_error(exc)
        entries = [e for name, path in self.issue_paths().items()
                   if (e := self._entry(composer, name, path)) is not None]
        live = {str(p) for p in self.issue_paths().values()}
        self._index = {k: v for k, v in self._index.items() if k[0] in live}
        return entries, []

    def combinations(self, name: str) -> str:
        """Every article subset of the issue rendered and checked, in words (slow: 2^n messages)."""
        path = self.issue_paths().get(name)
        if path is None:
            raise KeyError(name)
        try:
            entry = self._entry(self.composer(), name, path)
        except NewsletterError:
            return ""
        if entry is None or not entry.titles:
            return ""
        if not entry.failed_checks:
            return f"Every combination of articles ({entry.combinations}) passes these checks."
        return (f"{entry.failed_checks} failed check(s) across the {entry.combinations} combinations "
                f"of articles, e.g. {entry.first_failure}")

    def _entry(self, composer: Composer, name: str, path: Path) -> IndexEntry | None:
        """Cached while the file, the configuration and the templates stay as they are."""
        try:
            st = path.stat()
        except OSError:
            return None
        key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size, self._generation)
        entry = self._index.get(key)
        if entry is None:
            entry = _index_entry(composer, name, path)
            self._index = {k: e for k, e in self._index.items() if k[0] != key[0]} | {key: entry}
        return entry

    # -- one issue --------------------------------------------------------------------------------
    def issue_view(self, name: str, variant: Variant) -> IssueView:
        view = IssueView(name, self.stamp, variant)
        path = self.issue_paths().get(name)
        if path is None:
            raise KeyError(name)
        try:
            composer = self.composer()
        except NewsletterError as exc:
            view.problems = locate_error(exc)
            view.send = SendState(False, "fix the configuration or templates first", "")
            self._good.update(view)
            return view
        settings = composer.settings
        view.outbox = self.outbox(settings).page(limit=OUTBOX_PANEL)
        try:
            _fill(view, composer, path, self)
        except NewsletterError as exc:
            view.problems += locate_error(exc)
        except Exception as exc:  # noqa: BLE001 - outlive bugs too; the terminal has the traceback
            traceback.print_exc()
            view.problems.append(unexpected(exc))
        view.send = _send_state(view, settings)
        self._good.update(view)
        return view


def _index_entry(composer: Composer, name: str, path: Path) -> IndexEntry:
    try:
        issue, reader = read_issue(path, composer.settings)
        errors, warnings = len(reader.errors), len(reader.warnings)
        if issue is None:
            return IndexEntry(name, name, (), errors or 1, 0, warnings)
        results = composer.check_all_variants(issue)
        bad = [(sel, c) for sel, checks in results.items() for c in failures(checks)]
        first = f"articles {[i + 1 for i in bad[0][0]]}: {bad[0][1]}" if bad else ""
        return IndexEntry(name, issue.month_label, tuple(a.title for a in issue.articles), errors,
                          len(bad), warnings, True, len(results), first)
    except NewsletterError as exc:
        return IndexEntry(name, name, (), len(locate_error(exc)), 0, 0)
    except Exception:  # noqa: BLE001 - a bug must not take the index down; the terminal has it
        traceback.print_exc()
        return IndexEntry(name, name, (), 1, 0, 0)


def _fill(view: IssueView, composer: Composer, path: Path, state: PreviewState) -> None:
    settings = composer.settings
    issue, reader = read_issue(path, settings)
    view.warnings = [locate_problem(p) for p in reader.warnings]
    view.problems = [locate_problem(p) for p in reader.errors]
    people = state.subscriber_index(settings)
    view.subscriber_count, view.subscriber_problems = len(people.subscribers), people.problems
    if issue is None:
        return
    view.warnings += [locate_problem(p) for p in check_issue(issue, composer.renderer.references)]
    view.issue = issue
    labels = settings.taxonomy.labels
    view.topic_choices = [(t, labels[t]) for t in settings.taxonomy.order(
        {t for a in issue.articles for t in a.topics})]
    name, email, topics = SAMPLE_NAME, SAMPLE_EMAIL, None
    v = view.variant
    if v.kind == "topics":
        topics = frozenset(t for t in v.topics if t in labels)
        view.reader = ("a reader of " + ", ".join(labels[t] for t in settings.taxonomy.order(topics))
                       if topics else "a reader of no topic")
    elif v.kind == "subscriber":
        sub = view.chosen = people.find(v.subscriber)
        if sub is None:
            view.notice = f"{v.subscriber or 'no subscriber chosen'}: not in {state.subscribers_path().name}"
            return
        name, email, topics = sub.name, sub.email, sub.topics
        view.reader = f"{sub.name} <{sub.email}>" if sub.name else sub.email
    else:
        view.reader = "everything (a reader of every topic)"
    if topics is not None and not composer.selection_for(issue, topics):
        view.notice = (f"{view.reader} receives nothing this month: no article matches "
                       f"(no_match is '{settings.no_match}')")
        return
    view.raw, rendered = composer.sample(issue, topics, name=name, email=email)
    view.selection = rendered.selection
    view.html, view.text = parts(view.raw)
    view.checks = check_message(view.raw, view.html, view.text)


def _send_state(view: IssueView, settings: Settings) -> SendState:
    to = (settings.reply_to or settings.sender).addr
    try:
        transport_factory(settings)
    except NewsletterError as exc:
        return SendState(False, f"no transport: {exc}", to)
    if view.problems:
        return SendState(False, "fix the problems above first", to)
    if not view.raw:
        return SendState(False, "this variant has no message to send", to)
    where = describe(settings)
    note = " (see the outbox below)" if settings.smtp is None else ""
    return SendState(True, f"goes to {where}{note}", to)
