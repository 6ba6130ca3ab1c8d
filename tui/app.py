"""The reginspect Textual application and the factory shared by the CLI and the tests."""

from __future__ import annotations

import argparse

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class ReginspectApp(App[int]):
    TITLE = "reginspect"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, logs: list[str]) -> None:
        super().__init__()
        self.logs = logs

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("\n".join(self.logs), markup=False)
        yield Footer()

    def action_quit(self) -> None:
        self.exit(0)


def create_app(logs: list[str]) -> ReginspectApp:
    return ReginspectApp(logs)


def run_app(args: argparse.Namespace) -> int:
    result = create_app(list(args.logs)).run()
    return 0 if result is None else result
