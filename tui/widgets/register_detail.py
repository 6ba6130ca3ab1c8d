"""Everything about the selected register: decoded fields, tolerance, fix, and the raw lines.

Every piece of log text goes in through ``Text.append`` after ``printable``: a line holding
``[bold red]`` or an OSC 52 sequence is shown as the characters it is, never interpreted.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from parsers.logevents import Status
from reginspect.textsafe import printable
from tui.viewmodel import RegisterRow, Spot, SuggestionView

TOLERANCE = {
    (Status.EXTRA, True): "yes: QEMU accepted this register although it is unknown here",
    (Status.EXTRA, False): "no: a register unknown on the destination fails the load",
    (Status.MISSING, True): "yes: QEMU accepted that the stream lacks it",
    (Status.MISSING, False): "yes, with a warning: the destination keeps its own value",
    (Status.MATCHED, True): "yes",
    (Status.MATCHED, False): "nothing to tolerate: both sides have it",
}


class RegisterDetail(VerticalScroll):
    COMPONENT_CLASSES = {
        "register-detail--title",
        "register-detail--label",
        "register-detail--bad",
        "register-detail--good",
        "register-detail--line",
    }

    def compose(self) -> ComposeResult:
        yield Static(Text("No register selected.", style="dim"), id="detail-body", markup=False)

    def show(
        self,
        row: RegisterRow | None,
        covering: Sequence[SuggestionView],
        raw_lines: Sequence[tuple[Spot, str | None]],
        empty: str = "No register selected.",
    ) -> None:
        body = self.query_one("#detail-body", Static)
        if row is None:
            body.update(Text(empty, style="dim"))
            return
        body.update(self.describe(row, covering, raw_lines))

    def describe(
        self,
        row: RegisterRow,
        covering: Sequence[SuggestionView],
        raw_lines: Sequence[tuple[Spot, str | None]],
    ) -> Text:
        style = self.get_component_rich_style
        label = style("register-detail--label")
        text = Text()
        text.append(f"{row.status.upper()} ", style("register-detail--title"))
        text.append(printable(row.name), style("register-detail--title"))
        text.append(f"  {row.id_text}\n")

        def field(name: str, value: str, value_style: Style | str = "") -> None:
            text.append(f"{name}: ", label)
            text.append(printable(value), value_style)
            text.append("\n")

        info = row.info
        if info.aliases:
            field("aliases", ", ".join(info.aliases))
        field("kind", info.kind or "?")
        field("known to the catalogue", "yes" if info.known else "no")
        if info.encoding:
            field("encoding", info.encoding)
        if info.qemu_key:
            field("QEMU key", info.qemu_key)
        if info.fields:
            text.append("fields:\n", label)
            width = max((len(name) for name, _ in info.fields), default=0)
            for name, value in info.fields:
                text.append(f"  {printable(name):<{width}}  ", label)
                text.append(printable(value) + "\n")
        if row.raw and row.raw != row.id_text:
            field("as the log printed it", row.raw)
        if row.cpus:
            field("CPUs", ", ".join(str(cpu) for cpu in row.cpus))
        ok = row.tolerated or row.status is not Status.EXTRA
        field(
            "tolerated by QEMU",
            TOLERANCE[(row.status, row.tolerated)],
            style("register-detail--good" if ok else "register-detail--bad"),
        )
        if row.stream_value is not None or row.destination_value is not None:
            field("stream value", _hex(row.stream_value))
            field("destination value", _hex(row.destination_value))
        field("evidence", row.evidence)
        if covering:
            text.append("covered by: ", label)
            text.append(
                "; ".join(
                    printable(f"{item.property} on the {item.side} ({item.applies_to})")
                    for item in covering
                )
                + "\n"
            )
        else:
            field("covered by", "no suggestion")
        if info.note:
            field("note", info.note)
        text.append(f"log lines ({len(row.lines)}; j: jump to the first):\n", label)
        for spot, line in raw_lines:
            text.append(f"  {printable(spot.source)}:{spot.line}  ", style("register-detail--line"))
            text.append("(no longer in the file)" if line is None else printable(line))
            text.append("\n")
        text.rstrip()
        return text


def _hex(value: int | None) -> str:
    return "?" if value is None else f"0x{value:x}"
