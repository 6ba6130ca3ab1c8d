"""Snapshots of the key screens, from the same app factory as the CLI (``create_app``).

Paths are relative (the tests run in the data directory or a temporary one), sizes fixed, and
every snapshot is taken once the files are read to their end: nothing depends on the clock.
Regenerate with ``pytest tests/app/test_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from tests.app.conftest import COUNTS, FAILED, FAILED_TRACE, SUCCEEDED
from tests.app.pilot import SnapCompare, ready
from tests.app.sessions import libvirt_session
from tui.app import create_app

WIDE = (110, 34)
NARROW = (80, 24)
SESSION = (130, 36)


def keys(*pressed: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    """Wait for the files to be read, then press ``pressed`` one by one, settling in between."""

    async def run(pilot: Pilot[int]) -> None:
        await ready(pilot)
        for key in pressed:
            await pilot.press(key)
            await pilot.pause()
        await ready(pilot)

    return run


def test_failed_11_1(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([FAILED]), terminal_size=WIDE, run_before=keys())


def test_failed_11_1_narrow(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([FAILED]), terminal_size=NARROW, run_before=keys())


def test_failed_with_its_trace_file(snap_compare: SnapCompare, in_data: Path) -> None:
    app = create_app([FAILED, FAILED_TRACE])
    assert snap_compare(app, terminal_size=WIDE, run_before=keys())


def test_counts_only_7_2(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([COUNTS]), terminal_size=WIDE, run_before=keys())


def test_counts_only_7_2_narrow(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([COUNTS]), terminal_size=NARROW, run_before=keys())


def test_succeeded(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([SUCCEEDED]), terminal_size=WIDE, run_before=keys())


def test_waiting_for_a_file(snap_compare: SnapCompare, in_tmp: Path) -> None:
    assert snap_compare(create_app(["dst.log"]), terminal_size=NARROW, run_before=keys())


def test_empty_file(snap_compare: SnapCompare, in_tmp: Path) -> None:
    Path("dst.log").write_bytes(b"")
    app = create_app(["dst.log"])
    assert snap_compare(app, terminal_size=NARROW, run_before=keys("l"))


def test_detail_pane(snap_compare: SnapCompare, in_data: Path) -> None:
    app = create_app([FAILED])
    run = keys("down", "down", "down", "down", "down", "down", "down", "down", "down", "down")
    assert snap_compare(app, terminal_size=(110, 44), run_before=run)


def test_suggestions_pane(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([FAILED]), terminal_size=WIDE, run_before=keys("s"))


def test_suggestions_pane_narrow(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([FAILED]), terminal_size=NARROW, run_before=keys("s"))


def test_raw_log_after_jump(snap_compare: SnapCompare, in_data: Path) -> None:
    app = create_app([FAILED])
    assert snap_compare(app, terminal_size=WIDE, run_before=keys("down", "down", "j"))


def test_raw_log_next_error(snap_compare: SnapCompare, in_data: Path) -> None:
    app = create_app([COUNTS])
    assert snap_compare(app, terminal_size=NARROW, run_before=keys("l", "g", "e"))


def test_help_screen(snap_compare: SnapCompare, in_data: Path) -> None:
    assert snap_compare(create_app([FAILED]), terminal_size=NARROW, run_before=keys("?"))


def test_type_to_filter(snap_compare: SnapCompare, in_data: Path) -> None:
    app = create_app([FAILED])
    assert snap_compare(app, terminal_size=WIDE, run_before=keys(*"APIA"))


def test_untrusted_text_in_the_raw_view(snap_compare: SnapCompare, in_made_logs: Path) -> None:
    app = create_app(["hostile.log"])
    assert snap_compare(app, terminal_size=WIDE, run_before=keys("j"))


def test_untrusted_text_in_the_detail_pane(snap_compare: SnapCompare, in_made_logs: Path) -> None:
    app = create_app(["hostile.log"])
    assert snap_compare(app, terminal_size=(110, 44), run_before=keys())


def test_two_attempts(snap_compare: SnapCompare, in_made_logs: Path) -> None:
    app = create_app(["two-attempts.log"])
    assert snap_compare(app, terminal_size=WIDE, run_before=keys())


def test_two_cpus(snap_compare: SnapCompare, in_made_logs: Path) -> None:
    app = create_app(["two-cpus.log"])

    async def run(pilot: Pilot[int]) -> None:
        await ready(pilot)
        pilot.app.main.query_one("#navigator").focus()  # type: ignore[attr-defined]
        await pilot.press("down", "down")
        await ready(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=run)


def test_paused_light_theme(snap_compare: SnapCompare, in_data: Path) -> None:
    app = create_app([FAILED])

    async def run(pilot: Pilot[int]) -> None:
        await ready(pilot)
        pilot.app.theme = "textual-light"
        await pilot.press("p")
        await ready(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=WIDE, run_before=run)


def test_libvirt_session(snap_compare: SnapCompare, in_tmp: Path) -> None:
    """30 QEMU starts of one libvirt domain log: the session's summary, the navigator with each
    attempt's time and outcome, the failed one selected with its extra registers."""
    Path("guest1.log").write_bytes(libvirt_session())
    app = create_app(["guest1.log"])
    assert snap_compare(app, terminal_size=SESSION, run_before=keys())


def test_libvirt_session_narrow(snap_compare: SnapCompare, in_tmp: Path) -> None:
    Path("guest1.log").write_bytes(libvirt_session())
    app = create_app(["guest1.log"])
    assert snap_compare(app, terminal_size=NARROW, run_before=keys())


def test_navigator_filter_failed(snap_compare: SnapCompare, in_tmp: Path) -> None:
    Path("guest1.log").write_bytes(libvirt_session(failed=(5, 17, 26)))
    app = create_app(["guest1.log"])
    assert snap_compare(app, terminal_size=SESSION, run_before=keys("a"))
