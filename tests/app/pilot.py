"""Helpers for driving the app in tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from textual.app import App
from textual.pilot import Pilot

from reginspect.suggest import FixOptions
from tui.app import ReginspectApp, create_app


class SnapCompare(Protocol):
    """The ``snap_compare`` fixture of pytest-textual-snapshot, as the tests call it."""

    def __call__(
        self,
        app: object,
        press: tuple[str, ...] = (),
        terminal_size: tuple[int, int] = (80, 24),
        run_before: Callable[[Pilot[int]], Awaitable[None]] | None = None,
    ) -> bool: ...


async def ready(pilot: Pilot[int]) -> ReginspectApp:
    """Wait until the files were read and the screen shows them."""
    app = pilot.app
    assert isinstance(app, ReginspectApp)
    assert await app.settled(), "the app did not settle"
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
