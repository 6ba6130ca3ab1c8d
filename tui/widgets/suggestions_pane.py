"""The suggested property values: one line per form, the highlighted one in full below with the
reason; ``c`` (or enter) copies the highlighted value to the clipboard (OSC 52)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from reginspect.results import Form, Suggestion
from reginspect.textsafe import printable

PREVIEW = 76  # list width assumed before the first layout


class SuggestionsPane(Vertical):
    BINDINGS = [
        Binding("c", "copy", "Copy"),
        Binding("enter", "copy", "Copy", show=False),
    ]
    COMPONENT_CLASSES = {
        "suggestions-pane--title",
        "suggestions-pane--form",
        "suggestions-pane--dim",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._items: tuple[Suggestion, ...] | None = None
        self._error = ""
        self._values: dict[str, tuple[Suggestion, Form | None, str]] = {}

    def compose(self) -> ComposeResult:
        yield OptionList(id="suggestion-list")
        with VerticalScroll(id="suggestion-full"):
            yield Static(Text(""), id="suggestion-text", markup=False)

    def show(self, suggestions: Sequence[Suggestion], error: str = "") -> None:
        items = tuple(suggestions)
        if items == self._items and error == self._error:
            return
        self._items, self._error = items, error
        listing = self.query_one("#suggestion-list", OptionList)
        highlighted = listing.highlighted
        style = self.get_component_rich_style
        listing.clear_options()
        self._values = {}
        if not items:
            message = Text("no suggestion", style("suggestions-pane--dim"))
            if error:
                message.append(printable(f"\n(the suggestion engine failed: {error})"))
            listing.add_option(Option(message, disabled=True))
            self._show_full()
            return
        options: list[Option] = []
        # An option wraps what is wider than the list: each line is cut to fit here.
        padding = listing.get_component_styles("option-list--option").padding.width
        width = max((listing.scrollable_content_region.width or PREVIEW) - padding, 16)
        for number, item in enumerate(items):
            title = Text(no_wrap=True, overflow="ellipsis")
            title.append(printable(item.property), style("suggestions-pane--title"))
            title.append(printable(f" on the {item.side}, for {item.qemu}"))
            if item.value and not item.forms:
                title.append(printable(f": {item.value}"))
            title.truncate(width)  # its overflow puts the ellipsis
            # A title is selectable only when it is the whole suggestion (no form to copy).
            options.append(Option(title, id=f"s{number}", disabled=bool(item.forms)))
            if not item.forms:
                self._values[f"s{number}"] = (item, None, "")
            for form, value in item.forms:
                key = f"s{number}-{form}"
                self._values[key] = (item, form, value)
                prompt = Text("  ", no_wrap=True, overflow="ellipsis")
                prompt.append(f"{form.heading}: ", style("suggestions-pane--form"))
                # One line each: the full value (XML has several lines) is shown below.
                prompt.append(printable(" ".join(value.split())))
                prompt.truncate(width)
                options.append(Option(prompt, id=key))
        listing.add_options(options)
        enabled = [i for i, option in enumerate(options) if not option.disabled]
        if highlighted is not None and highlighted in enabled:
            listing.highlighted = highlighted
        elif enabled:
            listing.highlighted = enabled[0]
            listing.scroll_home(animate=False, immediate=True)
        self._show_full()

    def on_resize(self) -> None:
        # The one-line previews are cut to the width: rebuild them when it is known or changes.
        if self._items is not None:
            items, self._items = self._items, None
            self.show(items, self._error)

    def _current(self) -> tuple[Suggestion, Form | None, str] | None:
        listing = self.query_one("#suggestion-list", OptionList)
        if listing.highlighted is None:
            return None
        option = listing.get_option_at_index(listing.highlighted)
        return None if option.id is None else self._values.get(option.id)

    def current_text(self) -> str | None:
        current = self._current()
        return None if current is None or current[1] is None else current[2]

    def _show_full(self) -> None:
        style = self.get_component_rich_style
        current = self._current()
        text = Text()
        if current is not None:
            item, form, value = current
            text.append(printable(item.property), style("suggestions-pane--title"))
            text.append(printable(f" on the {item.side}, for {item.qemu}\n"))
            if form:
                text.append(f"{form.heading} (c copies):\n", style("suggestions-pane--form"))
                text.append(printable(value) + "\n")
            text.append(printable(item.reason), style("suggestions-pane--dim"))
        self.query_one("#suggestion-text", Static).update(text)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_full()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_copy()

    def action_copy(self) -> None:
        text = self.current_text()
        if text is None:
            self.app.notify("Nothing to copy here.", severity="warning", markup=False)
            return
        # The value is built by reginspect from register ids, never taken from the log.
        self.app.copy_to_clipboard(text)
        self.app.notify(f"{len(text)} characters on the clipboard.", title="Copied", markup=False)
