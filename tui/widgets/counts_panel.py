"""For QEMU that prints counts, not names: how many registers differ and how to get the names."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from reginspect.advice import TRACE_OPTIONS_11, TRACE_OPTIONS_OLD, TRACE_OPTIONS_XMIG
from reginspect.report import counts_text
from reginspect.results import AttemptResult
from reginspect.textsafe import printable

TRACE_CHOICES = (
    ("QEMU 11.1 or newer (names every difference; counts and tolerances)", TRACE_OPTIONS_11),
    ("QEMU carrying the x-mig series", TRACE_OPTIONS_XMIG),
    ("this QEMU (7.2 … 10.x): where the load stops", TRACE_OPTIONS_OLD),
)


class CountsPanel(VerticalScroll, can_focus=True):
    BINDINGS = [Binding("c", "copy", "Copy -trace options")]
    COMPONENT_CLASSES = {"counts-panel--title", "counts-panel--label", "counts-panel--option"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._attempt: AttemptResult | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="counts-body", markup=False)

    def show(self, attempt: AttemptResult | None) -> None:
        if attempt == self._attempt:
            return
        self._attempt = attempt
        self.query_one("#counts-body", Static).update(self._render_attempt(attempt))

    def _render_attempt(self, attempt: AttemptResult | None) -> Text:
        style = self.get_component_rich_style
        text = Text()
        text.append("This QEMU names no register: counts only\n", style("counts-panel--title"))
        if attempt is None:
            return text
        counted = [cpu for cpu in attempt.cpus if cpu.stream_count is not None]
        if not counted:
            text.append("The log prints no register count for this attempt.\n")
        for cpu in counted:
            stream, destination = cpu.stream_count, cpu.destination_count
            text.append(f"cpu {cpu.instance}: ", style("counts-panel--label"))
            text.append(counts_text(cpu))
            if stream is not None and destination is not None:
                delta = stream - destination
                if delta > 0:
                    text.append(f": at least {delta} register(s) of the stream unknown here")
                elif delta < 0:
                    text.append(f": at least {-delta} register(s) missing from the stream")
                else:
                    text.append(": same number on both sides")
            text.append("\n")
        text.append("\nTo name them, run the destination with (c copies the first):\n")
        for title, options in TRACE_CHOICES:
            text.append(f"  {title}:\n", style("counts-panel--label"))
            text.append(f"    {options}\n", style("counts-panel--option"))
        if attempt.advice:
            text.append("\nAdvice:\n", style("counts-panel--label"))
            for sentence in attempt.advice:
                text.append(f"  - {printable(sentence)}\n")
        text.rstrip()
        return text

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(TRACE_OPTIONS_11)
        self.app.notify(TRACE_OPTIONS_11, title="Copied -trace options", markup=False)
