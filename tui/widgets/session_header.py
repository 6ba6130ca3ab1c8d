"""The top two lines: the files followed and their state, live or paused; the session at a glance
(attempts per outcome, the QEMU that ran)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from reginspect.report import outcome_counts, session_facts
from reginspect.textsafe import printable
from tui.store import SourceStatus
from tui.view import EMPTY_VIEW, View

STATUS_MARK = {
    SourceStatus.WAITING: "waiting",
    SourceStatus.READING: "reading",
    SourceStatus.LIVE: "live",
    SourceStatus.DELETED: "deleted",
    SourceStatus.ENDED: "ended",
    SourceStatus.ERROR: "error",
}


class SessionHeader(Widget):
    COMPONENT_CLASSES = {
        "session-header--title",
        "session-header--file",
        "session-header--live",
        "session-header--paused",
        "session-header--failed",
        "session-header--succeeded",
        "session-header--in-progress",
        "session-header--unknown",
        "session-header--dim",
    }

    view: reactive[View] = reactive(EMPTY_VIEW, layout=False)
    paused: reactive[bool] = reactive(False)

    def render(self) -> Text:
        width = max(self.size.width, 20)
        style = self.get_component_rich_style
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(" reginspect ", style("session-header--title"))
        state = Text(" PAUSED " if self.paused else " LIVE ")
        state.stylize(style("session-header--paused" if self.paused else "session-header--live"))
        room = width - top.cell_len - state.cell_len - 1
        files = Text(no_wrap=True, overflow="ellipsis")
        for number, source in enumerate(self.view.sources):
            if number:
                files.append(" · ", style("session-header--dim"))
            files.append(printable(source.name), style("session-header--file"))
            files.append(f" ({STATUS_MARK[source.status]})", style("session-header--dim"))
        if not self.view.sources:
            files.append("starting", style("session-header--dim"))
        files.truncate(max(room, 1), overflow="ellipsis")
        top.append(" ")
        top.append_text(files)
        top.pad_right(max(width - top.cell_len - state.cell_len, 0))
        top.append_text(state)

        return Text("\n").join([top, self._session(width)])

    def _session(self, width: int) -> Text:
        """The whole session at a glance: attempts per outcome, coloured, then what ran; facts
        that do not fit give way whole, from the last."""
        style = self.get_component_rich_style
        summaries = self.view.summaries
        line = Text(no_wrap=True, overflow="ellipsis")
        if not summaries:
            line.append(" attempts: none yet", style("session-header--dim"))
            return line
        total = len(summaries)
        line.append(f" {total} attempt{'s' if total != 1 else ''}: ")
        for number, (outcome, count) in enumerate(outcome_counts(summaries)):
            if number:
                line.append(", ")
            line.append(f"{count} {outcome}", style(f"session-header--{outcome}"))
        facts = session_facts(summaries)
        while facts and line.cell_len + len(" — " + ", ".join(facts)) > width:
            facts.pop()
        if facts:
            line.append(printable(" — " + ", ".join(facts)), style("session-header--dim"))
        return line
