"""The registers of one status: status, name, id, kind, encoding, first line; sortable.

Typing a capital letter, a digit or ``_`` starts the type-to-filter box (register names are
upper case); lower-case letters and bound keys (``N``) stay commands.

New rows replace the shown ones row by row when most of them stay (an attempt being written): the
table keeps its scroll position and does not measure every row again. The cursor stays on the
register the user chose while it is shown; otherwise it is on the first row.

Status, name and id always fit the width (no sideways scrolling); kind, first line and encoding
are shown while they fit too (the detail pane has them all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual import events
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from parsers.logevents import Status
from reginspect.results import RegisterResult
from reginspect.textsafe import printable

COLUMNS = ("status", "name", "id", "kind", "encoding", "first line")
ALWAYS = ("status", "name", "id")  # what a register is; the others give way on narrow screens
GIVE_WAY = ("kind", "first line", "encoding")  # kept in this order while they fit
CELL_PADDING = 2  # a cell's padding, one column each side
MIN_NAME = 10  # the name column never gets narrower than this

SORT_KEYS: dict[str, Callable[[RegisterResult], tuple[object, ...]]] = {
    "status": lambda row: (row.status.value, row.tolerated, row.kvm_id),
    "name": lambda row: (row.name.lower(), row.kvm_id),
    "id": lambda row: (row.kvm_id,),
    "kind": lambda row: (row.info.kind, row.kvm_id),
    "encoding": lambda row: (row.info.encoding, row.kvm_id),
    "first line": lambda row: (1 << 62 if row.first_line is None else row.first_line, row.kvm_id),
}


def generic_name(row: RegisterResult) -> str:
    """``S3_0_C1_C2_0``, the form kernels and assemblers print for a system register."""
    fields = dict(row.info.fields)
    try:
        op0, op1, crn, crm, op2 = (fields[k] for k in ("op0", "op1", "CRn", "CRm", "op2"))
    except KeyError:
        return ""
    return f"S{op0}_{op1}_C{crn}_C{crm}_{op2}"


def matches(row: RegisterResult, text: str) -> bool:
    """Type-to-filter and search: name, aliases, id (any spelling), kind, case-insensitive."""
    needle = text.strip().lower()
    if not needle:
        return True
    info = row.info
    key = "" if info.qemu_key is None else f"0x{info.qemu_key:x}"
    haystack = [info.name, *info.aliases, row.id_text, row.reference, info.kind, key]
    haystack += [f"{row.kvm_id:x}", info.encoding, generic_name(row)]
    return any(needle in item.lower() for item in haystack if item)


def status_label(row: RegisterResult) -> str:
    if row.value_differs:
        return "value"
    return f"{row.status}*" if row.tolerated else str(row.status)


def starts_filter(character: str | None) -> bool:
    return (
        bool(character)
        and len(character or "") == 1
        and ((character or "").isupper() or (character or "").isdigit() or character == "_")
    )


class RegisterTable(DataTable[Text]):
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "register-table--missing",
        "register-table--extra",
        "register-table--matched",
        "register-table--tolerated",
        "register-table--unknown",
    }

    class FilterTyped(Message):
        """A key that starts the type-to-filter box."""

        def __init__(self, character: str) -> None:
            super().__init__()
            self.character = character

    class RegisterHighlighted(Message):
        def __init__(self, row: RegisterResult | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sort_column = "id"
        self.sort_reverse = False
        self._rows: tuple[RegisterResult, ...] = ()
        self._shown: list[RegisterResult] = []
        # The register the user last put the cursor on: remembered while it is not shown (a file
        # being read again, another tab), to take the cursor back when it is.
        self._chosen: int | None = None
        self._placing = False  # the cursor moves because the rows changed, not for the user
        self._layout: tuple[tuple[str, int], ...] = ()  # the columns shown, and their widths

    def on_mount(self) -> None:
        self._set_layout(tuple((column, len(column) + 2) for column in COLUMNS))

    def _set_layout(self, layout: tuple[tuple[str, int], ...]) -> None:
        # Widths are given, not measured by the table: it measures new rows later (when idle),
        # and rows added around a change of columns could be drawn at the names' widths.
        self._layout = layout
        self.clear(columns=True)
        self._shown = []
        for column, width in layout:
            self.add_column(self._header(column), key=column, width=width)

    def _fit(self, rows: Sequence[RegisterResult]) -> tuple[tuple[str, int], ...]:
        """The columns that fit the width, as wide as their widest text: status, name and id
        always (the name narrowed if it must be), then the others while they fit."""
        width = self.size.width
        if width <= 0:
            return self._layout  # not laid out yet
        if len(rows) + 1 > self.size.height:
            width -= self.styles.scrollbar_size_vertical
        needed = {column: self._header(column).cell_len for column in COLUMNS}
        for row in rows:
            for column, cell in zip(COLUMNS, self._texts(row), strict=True):
                needed[column] = max(needed[column], len(cell))
        used = sum(needed[column] + CELL_PADDING for column in ALWAYS)
        if used > width:
            needed["name"] = max(needed["name"] - (used - width), MIN_NAME)
            used = width
        shown = set(ALWAYS)
        for column in GIVE_WAY:
            if used + needed[column] + CELL_PADDING <= width:
                shown.add(column)
                used += needed[column] + CELL_PADDING
        return tuple((column, needed[column]) for column in COLUMNS if column in shown)

    def on_resize(self) -> None:
        layout = self._fit(self._shown)
        if layout != self._layout:
            shown = self._shown
            self._placing = True
            try:
                self._set_layout(layout)
                self._replace(shown)
                if self._chosen is None or not self._place(self._chosen):
                    self.move_cursor(row=0)
            finally:
                self._placing = False

    @property
    def current(self) -> RegisterResult | None:
        if not self._shown or self.cursor_row < 0 or self.cursor_row >= len(self._shown):
            return None
        return self._shown[self.cursor_row]

    @property
    def shown(self) -> list[RegisterResult]:
        return list(self._shown)

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if not self._placing:
            current = self.current
            self._chosen = None if current is None else current.kvm_id

    def show(self, rows: Sequence[RegisterResult], keep: int | None = None) -> None:
        """Show ``rows`` sorted; the cursor stays on the register the user chose (``keep``, or
        the one they moved to) if it is among them, else goes to the first row."""
        if keep is not None:
            self._chosen = keep
        self._show(tuple(rows), self._chosen)

    def _show(
        self, rows: tuple[RegisterResult, ...], hold: int | None, resort: bool = False
    ) -> None:
        ordered = sorted(rows, key=SORT_KEYS[self.sort_column], reverse=self.sort_reverse)
        previous = self.current
        self._placing = True
        try:
            if ordered == self._shown and not resort:  # a re-sort redraws the header's mark
                if hold is not None:
                    self._place(hold)
                return
            self._rows = rows
            layout = self._fit(ordered)
            if layout != self._layout:
                self._set_layout(layout)
            self._replace(ordered)
            self._update_headers()
            if (hold is None or not self._place(hold)) and ordered:
                self.move_cursor(row=0)
        finally:
            self._placing = False
        if self.current != previous:
            self.post_message(self.RegisterHighlighted(self.current))

    def _replace(self, ordered: list[RegisterResult]) -> None:
        """Make the table's rows ``ordered``: row by row while most rows stay, else afresh."""
        old = {row.id_text: row for row in self._shown}
        new = {row.id_text: row for row in ordered}
        stale = [key for key, row in old.items() if new.get(key) != row]
        self._shown = ordered
        if len(stale) * 2 > len(old):
            self.clear()
            for row in ordered:
                self.add_row(*self._cells(row), key=row.id_text)
            return
        for key in stale:
            self.remove_row(key)
        for row in ordered:
            if old.get(row.id_text) != row:
                self.add_row(*self._cells(row), key=row.id_text)
        position = {row.id_text: index for index, row in enumerate(ordered)}
        self.sort("id", key=lambda cell: position[cell.plain])

    def _place(self, kvm_id: int) -> bool:
        for index, row in enumerate(self._shown):
            if row.kvm_id == kvm_id:
                if self.cursor_row != index:
                    self.move_cursor(row=index)
                return True
        return False

    def select_register(self, kvm_id: int) -> bool:
        """Put the cursor on ``kvm_id`` for the user (a search hit, the way back from a jump)."""
        self._chosen = kvm_id
        return self._place(kvm_id)

    def sort_by(self, column: str) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._resort()

    def cycle_sort(self) -> None:
        position = COLUMNS.index(self.sort_column)
        self.sort_column = COLUMNS[(position + 1) % len(COLUMNS)]
        self.sort_reverse = False
        self._resort()

    def _resort(self) -> None:
        # The same registers in another order: the highlighted one stays highlighted.
        current = self.current
        self._show(self._rows, None if current is None else current.kvm_id, resort=True)

    def _header(self, name: str) -> Text:
        mark = (" ▼" if self.sort_reverse else " ▲") if name == self.sort_column else ""
        return Text(name + mark)

    def _update_headers(self) -> None:
        for key, column in self.columns.items():
            column.label = self._header(str(key.value))

    @staticmethod
    def _texts(row: RegisterResult) -> tuple[str, ...]:
        """Every column's text for ``row``, in COLUMNS order (printable)."""
        return (
            status_label(row),
            printable(row.name),
            row.id_text,
            printable(row.info.kind),
            printable(row.info.encoding),
            "" if row.first_line is None else str(row.first_line),
        )

    def _cells(self, row: RegisterResult) -> list[Text]:
        style_name = {
            Status.MISSING: "register-table--missing",
            Status.EXTRA: "register-table--extra",
            Status.MATCHED: "register-table--matched",
        }[row.status]
        status, name, kvm_id, kind, encoding, line = self._texts(row)
        name_cell = Text(name, no_wrap=True, overflow="ellipsis")
        if not row.info.known:
            name_cell.stylize(self.get_component_rich_style("register-table--unknown"))
        cells = {
            "status": Text(status, style=self.get_component_rich_style(style_name)),
            "name": name_cell,
            "id": Text(kvm_id),
            "kind": Text(kind),
            "encoding": Text(encoding, no_wrap=True),
            "first line": Text(line, justify="right"),
        }
        return [cells[column] for column, _ in self._layout]

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.RegisterHighlighted(self.current))

    async def on_key(self, event: events.Key) -> None:
        if event.key in self.app.active_bindings:
            return  # N (previous match) and other bound capitals stay commands
        if starts_filter(event.character) and event.character is not None:
            event.stop()
            event.prevent_default()
            self.post_message(self.FilterTyped(event.character))
