"""The log itself, read by offset a window at a time: never held in memory, whatever its size.

Lines that matter are highlighted (errors, the registers' lines, search matches); ``e``/``E``
step through the errors, ``g``/``G`` go to the top/bottom, ``f`` follows the end as it grows,
``b`` goes back to the register the view jumped from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

LineReader = Callable[[str, int, int], list[tuple[int, str]]]
Finder = Callable[[str, str, int, bool], int | None]

MAX_WIDTH = 4096  # columns: horizontal scrolling stops there (long lines are cut when read)


class RawLogView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("g", "top", "Top"),
        Binding("G", "bottom", "Bottom"),
        Binding("e", "error(1)", "Next error"),
        Binding("E", "error(-1)", "Prev error"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("n", "match(1)", "Next match", show=False),
        Binding("N", "match(-1)", "Prev match", show=False),
        Binding("b", "back", "Back"),
        Binding("w", "next_source", "Next file", show=False),
    ]
    COMPONENT_CLASSES = {
        "raw-log--gutter",
        "raw-log--error",
        "raw-log--register",
        "raw-log--cursor",
        "raw-log--match",
        "raw-log--empty",
    }

    follow: reactive[bool] = reactive(True)
    cursor: reactive[int] = reactive(1)

    class Back(Message):
        """``b``: return to where the view was jumped to from."""

    class NextSource(Message):
        """``w``: show the next file."""

    class Status(Message):
        """Cursor, follow or search state changed (for the view's title)."""

    def __init__(self, reader: LineReader, finder: Finder, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reader = reader
        self.finder = finder
        self.source: str | None = None
        self.line_count = 0
        self.epoch = -1
        self.empty_message = "Nothing read yet."
        self.highlights: dict[int, str] = {}
        self.error_lines: list[int] = []
        self.search = ""
        self._cache: dict[int, str] = {}
        self._width = 0

    # -- content ----------------------------------------------------------------------------------

    def set_source(self, source: str | None, line_count: int, epoch: int, empty: str = "") -> None:
        """Follow ``source``; called on every refresh (cheap when nothing changed)."""
        self.empty_message = empty or "Nothing read yet."
        changed = source != self.source or epoch != self.epoch
        if changed:
            self.source, self.epoch = source, epoch
            self._cache.clear()
            self._width = 0
            if source is not None and not self.follow:
                self.cursor = min(self.cursor, max(line_count, 1))
        grew = line_count != self.line_count
        if grew and self.line_count and line_count > self.line_count:
            # The last line may have been partial: read it again.
            self._cache.pop(self.line_count, None)
        self.line_count = line_count
        if (changed or grew) and self.display and self.is_on_screen:
            # Hidden, the size is set when shown (on_show): a layout pass per refresh while a
            # big file is read would slow the reader down.
            self._update_size()
            if self.follow:
                self.cursor = max(line_count, 1)
                self.scroll_end(animate=False, immediate=True)
            self.refresh()

    def set_highlights(self, highlights: dict[int, str], error_lines: Sequence[int]) -> None:
        if highlights != self.highlights:
            self.highlights = dict(highlights)
            self.refresh()
        self.error_lines = sorted(error_lines)

    def _update_size(self) -> None:
        gutter = len(str(max(self.line_count, 1))) + 1
        width = min(max(self._width + gutter + 1, self.size.width), MAX_WIDTH)
        self.virtual_size = Size(width, self.line_count)

    def _line(self, number: int) -> str | None:
        text = self._cache.get(number)
        if text is not None:
            return text
        if self.source is None or number < 1 or number > self.line_count:
            return None
        first = max(1, number - 8)
        count = max(self.size.height, 1) + 24
        for line, value in self.reader(self.source, first, count):
            self._cache[line] = value
        if len(self._cache) > 4096:  # keep a few screens around the view, no more
            low, high = number - 2048, number + 2048
            self._cache = {k: v for k, v in self._cache.items() if low <= k <= high}
        return self._cache.get(number)

    # -- rendering --------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        number = scroll_y + y + 1
        if self.line_count == 0:
            if y == 0:
                style = base + self.get_component_rich_style("raw-log--empty")
                segments = Text(self.empty_message, style=style, no_wrap=True).render(
                    self.app.console
                )
                return Strip(segments).crop_extend(0, width, base)
            return Strip.blank(width, base)
        if number > self.line_count:
            return Strip.blank(width, base)
        line = self._line(number) or ""
        gutter_width = len(str(self.line_count))
        text = Text(no_wrap=True, end="")
        text.append(f"{number:>{gutter_width}} ", self.get_component_rich_style("raw-log--gutter"))
        line_style = Style()
        kind = self.highlights.get(number)
        if kind is not None:
            line_style += self.get_component_rich_style(f"raw-log--{kind}")
        body = Text(line, style=line_style, no_wrap=True, end="")
        if self.search:
            lowered, needle = line.lower(), self.search.lower()
            start = lowered.find(needle)
            while start >= 0:
                body.stylize(
                    self.get_component_rich_style("raw-log--match"), start, start + len(needle)
                )
                start = lowered.find(needle, start + len(needle))
        text.append_text(body)
        length = cell_len(line)
        if length > self._width:
            self._width = length
            self.call_later(self._update_size)
        pad = base
        if number == self.cursor:
            cursor_style = self.get_component_rich_style("raw-log--cursor")
            text.stylize(cursor_style)
            pad = base + cursor_style
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, pad)

    # -- moving -----------------------------------------------------------------------------------

    def go_to(self, line: int, *, center: bool = True) -> None:
        """Put the cursor on ``line`` and show it; stops following."""
        if self.line_count == 0:
            return
        line = min(max(line, 1), self.line_count)
        self.follow = line == self.line_count and self.follow
        self.cursor = line
        self._show_cursor(center)

    def _show_cursor(self, center: bool = False) -> None:
        height = max(self.size.height, 1)
        top = self.scroll_offset.y
        row = self.cursor - 1
        if center:
            self.scroll_to(y=max(row - height // 2, 0), animate=False, immediate=True)
        elif row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()
        self.post_message(self.Status())

    def watch_follow(self, follow: bool) -> None:
        if follow and self.line_count:
            self.cursor = self.line_count
            self.scroll_end(animate=False, immediate=True)
        self.post_message(self.Status())

    def action_move(self, delta: int) -> None:
        if self.line_count == 0:
            return
        self.follow = False
        self.cursor = min(max(self.cursor + delta, 1), self.line_count)
        self._show_cursor()

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(self.size.height - 1, 1))

    def action_top(self) -> None:
        self.follow = False
        self.go_to(1, center=False)
        self.scroll_home(animate=False, immediate=True)

    def action_bottom(self) -> None:
        self.follow = True

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def action_error(self, direction: int) -> None:
        if not self.error_lines:
            self.app.notify("No error line in this attempt.", markup=False)
            return
        if direction > 0:
            later = [line for line in self.error_lines if line > self.cursor]
            target = later[0] if later else self.error_lines[0]
        else:
            earlier = [line for line in self.error_lines if line < self.cursor]
            target = earlier[-1] if earlier else self.error_lines[-1]
        self.follow = False
        self.go_to(target)

    def action_match(self, direction: int) -> None:
        if not self.search:
            self.app.notify("Search first with /.", markup=False)
            return
        self.find(self.search, forward=direction > 0)

    def action_back(self) -> None:
        self.post_message(self.Back())

    def action_next_source(self) -> None:
        self.post_message(self.NextSource())

    # -- search -----------------------------------------------------------------------------------

    def find(self, text: str, *, forward: bool = True) -> None:
        self.search = text
        self.refresh()
        if self.source is not None:
            self._find(self.source, text, self.cursor, forward)

    @work(thread=True, exclusive=True, group="raw-log-search")
    def _find(self, source: str, text: str, start: int, forward: bool) -> None:
        # A gigabyte log is scanned off the UI thread; the answer comes back to it.
        line = self.finder(source, text, start, forward)
        self.app.call_from_thread(self._found, text, line)

    def _found(self, text: str, line: int | None) -> None:
        if line is None:
            self.app.notify(f"Not found: {text}", markup=False, severity="warning")
            return
        self.follow = False
        self.go_to(line)

    def on_resize(self) -> None:
        self._update_size()
        self._settle_follow()

    def on_show(self) -> None:
        self._update_size()
        self._settle_follow()

    def _settle_follow(self) -> None:
        # Scrolling while hidden (size 0) does nothing: redo it once the view has a size.
        if self.follow and self.line_count:
            self.cursor = self.line_count
            self.scroll_end(animate=False, immediate=True)
        else:
            self._show_cursor(center=True)
