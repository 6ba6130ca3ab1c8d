"""The top two lines: the files followed and their state, live or paused, one badge per attempt."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from reginspect.results import Outcome
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
        "session-header--selected",
        "session-header--dim",
    }

    view: reactive[View] = reactive(EMPTY_VIEW, layout=False)
    paused: reactive[bool] = reactive(False)
    selected: reactive[int | None] = reactive(None)

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

        badges = Text(no_wrap=True, overflow="ellipsis")
        badges.append(" attempts ", style("session-header--dim"))
        if not self.view.summaries:
            badges.append("none yet", style("session-header--dim"))
        for shown, attempt in enumerate(self.view.summaries):
            badge = Text(f" #{attempt.index} {attempt.outcome.upper()} ")
            badge.stylize(style(f"session-header--{_outcome_class(attempt.outcome)}"))
            if attempt.index == self.selected:
                badge.stylize(style("session-header--selected"))
            if badges.cell_len + badge.cell_len + 10 > width and shown:
                rest = len(self.view.summaries) - shown
                badges.append(f" +{rest} more", style("session-header--dim"))
                break
            badges.append_text(badge)
            badges.append(" ")
        return Text("\n").join([top, badges])


def _outcome_class(outcome: Outcome) -> str:
    return {
        Outcome.FAILED: "failed",
        Outcome.SUCCEEDED: "succeeded",
        Outcome.IN_PROGRESS: "in-progress",
        Outcome.UNKNOWN: "unknown",
    }[outcome]
