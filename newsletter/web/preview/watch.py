"""Noticing saved files: watchfiles on the project folders, and the change counter pages wait on.

Folders are watched non-recursively (the project may hold a virtualenv). A save is one rename
or a truncate-and-write a few milliseconds apart: 20 ms of quiet (`STEP_MS`) groups them, and
`DEBOUNCE_MS` caps how long a burst is held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from watchfiles import awatch

from .model import PreviewState

log = logging.getLogger("newsletter.preview")
DEBOUNCE_MS, STEP_MS = 50, 20


class Live:
    """The change counter: bumped by the watcher, awaited by every page's event stream."""

    def __init__(self, state: PreviewState) -> None:
        self.state = state
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._event = asyncio.Event()

    def changed(self) -> None:
        self.state.version += 1
        self._wake()

    def _wake(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seen: int, timeout: float) -> None:
        if self.state.version == seen and not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)

    def stop(self) -> None:
        """Safe from any thread: ends the event streams so the server can shut down."""
        self.stopping = True
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._wake)


# -- watching ---------------------------------------------------------------------------------------
def watch_paths(state: PreviewState) -> list[Path]:
    """Folders whose direct entries matter (non-recursive: the project may hold a virtualenv)."""
    paths = [state.root, state.issues_dir, state.templates_dir]
    if state.templates_dir.is_dir():  # templates may include others from sub-folders
        paths += [p for p in state.templates_dir.rglob("*") if p.is_dir()]
    settings = state.settings()
    if settings is not None:
        paths += [settings.outbox.parent, settings.outbox / "new", settings.outbox / "cur"]
    for extra in (state.extra_issue, state.subscribers_override):
        if extra is not None:
            paths.append(extra.resolve().parent)
    return sorted({p.resolve() for p in paths if p.is_dir()})


def classify(state: PreviewState, changes: set[tuple[Any, str]]) -> set[str]:
    """What kind of input each changed path is; paths the preview does not read are dropped."""
    kinds: set[str] = set()
    root, subs = state.root.resolve(), state.subscribers_path().resolve()
    settings = state.settings()
    outbox = settings.outbox.resolve() if settings else None
    for _, name in changes:
        path = Path(name).resolve()
        if path.name.startswith((".", "#")) or path.name.endswith(("~", ".swp", ".swx", ".tmp")):
            continue
        if state.templates_dir.resolve() in path.parents:
            kinds.add("templates")
        elif path == root / "newsletter.yaml":
            kinds.add("config")
        elif path == subs or (path.parent == root and path.name.startswith("subscribers")):
            kinds.add("subscribers")
        elif (path.parent == state.issues_dir.resolve() and path.suffix == ".yaml") or \
                path == state.extra_issue:
            kinds.add("issue")
        elif outbox is not None and (path == outbox or path.parent.parent == outbox):
            kinds.add("outbox")
    return kinds


async def watch(state: PreviewState, live: Live, stop: asyncio.Event) -> None:
    while not stop.is_set():
        paths = await asyncio.to_thread(watch_paths, state)
        try:
            async for changes in awatch(*paths, stop_event=stop, debounce=DEBOUNCE_MS, step=STEP_MS,
                                        recursive=False, watch_filter=None):
                kinds = await asyncio.to_thread(classify, state, changes)
                if kinds & {"config", "templates"}:
                    state.reload()
                if kinds:
                    log.debug("changed: %s", ", ".join(sorted(kinds)))
                    live.changed()
                if await asyncio.to_thread(watch_paths, state) != paths:
                    live.changed()  # a folder appeared (e.g. the outbox): watch it from now on
                    break
        except Exception:  # the watcher must outlive anything; say why and start again
            log.exception("file watcher failed; restarting it")
            await asyncio.sleep(0.5)
