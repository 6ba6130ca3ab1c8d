"""One direction of the plan in words: its verdict, counts, and the notes (QEMU 11.1's
tolerances, what an option would change)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from reginspect.plan import Cell, Plan
from reginspect.plan_render import VERDICT_TEXT, cell_summary
from reginspect.textsafe import printable

EMPTY = "Move onto a cell: its direction's registers are listed below."


class PairSummary(Static):
    COMPONENT_CLASSES = {"pair-summary--bad", "pair-summary--good", "pair-summary--dim"}
    DEFAULT_CSS = """
    PairSummary > .pair-summary--bad { color: $error; text-style: bold; }
    PairSummary > .pair-summary--good { color: $success; text-style: bold; }
    PairSummary > .pair-summary--dim { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text(EMPTY), id=id, markup=False)

    def show(self, plan: Plan, cell: Cell | None) -> None:
        style = self.get_component_rich_style
        if cell is None:
            self.update(Text(EMPTY, style("pair-summary--dim")))
            return
        verdict = cell.verdict
        text = Text()
        word = "pair-summary--bad" if verdict.fails else "pair-summary--good"
        text.append(VERDICT_TEXT[verdict], style(word))
        text.append(printable("  " + cell_summary(plan, cell, names=False)))
        for note in cell.notes:
            text.append("\n" + printable(note), style("pair-summary--dim"))
        self.update(text)
