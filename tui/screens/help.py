"""``?``: what the panes show and every key."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = (
    (
        "Views",
        (
            ("r", "registers of the selected attempt or CPU (Missing / Extra / Matched)"),
            ("s", "suggestions: the property values that fix the migration"),
            ("l", "the raw log, relevant lines highlighted"),
            ("tab", "next pane (navigator, table, detail)"),
            ("p", "pause / resume the live refresh (the files are still read)"),
            ("P", "both directions of the --stream pair, as a plan"),
            ("ctrl+p", "command palette: every command, and the themes"),
            ("?", "this help"),
            ("q", "quit"),
        ),
    ),
    (
        "Attempts",
        (
            (". / ,", "next / previous failed attempt, from any pane"),
            ("a", "navigator: all attempts, only the failed, only the succeeded ones"),
            ("up / down", "in the navigator: pick an attempt (new failures no longer take over)"),
        ),
    ),
    (
        "Registers",
        (
            ("[ / ]", "previous / next tab: Missing, Extra, Matched"),
            ("A-Z 0-9 _", "type a register name or id to filter the table (esc clears)"),
            ("/", "search a register by name, alias or id in every tab; n / N next / previous"),
            ("o", "sort by the next column (or click a column header; again reverses)"),
            ("j / enter", "jump to the register's line in the raw log"),
        ),
    ),
    (
        "Suggestions",
        (("c / enter", "copy the highlighted value to the clipboard (OSC 52)"),),
    ),
    (
        "Raw log",
        (
            ("e / E", "next / previous error line"),
            ("g / G", "top / bottom (G follows the end)"),
            ("f", "follow the end of the file as it grows"),
            ("/ n N", "search text; next / previous match"),
            ("b", "back to the register jumped from"),
            ("w", "next file, when several are followed"),
        ),
    ),
    (
        "Counts only (QEMU 10.x and older)",
        (("c", "copy the -trace options that make QEMU name the registers"),),
    ),
)


def help_text() -> Text:
    text = Text()
    text.append("reginspect: the registers that break Arm live migration\n\n", "bold")
    for title, keys in HELP:
        text.append(f"{title}\n", "bold underline")
        for key, what in keys:
            text.append(f"  {key:<11}", "bold")
            text.append(f" {what}\n")
        text.append("\n")
    text.append(
        "Extra: in the incoming stream, unknown on the destination (fails the load unless "
        "tolerated). Missing: expected by the destination, not in the stream (QEMU keeps its own "
        "value). Matched: on both sides.",
        "dim",
    )
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_text(), markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
