"""The app of ``reginspect plan --tui``: one screen, the plan's matrix (``tui.screens.plan``)."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from reginspect.plan import Plan
from tui.screens.plan import PlanScreen


class PlanApp(App[int]):
    TITLE = "reginspect plan"
    CSS_PATH = ["widgets.tcss"]
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def get_default_screen(self) -> Screen[None]:
        return PlanScreen(self.plan)

    async def action_quit(self) -> None:
        self.exit(self.plan.exit_status)


def run_plan_app(plan: Plan) -> int:
    result = PlanApp(plan).run()
    return plan.exit_status if result is None else result
