"""Triage at a glance (issue 16): a session of many attempts opens on its latest failure, with
the session's summary, the tab that explains the failure, keys between failures, a filter of
the navigator by outcome, and an 80x24 layout where status, name and id fit."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import Tab, Tabs

from parsers.logevents import Status
from reginspect.report import differences
from reginspect.results import Outcome
from tests.app.conftest import COUNTS, FAILED, FAILED_EXTRA, data
from tests.app.pilot import ready, screen_text, settled
from tests.app.sessions import libvirt_session
from tests.conftest import CORPUS
from tui.app import ReginspectApp, create_app
from tui.widgets.attempt_navigator import AttemptFilter, AttemptNavigator, Target
from tui.widgets.raw_log import RawLogView
from tui.widgets.register_table import RegisterTable
from tui.widgets.status_tabs import StatusTabs

WIDE = (160, 45)
NARROW = (80, 24)
# The standard error of a QEMU 11.1 max -> 7.2 machine: 60 missing registers named first (QEMU
# only warns), then 2 extra ones that fail the load.
BOTH_KINDS = CORPUS / "x7.2-to-11.1-max" / "dst.stderr"


def _navigator(app: ReginspectApp) -> AttemptNavigator:
    return app.main.query_one(AttemptNavigator)


def _filter(navigator: AttemptNavigator) -> AttemptFilter:
    return navigator.filter  # a call: mypy must not keep what an earlier assert narrowed


def _status(app: ReginspectApp) -> Status:
    return app.main.query_one(StatusTabs).status


async def test_a_libvirt_session_opens_on_its_failure(in_tmp: Path) -> None:
    """30 QEMU starts, 29 ran for hours and were shut down: the first screen shows the summary
    and the failed attempt's extra registers, at both sizes, without a key pressed."""
    Path("guest1.log").write_bytes(libvirt_session())
    for size in (WIDE, NARROW):
        app = create_app(["guest1.log"])
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            outcomes = [summary.outcome for summary in app.view.summaries]
            assert outcomes.count(Outcome.SUCCEEDED) == 29
            assert outcomes[17] is Outcome.FAILED
            assert _navigator(app).target == Target(17, None)
            assert _status(app) is Status.EXTRA
            table = app.main.query_one(RegisterTable)
            assert len(table.shown) == FAILED_EXTRA
            text = screen_text(app)
            assert "30 attempts: 1 failed, 29 succeeded" in text
            assert f"#17 failed {FAILED_EXTRA} extra" in text
            assert table.shown[0].name in text
            if size == WIDE:
                assert "QEMU 11.1.3, -machine virt-7.2, -cpu cortex-a57, -accel tcg" in text
                assert "09-04 18:34" in text  # the failed start's time, from libvirt's header
            assert "not named" not in text
            for summary in app.view.summaries:
                if summary.outcome is Outcome.SUCCEEDED:
                    assert summary.outcome_detail.startswith("the guest ran")
                    assert differences(summary) == "no difference"


async def test_keys_move_between_failures_from_any_pane(in_tmp: Path) -> None:
    Path("guest1.log").write_bytes(libvirt_session(failed=(5, 17, 26)))
    app = create_app(["guest1.log"])
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        navigator = _navigator(app)
        assert navigator.target == Target(26, None)  # the latest failure
        await pilot.press("comma")
        await pilot.pause()
        assert navigator.target == Target(17, None)
        await pilot.press("comma")
        await pilot.pause()
        assert navigator.target == Target(5, None)
        assert len(app.main.query_one(RegisterTable).shown) == FAILED_EXTRA
        await pilot.press("comma")
        await pilot.pause()
        assert navigator.target == Target(5, None)
        assert any("No failed attempt before #5" in n.message for n in app._notifications)
        # From the raw log: the next failure's first error line.
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("full_stop")
        await ready(pilot)
        assert navigator.target == Target(17, None)
        raw = app.main.query_one(RawLogView)
        result = app.view.result(17)
        assert result is not None
        assert raw.cursor == result.error_spots()[0].line
        assert "handle_cpreg_only_in_incoming_stream" in screen_text(app)
        # A later failure does not take the selection the user chose.
        with Path("guest1.log").open("ab") as log:
            log.write(libvirt_session(attempts=1, failed=(0,)))
        for _ in range(500):
            await pilot.pause(0.01)
            if len(app.view.summaries) == 31 and await settled(app):
                break
        await ready(pilot)
        assert navigator.target == Target(17, None)
        assert any("Attempt #30 failed" in n.message for n in app._notifications)
        await pilot.press("full_stop", "full_stop", "full_stop")
        await pilot.pause()
        assert navigator.target == Target(30, None)


async def test_the_navigator_filters_attempts_by_outcome(in_tmp: Path) -> None:
    Path("guest1.log").write_bytes(libvirt_session(failed=(5, 17)))
    app = create_app(["guest1.log"])
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot)
        navigator = _navigator(app)
        assert len(navigator.root.children) == 30
        assert "all 30" in screen_text(app)
        await pilot.press("a")
        await pilot.pause()
        assert _filter(navigator) is AttemptFilter.FAILED
        assert [node.data for node in navigator.root.children] == [
            Target(5, None),
            Target(17, None),
        ]
        assert navigator.target == Target(17, None)
        await pilot.press("a")
        await pilot.pause()
        assert _filter(navigator) is AttemptFilter.SUCCEEDED
        assert len(navigator.root.children) == 28
        assert all(
            app.view.summaries[node.data.attempt].outcome is Outcome.SUCCEEDED
            for node in navigator.root.children
            if node.data is not None
        )
        # Nothing was chosen: the latest attempt the filter shows.
        assert navigator.target == Target(29, None)
        assert app.main.query_one(RegisterTable).shown == []
        # A jump to a failure shows every attempt again.
        await pilot.press("comma")
        await pilot.pause()
        assert _filter(navigator) is AttemptFilter.ALL
        assert navigator.target == Target(17, None)
        assert len(navigator.root.children) == 30


async def test_the_tab_that_explains_the_failure(in_tmp: Path) -> None:
    """Missing registers are named first; the extra ones that failed the load come later: the
    screen goes from Missing to Extra as they arrive, unless the user chose a tab."""
    content = BOTH_KINDS.read_bytes()
    first_extra = content.index(b"handle_cpreg_only_in_incoming_stream")
    head = content[: content.rindex(b"\n", 0, first_extra) + 1]
    for choose in (None, "keys", "click"):
        Path("dst.log").write_bytes(head)
        app = create_app(["dst.log"])
        async with app.run_test(size=WIDE) as pilot:
            await ready(pilot)
            assert _status(app) is Status.MISSING  # only missing ones so far
            tabs = app.main.query_one(StatusTabs)
            if choose == "keys":
                await pilot.press("right_square_bracket", "left_square_bracket")  # Missing again
            elif choose == "click":
                await pilot.click("#missing")
            else:
                # Tabs activates its first tab on mount, a message later: however late that
                # message comes, it is no choice of the user's.
                tabs.post_message(Tabs.TabActivated(tabs, tabs.query_one("#missing", Tab)))
            await pilot.pause()
            with Path("dst.log").open("ab") as log:
                log.write(content[len(head) :])
            for _ in range(500):
                await pilot.pause(0.01)
                if app.view.summaries[0].outcome is Outcome.FAILED and await settled(app):
                    break
            await ready(pilot)
            assert app.view.summaries[0].registers.fatal
            assert _status(app) is (Status.MISSING if choose else Status.EXTRA)


async def test_80x24_fits_status_name_and_id(in_tmp: Path) -> None:
    """At 80 columns the columns that matter least give way; no label is cut mid-word."""
    Path("guest1.log").write_bytes(libvirt_session() + data(COUNTS) + data(FAILED))
    app = create_app(["guest1.log"])
    async with app.run_test(size=NARROW) as pilot:
        await ready(pilot)
        table = app.main.query_one(RegisterTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        columns = [str(key.value) for key in table.columns]
        assert columns[:3] == ["status", "name", "id"]
        text = screen_text(app)
        for row in table.shown[:5]:
            assert f"{row.name}  " in text
            assert row.id_text in text
        navigator = _navigator(app)
        room = navigator.scrollable_content_region.width
        words = {"failed", "succeeded", "extra", "missing", "regs", "no", "difference"}
        for line in text.splitlines()[3:-1]:  # the navigator's lines, not the footer
            label = line[:room].split()
            assert all(
                word.startswith("#") or word in words or "/" in word or word.isdigit()
                for word in label
            ), line
        assert "#30 failed 304/258 " in text  # "regs" gave way: the label would not fit
        assert f"#31 failed {FAILED_EXTRA} extra" in text
        assert _navigator(app).target == Target(31, None)


async def test_two_thousand_attempts_open_on_the_last(in_tmp: Path) -> None:
    """The navigator works from summaries: a log of 2000 attempts opens on its last (failed)
    attempt's registers (in 3 s at most: benchmarks/run.py measures it)."""
    Path("many.log").write_bytes(libvirt_session(attempts=2000, failed=(1999,)))
    started = time.monotonic()
    app = create_app(["many.log"])
    async with app.run_test(size=WIDE) as pilot:
        table = app.main.query_one(RegisterTable)
        while len(table.shown) < FAILED_EXTRA and time.monotonic() - started < 30:
            await pilot.pause(0.01)
        took = time.monotonic() - started
        print(f"2000 attempts: the last one's registers on screen after {took:.2f} s")
        assert len(app.view.summaries) == 2000
        assert _navigator(app).target == Target(1999, None)
        assert len(table.shown) == FAILED_EXTRA
