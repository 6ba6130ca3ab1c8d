"""Helpers for driving the app in tests."""

from __future__ import annotations

from textual.pilot import Pilot

from tui.app import ReginspectApp


async def ready(pilot: Pilot[int]) -> ReginspectApp:
    """Wait until the files were read and the screen shows them."""
    app = pilot.app
    assert isinstance(app, ReginspectApp)
    assert await app.settled(), "the app did not settle"
    await pilot.pause()
    await pilot.pause()
    return app


def screen_text(app: ReginspectApp) -> str:
    """What the terminal shows, as plain text (no styles)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
