"""The ``/`` search box: registers by name or id, or text in the raw log, depending on the view."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchInput(Input):
    BINDINGS = [Binding("escape", "cancel", "Cancel search", show=True)]

    @dataclass
    class Search(Message):
        text: str

    class Cancelled(Message):
        pass

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.cursor_blink = False  # tests and screenshots must not depend on the clock

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="search (enter: find, n/N: next/previous)", id=id)

    def open(self, prompt: str) -> None:
        self.placeholder = prompt
        self.display = True
        self.select_on_focus = False
        self.value = ""
        self.focus()

    def add_key(self, character: str) -> None:
        """A key that reached another widget before the focus moved here."""
        self.value = self.value + character
        self.cursor_position = len(self.value)

    def action_cancel(self) -> None:
        self.display = False
        self.post_message(self.Cancelled())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.display = False
        if self.value:
            self.post_message(self.Search(self.value))
        else:
            self.post_message(self.Cancelled())
