"""The progress of the first read of big files; hidden once everything was read once."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from reginspect.textsafe import printable
from tui.viewmodel import View


class ReadProgress(Horizontal):
    def compose(self) -> ComposeResult:
        yield Label(Text("reading"), id="read-label", markup=False)
        yield ProgressBar(total=100, show_eta=False, id="read-bar")

    def show(self, view: View) -> None:
        reading = [source for source in view.sources if source.status.value == "reading"]
        self.display = bool(reading)
        if not reading:
            return
        total = sum(max(source.total, 1) for source in reading)
        done = sum(min(source.done, max(source.total, 1)) for source in reading)
        names = ", ".join(printable(source.name) for source in reading)
        self.query_one("#read-label", Label).update(Text(f"reading {names} ", no_wrap=True))
        self.query_one("#read-bar", ProgressBar).update(total=total, progress=done)
