"""Everything about the selected register (tolerance, fix, raw lines, decoded fields), or, when
none is selected, a summary of the attempt with reginspect's advice.

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
from reginspect.model import LineRef
from reginspect.report import counts_text, hex_value, qemu_facts
from reginspect.results import AttemptResult, Outcome, RegisterResult, Suggestion
from reginspect.textsafe import printable

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
        row: RegisterResult | None,
        covering: Sequence[Suggestion],
        raw_lines: Sequence[tuple[LineRef, str | None]],
        empty: str = "No register selected.",
        attempt: AttemptResult | None = None,
    ) -> None:
        body = self.query_one("#detail-body", Static)
        if row is None:
            body.update(self.summary(attempt, empty))
        else:
            body.update(self.describe(row, covering, raw_lines))
        self.scroll_home(animate=False, immediate=True)

    def summary(self, attempt: AttemptResult | None, message: str) -> Text:
        """The attempt as a whole: what ran, how it ended, the first errors, the advice."""
        style = self.get_component_rich_style
        label = style("register-detail--label")
        text = Text(message + "\n", style="dim")
        if attempt is None:
            text.rstrip()
            return text
        summary = attempt.summary
        text.append(f"attempt #{summary.index}: ", label)
        text.append(
            summary.outcome.upper(),
            style(
                "register-detail--bad"
                if summary.outcome is Outcome.FAILED
                else "register-detail--good"
            ),
        )
        text.append(printable(f", {', '.join(summary.sources)} lines {summary.first_line}-"))
        text.append(f"{summary.last_line}\n")
        text.append(printable(summary.outcome_detail) + "\n", style="dim")
        about = qemu_facts(summary)
        if about:
            text.append(printable(about) + "\n")
        for cpu in attempt.cpus:
            if cpu.stream_count is not None or cpu.destination_count is not None:
                text.append(f"cpu {cpu.instance}: ", label)
                text.append(counts_text(cpu) + "\n")
        for error in attempt.errors[:3]:
            text.append(f"{printable(error.source)}:{error.line}  ", style("register-detail--line"))
            text.append(printable(error.text) + "\n")
        if attempt.problems:
            first = attempt.problems[0]
            text.append(f"{len(attempt.problems)} line(s) not understood, the first: ", label)
            text.append(f"{printable(first.source)}:{first.line}  ", style("register-detail--line"))
            text.append(printable(first.kind) + "\n")
        for sentence in attempt.advice:
            text.append("- ", label)
            text.append(printable(sentence) + "\n")
        text.rstrip()
        return text

    def describe(
        self,
        row: RegisterResult,
        covering: Sequence[Suggestion],
        raw_lines: Sequence[tuple[LineRef, str | None]],
    ) -> Text:
        style = self.get_component_rich_style
        label = style("register-detail--label")
        info = row.info
        text = Text()
        text.append(f"{row.status.upper()} ", style("register-detail--title"))
        text.append(printable(row.name), style("register-detail--title"))
        text.append(f"  {row.id_text}")
        if info.kind:
            text.append(printable(f"  {info.kind}"), label)
        text.append("\n")

        def field(name: str, value: str, value_style: Style | str = "") -> None:
            text.append(f"{name}: ", label)
            text.append(printable(value), value_style)
            text.append("\n")

        ok = row.tolerated or row.status is not Status.EXTRA
        field(
            "tolerated by QEMU",
            TOLERANCE[(row.status, row.tolerated)],
            style("register-detail--good" if ok else "register-detail--bad"),
        )
        field(
            "covered by",
            "; ".join(f"{item.property} on the {item.side} ({item.route})" for item in covering)
            if covering
            else "no suggestion",
        )
        more = len(row.lines) - len(raw_lines)
        if row.lines:  # a register of saved lists (compare, plan) has no log line
            text.append(
                f"log line{'s' if len(row.lines) != 1 else ''} (j jumps to the first"
                + (f"; {more} more in the raw log" if more > 0 else "")
                + "):\n",
                label,
            )
        for spot, line in raw_lines:
            text.append(f"  {printable(spot.source)}:{spot.line}  ", style("register-detail--line"))
            text.append("(no longer in the file)" if line is None else printable(line))
            text.append("\n")
        if info.aliases:
            field("aliases", ", ".join(info.aliases))
        if info.encoding:
            field("encoding", info.encoding)
        if info.fields:
            text.append("fields: ", label)
            text.append(
                printable(
                    "  ".join(
                        f"{name}={value}" if name else str(value) for name, value in info.fields
                    )
                )
                + "\n"
            )
        if info.qemu_key is not None:
            field("QEMU key", f"0x{info.qemu_key:x}")
        field("known to the catalogue", "yes" if info.known else "no")
        if row.reference and row.reference != row.id_text:
            field("as the log printed it", row.reference)
        if row.cpus:
            field("CPUs", ", ".join(str(cpu) for cpu in row.cpus))
        if row.stream_value is not None or row.destination_value is not None:
            field("stream value", hex_value(row.stream_value) or "?")
            field("destination value", hex_value(row.destination_value) or "?")
        field("evidence", row.kind)
        if info.note:
            field("note", info.note)
        text.rstrip()
        return text
