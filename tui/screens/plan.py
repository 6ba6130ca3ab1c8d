"""``reginspect plan --tui``: the matrix of directions on top; below, the highlighted
direction's registers (the main screen's register table) or the fix for the whole set."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Static

from reginspect.plan import Cell, Plan, pair_registers
from reginspect.textsafe import printable
from tui.widgets.pair_summary import PairSummary
from tui.widgets.plan_matrix import PlanMatrix
from tui.widgets.register_detail import RegisterDetail
from tui.widgets.register_table import RegisterTable
from tui.widgets.suggestions_pane import SuggestionsPane


class PlanScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "view('pair')", "Registers"),
        Binding("f", "view('fix')", "Fix for the set"),
        Binding("m", "focus_matrix", "Matrix"),
        Binding("o", "sort", "Sort", show=False),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    PlanScreen #plan-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    PlanScreen #matrix { height: auto; max-height: 45%; }
    PlanScreen #pair-summary { height: auto; max-height: 6; padding: 0 1;
        border-top: hkey $foreground 20%; }
    PlanScreen #below { height: 1fr; }
    PlanScreen #pair { height: 1fr; }
    PlanScreen #table { height: 1fr; min-height: 3; }
    PlanScreen #detail { height: 40%; min-height: 4; padding: 0 1;
        border-top: hkey $foreground 20%; }
    PlanScreen #fix { height: 1fr; }
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan
        self.cell: Cell | None = None

    def compose(self) -> ComposeResult:
        plan = self.plan
        failing = sum(1 for cell in plan.cells if cell.verdict.fails)
        title = (
            f"reginspect plan: {len(plan.inputs)} host configurations, {len(plan.cells)} "
            f"directions, {len(plan.cells) - failing} migrate, {failing} fail; after the fix "
            f"{len(plan.still_failing)} fail"
        )
        yield Static(printable(title), id="plan-title", markup=False)
        yield PlanMatrix(plan, id="matrix")
        yield PairSummary(id="pair-summary")
        with ContentSwitcher(id="below", initial="pair"):
            with Vertical(id="pair"):
                yield RegisterTable(id="table")
                yield RegisterDetail(id="detail")
            yield SuggestionsPane(id="fix")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#fix", SuggestionsPane).show(self.plan.fixes)
        matrix = self.query_one("#matrix", PlanMatrix)
        matrix.focus()
        self.show_pair(matrix.current)

    def show_pair(self, cell: Cell | None) -> None:
        self.cell = cell
        self.query_one("#pair-summary", PairSummary).show(self.plan, cell)
        rows = () if cell is None else pair_registers(self.plan, cell)
        self.query_one("#table", RegisterTable).show(rows)
        self._show_detail()

    def _show_detail(self) -> None:
        table = self.query_one("#table", RegisterTable)
        row = table.current
        covering = [s for s in self.plan.fixes if row is not None and s.covers(row.kvm_id)]
        self.query_one("#detail", RegisterDetail).show(
            row, covering, (), empty="No register: this direction lists the same registers."
        )

    @on(PlanMatrix.PairHighlighted)
    def _pair(self, message: PlanMatrix.PairHighlighted) -> None:
        message.stop()
        if message.cell != self.cell:
            self.query_one("#below", ContentSwitcher).current = "pair"
            self.show_pair(message.cell)

    @on(PlanMatrix.CellSelected)
    def _chosen(self, message: PlanMatrix.CellSelected) -> None:
        message.stop()
        if self.cell is not None:
            self.query_one("#below", ContentSwitcher).current = "pair"
            self.query_one("#table", RegisterTable).focus()

    @on(RegisterTable.RegisterHighlighted)
    def _register(self, message: RegisterTable.RegisterHighlighted) -> None:
        message.stop()
        self._show_detail()

    def action_view(self, name: str) -> None:
        self.query_one("#below", ContentSwitcher).current = name
        if name == "fix":
            self.query_one("#fix", SuggestionsPane).query_one("#suggestion-list").focus()
        else:
            self.query_one("#table", RegisterTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Back only where there is a screen to go back to (``P`` on the main screen opened
        # this one); ``plan --tui`` has none, and shows no such key.
        return action != "back" or len(self.app.screen_stack) > 1

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_focus_matrix(self) -> None:
        self.query_one("#matrix", PlanMatrix).focus()

    def action_sort(self) -> None:
        self.query_one("#table", RegisterTable).cycle_sort()
