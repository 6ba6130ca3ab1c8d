"""The type-to-filter box of the register table: narrows the rows as one types."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS = [Binding("escape", "clear", "Clear filter", show=True)]

    @dataclass
    class Done(Message):
        """Leave the box: ``cleared`` when the filter was dropped."""

        cleared: bool

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.cursor_blink = False  # tests and screenshots must not depend on the clock

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter: name, alias, id or kind", id=id)
        self.select_on_focus = False  # keys typed before the focus moved are kept, in order

    def start(self, character: str) -> None:
        """A key typed in the table: append it (fast typing reaches the table several times
        before the focus moves here)."""
        self.display = True
        self.value = self.value + character
        self.cursor_position = len(self.value)
        self.focus()

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        self.post_message(self.Done(cleared=True))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.display = False
        self.post_message(self.Done(cleared=not self.value))
