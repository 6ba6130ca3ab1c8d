"""Every interaction of the TUI, driven with Pilot through the app factory the CLI uses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.style import Style
from textual import events
from textual.pilot import Pilot
from textual.widgets.tree import TreeNode

from parsers.logevents import Status
from reginspect.advice import TRACE_OPTIONS_11
from reginspect.analyze import summarize
from reginspect.model import Naming
from reginspect.results import Form, Outcome
from tests.app.conftest import (
    COUNTS,
    FAILED,
    FAILED_EXTRA,
    FAILED_MATCHED,
    FAILED_TRACE,
    SUCCEEDED,
    data,
    two_cpu_log,
)
from tests.app.pilot import app_ready, ready, screen_text, settled, until
from tui.app import ReginspectApp, create_app
from tui.screens.help import HelpScreen
from tui.store import SourceStatus
from tui.widgets.attempt_navigator import AttemptNavigator, Target
from tui.widgets.counts_panel import CountsPanel
from tui.widgets.filter_input import FilterInput
from tui.widgets.raw_log import RawLogView
from tui.widgets.register_detail import RegisterDetail
from tui.widgets.register_table import RegisterTable
from tui.widgets.session_header import SessionHeader
from tui.widgets.status_tabs import StatusTabs
from tui.widgets.suggestions_pane import SuggestionsPane

SIZE = (100, 32)


def _screen(app: ReginspectApp) -> object:
    return app.screen  # a call: mypy must not keep what an earlier assert narrowed


def _outcomes(app: ReginspectApp) -> list[Outcome]:
    return [summary.outcome for summary in app.view.summaries]


def _status(app: ReginspectApp) -> Status:
    return app.main.query_one(StatusTabs).status


def _palette_hit(app: ReginspectApp) -> bool:
    from textual.command import CommandList, CommandPalette

    screen = app.screen
    return (
        isinstance(screen, CommandPalette) and screen.query_one(CommandList).highlighted is not None
    )


def _active_view(app: object) -> str:
    from textual.widgets import TabbedContent

    assert hasattr(app, "main")
    return str(app.main.query_one("#views", TabbedContent).active)


async def test_failed_log_names_the_extra_registers(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, _):
        table = app.main.query_one(RegisterTable)
        assert len(table.shown) == FAILED_EXTRA
        assert {row.status for row in table.shown} == {Status.EXTRA}
        assert all(row.id_text.startswith("0x") and len(row.id_text) == 18 for row in table.shown)
        tabs = app.main.query_one(StatusTabs)
        assert str(tabs.get_tab("extra").label) == f"Extra ({FAILED_EXTRA})"  # type: ignore[union-attr]
        assert str(tabs.get_tab("missing").label) == "Missing (0)"  # type: ignore[union-attr]
        assert app.view.summaries[0].outcome is Outcome.FAILED
        assert f"#0 failed {FAILED_EXTRA} extra" in screen_text(app)
        assert "1 attempt: 1 failed" in screen_text(app)
        assert "LIVE" in screen_text(app)


async def test_status_tabs_switch_with_brackets(in_data: Path) -> None:
    # The standard error and -D trace file of one QEMU: one attempt.
    async with app_ready([FAILED, FAILED_TRACE], SIZE) as (app, pilot):
        tabs = app.main.query_one(StatusTabs)
        table = app.main.query_one(RegisterTable)
        assert tabs.status is Status.EXTRA
        assert len(table.shown) == FAILED_EXTRA
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert _status(app) is Status.MATCHED
        assert table.shown == []  # 11.1 names the differences only
        assert "No matched register in this attempt." in screen_text(app)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert _status(app) is Status.MISSING
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert _status(app) is Status.MATCHED


async def test_tab_underline_slides_only_when_the_user_switches(
    in_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New counts in the tab titles (every refresh) move the underline at once; a slide (some 18
    repaints) is kept for the user's own switch."""
    import textual.constants
    from textual.widgets._tabs import Underline

    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "full")
    slides: list[str] = []
    animate = Underline.animate

    def spy(self: Underline, attribute: str, *args: object, **kwargs: object) -> None:
        if any(isinstance(node, StatusTabs) for node in self.ancestors):
            slides.append(attribute)
        animate(self, attribute, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Underline, "animate", spy)
    async with app_ready([FAILED], SIZE) as (app, pilot):
        tabs = app.main.query_one(StatusTabs)
        assert tabs.status is Status.EXTRA
        tabs.set_counts({Status.MISSING: 12345, Status.EXTRA: 88})  # Extra moves right
        await pilot.pause(0.2)  # Tabs would start a slide 20 ms after a relabel
        await pilot.wait_for_scheduled_animations()
        assert slides == []
        underline = tabs.query_one(Underline)
        extra = tabs.get_tab("extra")
        assert extra is not None
        assert underline.highlight_start == extra.virtual_region.shrink(extra.styles.gutter).x
        await pilot.press("right_square_bracket")
        for _ in range(100):  # the slide starts after a timer: wait for it, not for a time
            if slides:
                break
            await pilot.pause(0.02)
        assert slides


async def test_type_to_filter(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        table = app.main.query_one(RegisterTable)
        target = table.shown[20]
        needle = target.id_text[-5:].upper()  # typing starts with a capital or a digit
        await pilot.press(*needle)
        await pilot.pause()
        box = app.main.query_one(FilterInput)
        assert box.display
        assert box.value == needle
        assert [row.kvm_id for row in table.shown] == [target.kvm_id]
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is table
        assert len(table.shown) == 1
        await pilot.press("A")  # back into the box
        await pilot.press("escape")
        await pilot.pause()
        assert not box.display
        assert len(table.shown) == FAILED_EXTRA


async def test_lower_case_letters_stay_commands(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press("s")
        await pilot.pause()
        assert _active_view(app) == "suggestions"
        assert not app.main.query_one(FilterInput).display


async def test_search_finds_registers_across_tabs(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        table = app.main.query_one(RegisterTable)
        tabs = app.main.query_one(StatusTabs)
        await pilot.press("left_square_bracket")  # Missing: empty here
        await pilot.pause()
        result = app.view.result(0)
        assert result is not None
        wanted = result.registers()[30]
        await pilot.press("slash", *wanted.id_text[-6:], "enter")
        await pilot.pause()
        assert tabs.status is Status.EXTRA
        assert table.current is not None
        assert table.current.kvm_id == wanted.kvm_id
        # n goes on to the next match, wrapping round.
        await pilot.press("slash", *"0x4020", "enter")
        await pilot.pause()
        first = table.current
        assert first is not None
        await pilot.press("n")
        await pilot.pause()
        assert table.current is not None
        assert table.current.kvm_id != first.kvm_id
        await pilot.press("N")
        await pilot.pause()
        assert table.current is not None
        assert table.current.kvm_id == first.kvm_id


async def test_sort_by_column_and_key(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        table = app.main.query_one(RegisterTable)
        ids = [row.kvm_id for row in table.shown]
        assert ids == sorted(ids)
        table.sort_by("id")  # the same column again: reversed
        await pilot.pause()
        assert [row.kvm_id for row in table.shown] == sorted(ids, reverse=True)
        await pilot.click(RegisterTable, offset=(10, 0))  # the "name" header
        await pilot.pause()
        assert table.sort_column == "name"
        names = [row.name.lower() for row in table.shown]
        assert names == sorted(names)
        await pilot.press("o")
        await pilot.pause()
        assert table.sort_column == "id"


async def test_sort_mark_moves_when_the_order_does_not_change(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press("right_square_bracket")  # Matched: no row to reorder
        await pilot.press("o")
        await pilot.pause()
        assert app.main.query_one(RegisterTable).sort_column == "kind"
        header = next(line for line in screen_text(app).splitlines() if " status " in line)
        assert "kind ▲" in header
        assert "id ▲" not in header


async def test_detail_pane_shows_fields_lines_tolerance_and_fix(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        table = app.main.query_one(RegisterTable)
        await pilot.press("down", "down")
        await pilot.pause()
        row = table.current
        assert row is not None
        detail = app.main.query_one(RegisterDetail)
        text = detail.describe(
            row,
            app.view.covering(row),
            [(s, app.store.line_at(s.source, s.offset)) for s in row.lines],
        ).plain
        assert row.name in text
        assert "tolerated by QEMU: no" in text
        assert "covered by: tolerance on the destination (upstream)" in text
        assert f"{FAILED}:{row.first_line}" in text
        assert "handle_cpreg_only_in_incoming_stream" in text
        for name, _ in row.info.fields:
            assert name in text


async def test_attempt_summary_counts_the_lines_not_understood(in_tmp: Path) -> None:
    unknown = (
        b"qemu-system-aarch64: handle_cpreg_only_in_incoming_stream: system register "
        b"0x1002265b in the incoming stream but unknown on the destination: fail migration\n"
    )
    first, rest = data(FAILED).split(b"\n", 1)
    Path("odd.log").write_bytes(first + b"\n" + unknown + rest)
    async with app_ready(["odd.log"], SIZE) as (app, _):
        result = app.view.result(0)
        assert result is not None
        text = app.main.query_one(RegisterDetail).summary(result, "").plain
        assert "1 line(s) not understood, the first: odd.log:2" in text
        assert "0x1002265b" in text


async def test_jump_to_the_register_line_and_back(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        table = app.main.query_one(RegisterTable)
        await pilot.press("down", "down", "down")
        row = table.current
        assert row is not None
        await pilot.press("j")
        await pilot.pause()
        raw = app.main.query_one(RawLogView)
        assert _active_view(app) == "log"
        assert raw.cursor == row.first_line
        assert not raw.follow
        assert app.focused is raw
        await pilot.press("down", "b")
        await pilot.pause()
        assert _active_view(app) == "registers"
        assert table.current is not None
        assert table.current.kvm_id == row.kvm_id
        await pilot.press("enter")  # enter on a row jumps too
        await pilot.pause()
        assert _active_view(app) == "log"


async def test_raw_log_keys(in_data: Path) -> None:
    async with app_ready([COUNTS], SIZE) as (app, pilot):
        await pilot.press("l")
        await pilot.pause()
        raw = app.main.query_one(RawLogView)
        total = raw.line_count
        assert raw.follow
        assert raw.cursor == total
        await pilot.press("g")
        assert raw.cursor == 1
        assert not raw.follow
        errors = raw.error_lines
        assert errors
        await pilot.press("e")
        assert raw.cursor == errors[0]
        await pilot.press("e")
        assert raw.cursor == (errors[1] if len(errors) > 1 else errors[0])
        await pilot.press("E")
        assert raw.cursor == errors[0]
        await pilot.press("G")
        assert raw.follow
        assert raw.cursor == total
        await pilot.press("f")
        assert not raw.follow
        await pilot.press("up", "up")
        assert raw.cursor == total - 2
        await pilot.press("f")
        assert raw.cursor == total
        assert raw.highlights[errors[0]] == "error"


async def test_raw_log_search(in_data: Path) -> None:
    async with app_ready([COUNTS], SIZE) as (app, pilot):
        await pilot.press("l", "g", "slash", *"invalid value", "enter")
        raw = app.main.query_one(RawLogView)
        await until(pilot, lambda: raw.cursor != 1, "the search's answer")  # a thread worker
        lines = data(COUNTS).decode().splitlines()
        expected = next(i for i, line in enumerate(lines, 1) if "Invalid value" in line)
        assert raw.cursor == expected
        assert raw.search == "invalid value"


async def test_suggestion_is_copied_with_one_key(in_data: Path) -> None:
    from tests.conftest import SAMPLES

    log = str(SAMPLES / "xmig-kvm-forward.log")  # an x-mig build's log
    async with app_ready([log], SIZE) as (app, pilot):
        await pilot.press("s")
        await pilot.pause()
        pane = app.main.query_one(SuggestionsPane)
        assert app.focused is pane.query_one("#suggestion-list")
        expected = pane.current_text()
        assert expected is not None
        assert expected.startswith("-global arm-cpu.x-mig-safe-missing-regs=0x")
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == expected
        assert any("Copied" in n.title for n in app._notifications)
        await pilot.press("down", "c")  # the next form: libvirt XML
        await pilot.pause()
        assert app.clipboard != expected
        assert "x-mig-safe-missing-regs" in app.clipboard


async def test_a_tolerance_patch_is_copied_whole(in_data: Path) -> None:
    # Stock QEMU 11.1: upstream's tolerances, not the properties.
    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press("s", "c")
        await pilot.pause()
        lines = app.clipboard.splitlines()
        assert len(lines) == 2 * FAILED_EXTRA  # a comment naming the register, then its line
        assert all(
            line.startswith("arm_register_cpreg_mig_tolerance(cpu, ") for line in lines[1::2]
        )


async def test_counts_only_panel(in_data: Path) -> None:
    async with app_ready([COUNTS], SIZE) as (app, pilot):
        assert app.view.summaries[0].naming is Naming.COUNTS
        panel = app.main.query_one(CountsPanel)
        assert panel.display
        assert (
            not app.main.query_one(RegisterTable).display
            or not app.main.query_one("#named").display
        )
        text = screen_text(app)
        assert "stream 304 registers, destination 258" in text
        assert "46 register(s)" in text
        assert "-trace cpu_post_load -trace 'tolerate_cpreg*'" in text
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == TRACE_OPTIONS_11


async def test_help_screen(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "next / previous failed attempt, from any pane" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert _screen(app) is app.main


async def test_command_palette_commands(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"show raw log")
        # The palette gathers its hits in a worker: enter acts once one is highlighted.
        await until(pilot, lambda: _palette_hit(app), "the palette's first hit")
        await pilot.press("enter")
        await until(pilot, lambda: _active_view(app) == "log", "the raw log")


async def test_themes(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        for theme in ("textual-light", "nord", "gruvbox", "textual-dark"):
            app.theme = theme
            await pilot.pause()
            assert f"#0 failed {FAILED_EXTRA} extra" in screen_text(app)


async def test_pause_freezes_the_screen_not_the_reading(in_tmp: Path) -> None:
    Path("dst.log").write_bytes(b"")
    async with app_ready(["dst.log"], SIZE) as (app, pilot):
        await pilot.press("p")
        await pilot.pause()
        assert app.main.query_one(SessionHeader).paused
        assert "PAUSED" in screen_text(app)
        Path("dst.log").write_bytes(data(FAILED))

        def read() -> bool:
            with app.store.lock:
                return bool(app.store.session.attempts())

        await until(pilot, read, "the attempt read while paused")
        await pilot.pause()
        assert app.view.summaries == ()  # read all the same, not shown
        await pilot.press("p")
        await ready(pilot)
        assert len(app.main.query_one(RegisterTable).shown) == FAILED_EXTRA


async def test_new_events_reach_the_screen_line_by_line(in_tmp: Path) -> None:
    """Each register line appended (in two pieces) reaches the table on its own; how fast is
    measured by benchmarks/run.py (append → table)."""
    async with app_ready(["dst.log"], SIZE) as (app, pilot):  # does not exist yet
        assert "Waiting for dst.log to be created" in screen_text(app)
        table = app.main.query_one(RegisterTable)
        delays = []
        lines = data(FAILED).splitlines(keepends=True)

        def rows(count: int) -> Callable[[], bool]:
            return lambda: len(table.shown) >= count

        with Path("dst.log").open("ab", buffering=0) as log:
            for count in range(1, 6):
                log.write(lines[count - 1][:30])  # a line in two pieces
                await pilot.pause(0.05)
                start = time.monotonic()
                log.write(lines[count - 1][30:])
                await until(pilot, rows(count), f"register line {count}")
                delays.append(time.monotonic() - start)
                assert len(table.shown) == count
                await pilot.pause(0.15)
        print("append-to-screen delays (ms):", [round(d * 1000) for d in delays])


async def test_file_replaced_under_the_app(in_tmp: Path) -> None:
    Path("dst.log").write_bytes(data(FAILED))
    async with app_ready(["dst.log"], SIZE) as (app, pilot):
        assert _outcomes(app) == [Outcome.FAILED]
        with Path("dst.log").open("r+b") as log:
            log.truncate(0)
            log.write(data(SUCCEEDED))
        await until(pilot, lambda: _outcomes(app) == [Outcome.SUCCEEDED], "the new content")
        assert len(app.main.query_one(RegisterTable).shown) == 0
        assert any("truncated" in n.message for n in app._notifications)


async def test_cursor_stays_only_on_a_register_the_user_chose(in_tmp: Path) -> None:
    """When the file is replaced, the cursor follows a register into the new content only if the
    user put it there; a cursor the app placed goes to the first row."""
    lines = data(FAILED).splitlines(keepends=True)
    without_lowest = b"".join(lines[1:])  # the rows are sorted by id: the first one is gone
    Path("dst.log").write_bytes(without_lowest)
    async with app_ready(["dst.log"], SIZE) as (app, pilot):
        table = app.main.query_one(RegisterTable)

        def read(registers: int) -> bool:
            with app.store.lock:
                attempts = app.store.session.attempts()
                return (
                    sum(
                        sum(c.count(s) for s in Status) for a in attempts for c in summarize(a).cpus
                    )
                    == registers
                )

        async def replace(content: bytes, registers: int) -> None:
            with Path("dst.log").open("r+b") as log:  # copytruncate: the same file
                log.truncate(0)
                log.write(content)
            for _ in range(500):
                await pilot.pause(0.01)
                if read(registers):
                    break
            assert read(registers)

        placed = table.current  # the app put the cursor on the first row
        assert placed is not None
        assert table.cursor_row == 0
        # Paused, the screen goes from the old content to the new one in one refresh.
        await pilot.press("p")
        await replace(data(FAILED), FAILED_EXTRA)
        await pilot.press("p")
        await ready(pilot)
        assert len(table.shown) == FAILED_EXTRA
        assert table.cursor_row == 0
        assert table.current is not None
        assert table.current.kvm_id != placed.kvm_id

        await pilot.press("down", "down", "down")
        await pilot.pause()
        chosen = table.current
        assert chosen is not None
        await replace(without_lowest, 87)  # shown as it is read again: the choice outlives that
        await ready(pilot)
        assert len(table.shown) == 87
        assert table.current is not None
        assert table.current.kvm_id == chosen.kvm_id
        assert table.cursor_row == 2


async def test_register_table_grows_in_place(in_tmp: Path) -> None:
    """Registers added between the shown ones (a second vCPU's walk being written): the table
    lists every row in order and the cursor stays on the register the user chose."""
    lines = data(FAILED).splitlines(keepends=True)
    walk = [line for line in lines if b"handle_cpreg" in line]
    rest = [line for line in lines if b"handle_cpreg" not in line]
    Path("dst.log").write_bytes(b"".join(walk[::2]))
    async with app_ready(["dst.log"], SIZE) as (app, pilot):
        table = app.main.query_one(RegisterTable)
        assert len(table.shown) == 44
        await pilot.press(*["down"] * 5)
        await pilot.pause()
        chosen = table.current
        assert chosen is not None
        with Path("dst.log").open("ab") as log:
            log.write(b"".join(walk[1::2] + rest))  # ids going back: the next vCPU's walk
        for _ in range(500):
            await pilot.pause(0.01)
            if len(table.shown) == FAILED_EXTRA and await settled(app):
                break
        await ready(pilot)
        assert len(table.shown) == FAILED_EXTRA
        assert [table.get_row_at(i)[2].plain for i in range(table.row_count)] == [
            row.id_text for row in table.shown
        ]
        assert table.current is not None
        assert table.current.kvm_id == chosen.kvm_id
        assert table.shown[table.cursor_row].kvm_id == chosen.kvm_id


async def test_navigator_selects_attempts_and_cpus(in_made_logs: Path) -> None:
    async with app_ready(["two-cpus.log"], SIZE) as (app, pilot):
        navigator = app.main.query_one(AttemptNavigator)
        table = app.main.query_one(RegisterTable)
        assert navigator.target == Target(0, None)
        assert len(table.shown) == FAILED_EXTRA
        navigator.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        assert navigator.target == Target(0, 1)
        assert len(table.shown) == 40
        assert str(app.main.query_one(StatusTabs).get_tab("extra").label) == "Extra (40)"  # type: ignore[union-attr]
    async with app_ready(["two-attempts.log"], SIZE) as (app, pilot):
        navigator = app.main.query_one(AttemptNavigator)
        assert [a.outcome for a in app.view.summaries] == [Outcome.FAILED, Outcome.SUCCEEDED]
        assert navigator.target == Target(0, None)  # the latest failure, not the newest attempt
        assert app.main.query_one(CountsPanel).display
        navigator.focus()
        await pilot.press("down")
        await pilot.pause()
        assert navigator.target == Target(1, None)
        assert not app.main.query_one(CountsPanel).display
        assert "attempt #1: SUCCEEDED" in screen_text(app)


def labels(navigator: AttemptNavigator) -> list[tuple[str, list[str]]]:
    """The navigator's lines as drawn: each attempt's label and its CPUs'."""
    plain = Style()

    def label(node: TreeNode[Target]) -> str:
        return navigator.render_label(node, plain, plain).plain.rstrip()

    return [
        (label(node), [label(child) for child in node.children]) for node in navigator.root.children
    ]


async def _append(pilot: Pilot[int], path: str, content: bytes, attempts: int) -> None:
    app = pilot.app
    assert isinstance(app, ReginspectApp)
    with Path(path).open("ab") as log:
        log.write(content)
    for _ in range(500):
        await pilot.pause(0.01)
        if len(app.view.summaries) == attempts and await settled(app):
            break
    await ready(pilot)
    assert len(app.view.summaries) == attempts


async def test_navigator_grows_with_the_log(in_tmp: Path) -> None:
    """Attempts appended to the log are added to the tree; the latest failure is selected, a new
    failure takes the selection until the user picks an attempt; a file read again from the
    start makes the tree again."""
    Path("dst.log").write_bytes(data(COUNTS))
    async with app_ready(["dst.log"], SIZE) as (app, pilot):
        navigator = app.main.query_one(AttemptNavigator)
        assert labels(navigator) == [("#0 failed 304/258 regs", [])]
        await _append(pilot, "dst.log", data(SUCCEEDED), 2)
        # At this width, equal counts give way to the outcome (they tell no difference).
        assert labels(navigator) == [("#0 failed 304/258 regs", []), ("#1 succeeded", [])]
        assert navigator.target == Target(0, None)  # the failure stays selected
        await _append(pilot, "dst.log", two_cpu_log(), 3)
        two_cpus = (
            f"▼ #2 failed {FAILED_EXTRA} extra",
            [f"cpu 0 {FAILED_EXTRA} extra", "cpu 1 40 extra"],
        )
        assert labels(navigator)[2] == two_cpus
        assert navigator.target == Target(2, None)  # a new failure takes the selection
        navigator.focus()
        await pilot.press("up")
        await pilot.pause()
        assert navigator.target == Target(1, None)
        await _append(pilot, "dst.log", data(FAILED), 4)
        assert navigator.target == Target(1, None)  # the user's pick stays
        assert any("Attempt #3 failed" in n.message for n in app._notifications)
        with Path("dst.log").open("r+b") as log:
            log.truncate(0)
            log.write(data(SUCCEEDED))
        for _ in range(500):
            await pilot.pause(0.01)
            if len(app.view.summaries) == 1 and await settled(app):
                break
        await ready(pilot)
        assert labels(navigator) == [("#0 succeeded", [])]
        assert navigator.target == Target(0, None)


async def test_standard_input(in_tmp: Path) -> None:
    import os

    read_end, write_end = os.pipe()
    app = create_app(["-"], stdin_fd=read_end)
    async with app.run_test(size=SIZE) as pilot:
        os.write(write_end, data(FAILED))
        os.close(write_end)
        await ready(pilot)
        assert len(app.main.query_one(RegisterTable).shown) == FAILED_EXTRA
        assert "standard input" in screen_text(app)
    os.close(read_end)


def test_standard_input_without_a_terminal() -> None:
    """``reginspect -`` where no terminal gives the keys (a pipe in CI, ssh without -t): one
    sentence and the usage status, never a traceback."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "reginspect", "-"],
        input=data(FAILED),
        capture_output=True,
        timeout=60,
        check=False,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
    )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "reads its keys from a terminal" in err
    assert "Traceback" not in err


async def test_quit_returns_zero(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_log_text_is_shown_literally(in_made_logs: Path) -> None:
    async with app_ready(["hostile.log"], (140, 44)) as (app, pilot):
        for keys in ((), ("j",)):  # the detail pane, then the raw view
            await pilot.press(*keys)
            await ready(pilot)
            shown = screen_text(app)
            assert "[bold red]boom[/]" in shown
            assert "\\x1b]52;c;aGVsbG8=\\x07" in shown
            assert "\x1b" not in shown
            assert "\x07" not in shown
        assert app.clipboard == ""


async def test_saved_streams_complete_the_failed_attempt(in_data: Path) -> None:
    from reginspect.analyze import session_report
    from reginspect.ingest import read_logs
    from reginspect.streams import compare_files
    from tests.conftest import CORPUS, require_corpus

    require_corpus()
    case = CORPUS / "11.1-max-to-cortex-a57"
    pair = [str(case / "src.mig.xz"), str(case / "dst.mig.xz")]
    async with app_ready([FAILED], SIZE, streams=pair) as (app, pilot):
        # No attempt of its own: the streams complete the log's failed one.
        assert [a.naming for a in app.view.summaries] == [Naming.STREAMS]
        assert _outcomes(app) == [Outcome.FAILED]
        result = app.view.result(0)
        assert result is not None
        assert result.count(Status.EXTRA) == FAILED_EXTRA
        assert result.count(Status.MATCHED) == FAILED_MATCHED
        assert any(r.lines for r in result.registers())  # the log's lines stay
        await pilot.press("right_square_bracket")  # Extra, then Matched
        await pilot.pause()
        assert len(app.main.query_one(RegisterTable).shown) == FAILED_MATCHED
        # The same engine as `report LOG --stream SRC --stream DST`.
        session, _ = read_logs([FAILED])
        compared, _ = compare_files(*pair)
        assert app.view.suggestions == session_report(session, compared=compared).suggestions


async def test_the_machine_type_reaches_the_suggestions(in_data: Path) -> None:
    from reginspect.suggest import FixOptions
    from tests.conftest import XMIG_CASES

    [case] = [c for c in XMIG_CASES if c.name == "set-twice"]
    log = str(case.path / "dst.stderr")
    alone = create_app([log])
    told = create_app([log], fix_options=FixOptions(dst_machine="virt-10.2"))
    for app in (alone, told):
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
    safe = [s for s in told.view.suggestions if s.property == "x-mig-safe-missing-regs"]
    # virt-10.2's compat sets it on this build: no -global, the compat form only.
    assert [s.form(Form.COMMAND_LINE) for s in safe] == [None]
    assert "virt_machine_10_2_options()" in (safe[0].form(Form.COMPAT) or "")
    assert alone.view.suggestions != told.view.suggestions


async def test_one_stream_is_not_enough(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE, streams=["src.mig"]) as (app, _):
        assert len(app.view.summaries) == 1
        assert any("--stream twice" in n.message for n in app._notifications)


async def test_raw_view_switches_between_files(in_data: Path) -> None:
    async with app_ready([FAILED, FAILED_TRACE], SIZE) as (app, pilot):
        await pilot.press("l")
        await pilot.pause()
        raw = app.main.query_one(RawLogView)
        first = raw.source
        assert first == FAILED_TRACE  # the merged attempt's primary source: the trace file
        await pilot.press("w")
        await pilot.pause()
        assert raw.source == FAILED
        assert raw.line_count == data(FAILED).count(b"\n")
        await pilot.press("w")
        await pilot.pause()
        assert raw.source == first


async def test_filter_knows_the_generic_sysreg_name(in_data: Path) -> None:
    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press(*"S3_0_C1_C2_0")
        await pilot.pause()
        assert [row.name for row in app.main.query_one(RegisterTable).shown] == ["ZCR_EL1"]


async def test_big_file_read_in_a_thread_with_progress(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reginspect import ingest
    from tui.widgets.read_progress import ReadProgress

    # Not in worker processes (tests/app/test_first_read.py): here the reader thread and the UI
    # share the GIL for the whole read.
    monkeypatch.setattr(ingest, "PARALLEL_MIN_SIZE", 1 << 40)

    noise = b"12345@1795566034.427685:ram_load_loop ram addr 0x0 flags 0x2 host 0x7f\n" * 20000
    with Path("big.log").open("wb") as out:
        for _ in range(90):  # ~130 MB of trace noise, then the failure
            out.write(noise)
        out.write(data(FAILED))
    app = create_app(["big.log"])
    async with app.run_test(size=SIZE) as pilot:
        progress = app.main.query_one(ReadProgress)
        await until(pilot, lambda: progress.display, "the progress bar of the first read")
        assert app.store.sources["big.log"].status is SourceStatus.READING
        # A key as the terminal sends it (Pilot.press would wait for the app to be idle).
        start = time.monotonic()
        app.post_message(events.Key("s", "s"))
        while _active_view(app) != "suggestions" and time.monotonic() - start < 30:
            await asyncio.sleep(0.005)
        answered = time.monotonic() - start
        # How fast is the benchmarks' business (typically 10-300 ms); here: answered, mid-read.
        print(f"key answered in {answered * 1000:.0f} ms while reading")
        assert _active_view(app) == "suggestions"
        assert app.store.sources["big.log"].status is SourceStatus.READING
        await pilot.press("r")
        assert await settled(app, timeout=60)
        await pilot.pause()
        assert not progress.display
        assert len(app.main.query_one(RegisterTable).shown) == FAILED_EXTRA


async def test_file_changes_are_told_in_one_toast_at_a_time(
    in_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log rewritten many times a second makes one toast per TOAST_INTERVAL: repeats counted,
    the last three changes named, the rest counted; what comes meanwhile waits for the next."""
    import tui.app

    monkeypatch.setattr(tui.app, "TOAST_INTERVAL", 2.0)
    async with app_ready([FAILED], SIZE) as (app, pilot):

        def toasts() -> list[str]:
            return [n.message for n in app._notifications if n.title == "File changed"]

        assert toasts() == []
        with app.store.lock:
            app.store.notices.extend(["a truncated"] * 3 + ["b replaced", "c deleted", "a moved"])
        app.refresh_view()
        await until(pilot, lambda: len(toasts()) == 1, "the first toast")
        assert toasts() == ["and 1 other changes:\nb replaced\nc deleted\na moved"]
        with app.store.lock:
            app.store.notices.extend(["d created", "d created"])
        app.refresh_view()
        await pilot.pause()
        assert len(toasts()) == 1  # the interval has not passed: the next toast waits
        await until(pilot, lambda: len(toasts()) == 2, "the second toast")
        assert toasts()[1] == "d created (2 times)"
