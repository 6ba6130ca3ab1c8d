"""The suggested property values, each form on its own line, copied with one key (``c``)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from reginspect.textsafe import printable
from tui.viewmodel import SuggestionView

FORM_TITLES = {"command_line": "command line", "libvirt": "libvirt XML", "compat": "compat"}


class SuggestionsPane(OptionList):
    BINDINGS = [
        Binding("c", "copy", "Copy"),
        Binding("enter", "copy", "Copy", show=False),
    ]
    COMPONENT_CLASSES = OptionList.COMPONENT_CLASSES | {
        "suggestions-pane--title",
        "suggestions-pane--form",
        "suggestions-pane--dim",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._items: tuple[SuggestionView, ...] | None = None
        self._error = ""
        self._texts: dict[str, str] = {}

    def show(self, suggestions: Sequence[SuggestionView], error: str = "") -> None:
        items = tuple(suggestions)
        if items == self._items and error == self._error:
            return
        self._items, self._error = items, error
        highlighted = self.highlighted
        style = self.get_component_rich_style
        self.clear_options()
        self._texts = {}
        if not items:
            message = Text("no suggestion", style("suggestions-pane--dim"))
            if error:
                message.append(printable(f"\n(the suggestion engine failed: {error})"))
            self.add_option(Option(message, disabled=True))
            return
        options: list[Option] = []
        for number, item in enumerate(items):
            title = Text()
            title.append(printable(item.property), style("suggestions-pane--title"))
            title.append(printable(f" on the {item.side} ({item.applies_to})"))
            if item.value and not item.forms:
                title.append(printable(f": {item.value}"))
            title.append("\n")
            title.append(printable(item.reason), style("suggestions-pane--dim"))
            options.append(Option(title, id=f"s{number}", disabled=True))
            for form, value in item.forms:
                key = f"s{number}-{form}"
                self._texts[key] = value
                prompt = Text("  ")
                prompt.append(f"{FORM_TITLES.get(form, form)}: ", style("suggestions-pane--form"))
                prompt.append(printable(value))
                options.append(Option(prompt, id=key))
        self.add_options(options)
        enabled = [i for i, option in enumerate(options) if not option.disabled]
        if highlighted is not None and highlighted < len(options) and highlighted in enabled:
            self.highlighted = highlighted
        elif enabled:
            self.highlighted = enabled[0]
            self.scroll_home(animate=False, immediate=True)  # show the first title too

    def current_text(self) -> str | None:
        if self.highlighted is None:
            return None
        option = self.get_option_at_index(self.highlighted)
        return None if option.id is None else self._texts.get(option.id)

    def action_copy(self) -> None:
        text = self.current_text()
        if text is None:
            self.app.notify("Nothing to copy here.", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.app.notify(f"Copied {len(text)} characters to the clipboard.", title="Copied")
