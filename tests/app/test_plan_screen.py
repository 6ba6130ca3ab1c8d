"""`reginspect plan --tui`: the matrix as a grid; moving onto a cell lists that direction's
registers in the main screen's register table; `f` shows the fix for the whole set."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from reginspect.plan import PairVerdict, Plan, PlanOptions, pair_registers, plan_files
from tests.app.conftest import FAILED_EXTRA
from tests.app.pilot import SnapCompare, screen_text
from tests.conftest import KVM_CASES
from tui.plan_app import PlanApp
from tui.widgets.pair_summary import PairSummary
from tui.widgets.plan_matrix import PlanMatrix
from tui.widgets.register_table import RegisterTable

SIZE = (110, 36)


def kvm_plan(*, qemu: tuple[str, ...] = ("11.1",), hostile: bool = False) -> Plan:
    forward = next(c for c in KVM_CASES if c.name == "kvm-o72-k612-to-k73-q11")
    other = next(c for c in KVM_CASES if c.name == "kvm-k612-to-k73-q11")
    first = "k612\x1b]52;c;aGk\x07[bold]" if hostile else "k612"
    return plan_files(
        [
            f"{first}={forward.path / 'src.mig.xz'}",
            f"k73={forward.path / 'dst.mig.xz'}",
            f"k612-b={other.path / 'src.mig.xz'}",
        ],
        PlanOptions(qemu=qemu),
    )


@contextlib.asynccontextmanager
async def plan_screen(plan: Plan) -> AsyncIterator[tuple[PlanApp, Pilot[int]]]:
    """The app on ``plan``, running at SIZE, once it has drawn its first screen."""
    app = PlanApp(plan)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        yield app, pilot


def shown_ids(app: PlanApp) -> list[int]:
    return sorted(row.kvm_id for row in app.screen.query_one("#table", RegisterTable).shown)


async def test_the_grid_has_a_row_per_source_and_starts_on_a_failing_direction() -> None:
    plan = kvm_plan()
    async with plan_screen(plan) as (app, _):
        matrix = app.screen.query_one("#matrix", PlanMatrix)
        assert matrix.row_count == len(plan.inputs)
        assert len(matrix.columns) == len(plan.inputs) + 1
        cell = matrix.current
        assert cell is not None
        assert cell.verdict.fails
        assert cell == next(c for c in plan.cells if c.verdict.fails)
        assert shown_ids(app) == sorted(r.kvm_id for r in pair_registers(plan, cell))


async def test_moving_onto_a_cell_lists_that_directions_registers() -> None:
    plan = kvm_plan()
    async with plan_screen(plan) as (app, pilot):
        matrix = app.screen.query_one("#matrix", PlanMatrix)
        for source, destination in ((0, 1), (1, 0), (2, 1), (0, 2)):
            matrix.select_pair(source, destination)
            await pilot.pause()
            cell = plan.cell(source, destination)
            rows = app.screen.query_one("#table", RegisterTable).shown
            assert sorted(r.kvm_id for r in rows) == sorted(
                cell.extra | cell.missing | cell.value_differs
            )
            # What 11.1 tolerates is marked so, as the main screen marks a tolerated register.
            assert {
                r.kvm_id for r in rows if r.tolerated
            } == cell.tolerated | cell.missing_tolerated
        forward = plan.cell(0, 1)
        assert forward.verdict is PairVerdict.WARNINGS  # QEMU 11.1 tolerates the three
        matrix.select_pair(0, 1)
        await pilot.pause()
        assert "migrates with warnings" in screen_text(app)
        # The diagonal is no direction.
        await pilot.press("left")
        await pilot.pause()
        assert matrix.current is None
        assert shown_ids(app) == []
        assert "Move onto a cell" in str(
            app.screen.query_one("#pair-summary", PairSummary).render()
        )


async def test_enter_takes_the_keys_to_the_directions_registers() -> None:
    async with plan_screen(kvm_plan()) as (app, pilot):
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.focused, RegisterTable)
        await pilot.press("m")
        assert isinstance(app.focused, PlanMatrix)


async def test_f_shows_the_fix_for_the_whole_set() -> None:
    plan = kvm_plan()
    async with plan_screen(plan) as (app, pilot):
        await pilot.press("f")
        await pilot.pause()
        listing = app.screen.query_one("#suggestion-list", OptionList)
        titles = [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]
        for fix in plan.fixes:
            assert any(title.startswith(f"{fix.property} on the {fix.side}") for title in titles)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.focused, RegisterTable)


async def test_quit_returns_the_plans_exit_status() -> None:
    plan = kvm_plan()
    async with plan_screen(plan) as (app, pilot):
        await pilot.press("q")
    assert app.return_value == plan.exit_status == 1


async def test_labels_are_shown_as_the_characters_they_are() -> None:
    async with plan_screen(kvm_plan(hostile=True)) as (app, _):
        text = screen_text(app)
        assert "\\x1b]52" in text
        assert "[bold]" in text


def test_plan_screen(snap_compare: SnapCompare, in_tmp: Path) -> None:
    assert snap_compare(PlanApp(kvm_plan()), terminal_size=SIZE)


def test_tui_takes_no_output_options(run_cli: Any) -> None:
    forward = next(c for c in KVM_CASES if c.name == "kvm-o72-k612-to-k73-q11")
    arguments = [str(forward.path / "src.mig.xz"), str(forward.path / "dst.mig.xz")]
    status, out, err = run_cli("plan", "--tui", "--format", "json", *arguments)
    assert status == 2
    assert out == ""
    assert "--tui shows everything itself" in err


async def test_shift_p_on_the_main_screen_plans_the_two_saved_streams(in_data: Path) -> None:
    from tests.app.conftest import FAILED
    from tests.app.pilot import app_ready
    from tests.conftest import CORPUS, require_corpus
    from tui.screens.main import MainScreen
    from tui.screens.plan import PlanScreen

    require_corpus()
    case = CORPUS / "11.1-max-to-cortex-a57"
    pair = [str(case / "src.mig.xz"), str(case / "dst.mig.xz")]
    async with app_ready([FAILED], SIZE, streams=pair) as (app, pilot):
        await pilot.press("P")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        assert [i.label for i in screen.plan.inputs] == ["source", "destination"]
        forward = next(c for c in screen.plan.cells if (c.source, c.destination) == (0, 1))
        # The same differences as the streams' comparison on the main screen.
        assert len(forward.extra) == FAILED_EXTRA
        assert forward.verdict is PairVerdict.FAILS_REGISTERS
        assert "2 host configurations, 2 directions" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_shift_p_without_streams_says_what_it_needs(in_data: Path) -> None:
    from tests.app.conftest import FAILED
    from tests.app.pilot import app_ready
    from tui.screens.main import MainScreen

    async with app_ready([FAILED], SIZE) as (app, pilot):
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("--stream SRC --stream DST" in n.message for n in app._notifications)
