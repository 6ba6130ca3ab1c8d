"""The progress of the first read of big files; hidden once everything was read once."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from reginspect.textsafe import printable
from tui.store import SourceStatus
from tui.view import View


class ReadProgress(Horizontal):
    def compose(self) -> ComposeResult:
        yield Label(Text("reading"), id="read-label", markup=False)
        yield ProgressBar(total=100, show_eta=False, id="read-bar")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._names = ""

    def show(self, view: View) -> None:
        # Only what changed is touched: a layout pass per refresh would slow the reader down
        # (the UI thread and the reader share the GIL).
        reading = [source for source in view.sources if source.status is SourceStatus.READING]
        if self.display != bool(reading):
            self.display = bool(reading)
        if not reading:
            return
        total = sum(max(source.total, 1) for source in reading)
        done = sum(min(source.done, max(source.total, 1)) for source in reading)
        names = ", ".join(printable(source.name) for source in reading)
        if names != self._names:
            self._names = names
            self.query_one("#read-label", Label).update(Text(f"reading {names} ", no_wrap=True))
        self.query_one("#read-bar", ProgressBar).update(total=total, progress=done)
