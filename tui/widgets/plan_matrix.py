"""The plan's matrix as a grid: sources down, destinations across, each cell a direction's
counts (``✗ x3 m35 v2``); moving the cursor onto a cell tells the screen which direction."""

from __future__ import annotations

from rich.text import Text
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from reginspect.plan import Cell, PairVerdict, Plan
from reginspect.plan_render import cell_label
from reginspect.textsafe import printable

COMPACT_FROM = 7  # inputs from which the cells show only the count that decides
LABEL = 40  # characters of a source's label


class PlanMatrix(DataTable[Text]):
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "plan-matrix--fails",
        "plan-matrix--warnings",
        "plan-matrix--migrates",
        "plan-matrix--self",
    }
    DEFAULT_CSS = """
    PlanMatrix > .plan-matrix--fails { color: $error; text-style: bold; }
    PlanMatrix > .plan-matrix--warnings { color: $warning; }
    PlanMatrix > .plan-matrix--migrates { color: $success; }
    PlanMatrix > .plan-matrix--self { color: $text-muted; }
    """

    class PairHighlighted(Message):
        def __init__(self, cell: Cell | None) -> None:
            super().__init__()
            self.cell = cell

    def __init__(self, plan: Plan, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", zebra_stripes=False)
        self.plan = plan

    def on_mount(self) -> None:
        plan = self.plan
        count = len(plan.inputs)
        compact = count >= COMPACT_FROM
        # Destinations by number, sources by number and label: the grid stays narrow.
        self.add_column(Text("source ↓  destination →"), key="source")
        for number in range(1, count + 1):
            self.add_column(Text(str(number)), key=str(number))
        for source, each in enumerate(plan.inputs):
            label = printable(f"{source + 1} {each.label}")
            if len(label) > LABEL:
                label = label[: LABEL - 1] + "…"
            row = [Text(label, no_wrap=True)]
            for destination in range(count):
                if source == destination:
                    row.append(Text("·", style=self._style("plan-matrix--self")))
                    continue
                cell = plan.cell(source, destination)
                row.append(Text(cell_label(cell, compact=compact), style=self._cell_style(cell)))
            self.add_row(*row, key=str(source))
        first = next(
            (c for c in plan.cells if c.verdict.fails), plan.cells[0] if plan.cells else None
        )
        if first is not None:
            self.select_pair(first.source, first.destination)

    def _style(self, name: str) -> str:
        return str(self.get_component_rich_style(name, partial=True))

    def _cell_style(self, cell: Cell) -> str:
        verdict = cell.verdict
        if verdict.fails:
            return self._style("plan-matrix--fails")
        if verdict is PairVerdict.WARNINGS:
            return self._style("plan-matrix--warnings")
        return self._style("plan-matrix--migrates")

    @property
    def current(self) -> Cell | None:
        """The direction under the cursor (None on the labels or the diagonal)."""
        row, column = self.cursor_coordinate
        destination = column - 1
        count = len(self.plan.inputs)
        if not (0 <= row < count and 0 <= destination < count) or row == destination:
            return None
        return self.plan.cell(row, destination)

    def select_pair(self, source: int, destination: int) -> None:
        self.move_cursor(row=source, column=destination + 1)  # column 0: the row's label

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        self.post_message(self.PairHighlighted(self.current))
