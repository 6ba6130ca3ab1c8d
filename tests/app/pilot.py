"""Helpers for driving the app in tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from textual.app import App
from textual.pilot import Pilot

from reginspect.suggest import FixOptions
from tui.app import ReginspectApp, create_app
from tui.store import Source, SourceStatus


class SnapCompare(Protocol):
    """The ``snap_compare`` fixture of pytest-textual-snapshot, as the tests call it."""

    def __call__(
        self,
        app: object,
        press: tuple[str, ...] = (),
        terminal_size: tuple[int, int] = (80, 24),
        run_before: Callable[[Pilot[int]], Awaitable[None]] | None = None,
    ) -> bool: ...


def _idle(source: Source) -> bool:
    """Whether ``source`` has nothing more to read for now: a file read to its end, a pipe
    closed, a file that does not exist yet (a source waits for its file before its reader first
    looks: that is not idle), an error, or a file deleted and let go."""
    status = source.status
    if source.path == "-":
        return status in (SourceStatus.ENDED, SourceStatus.ERROR)
    if status is SourceStatus.WAITING:
        return _size(source.path) is None
    if status is SourceStatus.DELETED:
        return source.fd is None
    return status in (SourceStatus.LIVE, SourceStatus.ENDED, SourceStatus.ERROR)


async def settled(app: ReginspectApp, timeout: float = 10.0) -> bool:
    """Wait until every source was read to its end, the saved streams (if any) were loaded,
    and the screen shows it all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.store.lock:
            idle = all(_idle(source) for source in app.store.sources.values())
            generation = app.store.session.generation
            sizes = [
                (source.index.size, _size(source.path))
                for source in app.store.sources.values()
                if source.status is SourceStatus.LIVE and not source.compressed
            ]
        grown = any(disk is not None and disk > size for size, disk in sizes)
        loading = any(not worker.is_finished for worker in app.workers if worker.name == "streams")
        if (
            idle
            and not grown
            and not loading
            and not app._dirty.is_set()  # nothing read that a refresh has not taken
            and app._refresh_timer is None
            and app.view.generation == generation
        ):
            return True
        await asyncio.sleep(0.02)
    return False


def _size(path: str) -> int | None:
    if path == "-":
        return None
    try:
        return os.stat(path).st_size
    except OSError:
        return None


async def until(
    pilot: Pilot[int], found: Callable[[], object], what: str, timeout: float = 10.0
) -> None:
    """Let the app run until ``found()`` is true; fail naming ``what`` after ``timeout`` s (a
    generous bound: how fast it comes is the benchmarks' business, not the tests')."""
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        await pilot.pause(0.01)


async def ready(pilot: Pilot[int]) -> ReginspectApp:
    """Wait until the files were read and the screen shows them."""
    app = pilot.app
    assert isinstance(app, ReginspectApp)
    assert await settled(app), "the app did not settle"
    await pilot.pause()
    await pilot.pause()
    return app


@contextlib.asynccontextmanager
async def app_ready(
    logs: Sequence[str],
    size: tuple[int, int],
    *,
    streams: Sequence[str] = (),
    fix_options: FixOptions | None = None,
) -> AsyncIterator[tuple[ReginspectApp, Pilot[int]]]:
    """The app the CLI makes on ``logs``, running in a terminal of ``size``, once it is
    ``ready``."""
    app = create_app(logs, streams=streams, fix_options=fix_options)
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        yield app, pilot


def screen_text(app: App[Any]) -> str:
    """What the terminal shows, as plain text (no styles)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
