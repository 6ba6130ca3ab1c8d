"""The attempts and their CPUs, as a tree; moving the cursor selects what the other panes show.

Each attempt is one line: its number, outcome (coloured), what differs and when it started, fitted
to the width by dropping whole parts. Only an attempt with several CPUs can be expanded. A filter
shows all attempts, or only the failed or the succeeded ones.

Until the user picks an attempt, the latest failed one is selected (else the latest one), and a
new failure takes the selection; a user's pick stays.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from parsers.logevents import Status
from reginspect.model import Naming
from reginspect.report import differences
from reginspect.results import AttemptSummary, Outcome, display_time
from tui.view import View

OUTCOME_CLASS = {
    Outcome.FAILED: "attempt-navigator--failed",
    Outcome.SUCCEEDED: "attempt-navigator--succeeded",
    Outcome.IN_PROGRESS: "attempt-navigator--in-progress",
    Outcome.UNKNOWN: "attempt-navigator--unknown",
}
# "2026-09-04 18:34:00 UTC" -> "09-04 18:34": the year and seconds are in the detail pane.
_SHORT_TIME = re.compile(r"\d{4}-(\d\d-\d\d \d\d:\d\d)")


class AttemptFilter(enum.StrEnum):
    ALL = "all"
    FAILED = "failed"
    SUCCEEDED = "succeeded"

    def admits(self, outcome: Outcome) -> bool:
        return self is AttemptFilter.ALL or outcome.value == self.value


FILTER_CYCLE = tuple(AttemptFilter)


@dataclass(frozen=True, slots=True)
class Target:
    attempt: int
    cpu: int | None  # None: the attempt as a whole


class AttemptNavigator(Tree[Target]):
    """Attempts and CPUs added at the end are added to the tree; a line is drawn again only for
    an attempt whose summary changed. Labels are made when a line is drawn, for its width."""

    COMPONENT_CLASSES = (
        Tree.COMPONENT_CLASSES | set(OUTCOME_CLASS.values()) | {"attempt-navigator--time"}
    )

    class Selected(Message):
        def __init__(self, target: Target | None) -> None:
            super().__init__()
            self.target = target

    class NewFailure(Message):
        """An attempt failed while the user looks at another one they chose."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("attempts"), id=id)
        self.show_root = False
        self.guide_depth = 2
        self.filter = AttemptFilter.ALL
        self._shape: tuple[object, ...] = ()
        self._summaries: dict[int, AttemptSummary] = {}  # every attempt's, by index
        self._visible: tuple[AttemptSummary, ...] = ()  # the filter's, in order
        self._chosen = False  # the user picked an attempt: stop picking one for them
        self._placed: Target | None = None  # where the cursor was put for the user
        self._latest_failure: int | None = None
        self._announced: Target | None = None

    # -- what is selected ----------------------------------------------------------------------

    @property
    def selected(self) -> Target | None:
        """What the other panes should show (announced, or about to be)."""
        return self._announced

    @property
    def target(self) -> Target | None:
        node = self.cursor_node
        return None if node is None else node.data

    @property
    def chosen(self) -> bool:
        return self._chosen

    def counts(self) -> dict[AttemptFilter, int]:
        """Attempts each filter shows."""
        outcomes = [summary.outcome for summary in self._summaries.values()]
        return {kind: sum(1 for o in outcomes if kind.admits(o)) for kind in AttemptFilter}

    # -- refresh -------------------------------------------------------------------------------

    def show(self, view: View) -> None:
        self._summaries = {summary.index: summary for summary in view.summaries}
        visible = tuple(s for s in view.summaries if self.filter.admits(s.outcome))
        shape = (self.filter, *(_shape_of(summary) for summary in visible))
        if shape != self._shape:
            self._reshape(visible, shape)
        else:
            for node, summary, before in zip(
                self.root.children, visible, self._visible, strict=True
            ):
                if summary is not before:
                    node.refresh()
                    for child in node.children:
                        child.refresh()
        self._visible = visible
        failures = [s.index for s in view.summaries if s.outcome is Outcome.FAILED]
        latest = failures[-1] if failures else None
        new_failure = latest is not None and latest != self._latest_failure
        self._latest_failure = latest
        if not self._chosen:
            self._place(self._automatic())
        elif new_failure and latest is not None:
            self.post_message(self.NewFailure(latest))

    def _automatic(self) -> Target | None:
        """The latest failed attempt the filter shows, else the latest it shows."""
        if not self._visible:
            return None
        failed = [s for s in self._visible if s.outcome is Outcome.FAILED]
        return Target((failed or list(self._visible))[-1].index, None)

    def _reshape(self, visible: tuple[AttemptSummary, ...], shape: tuple[object, ...]) -> None:
        """Keep the nodes of the attempts whose place and CPUs did not change, make the rest."""
        previous = self.target
        kept = 0
        for old, new in zip(self._shape, shape, strict=False):
            if old != new:
                break
            kept += 1
        kept = max(kept - 1, 0)  # the filter is the shape's first item, not a node
        if kept:
            for node in list(self.root.children)[kept:]:
                node.remove()
        else:
            self.clear()
        for summary in visible[kept:]:
            data = Target(summary.index, None)
            if len(summary.cpus) > 1:
                node = self.root.add("", data=data, expand=True)
                for cpu in summary.cpus:
                    node.add_leaf("", data=Target(summary.index, cpu.instance))
            else:
                self.root.add_leaf("", data=data)
        self._shape = shape
        self._visible = visible
        # The cursor stays on what it was on while that is shown; the caller places it otherwise.
        if previous is not None and self._line_of(previous) is not None:
            self._place(previous)
        elif self._chosen:
            self._place(self._nearest(previous))

    def _nearest(self, previous: Target | None) -> Target | None:
        """The shown attempt closest before ``previous`` (the filter hid it), else the first."""
        if not self._visible:
            return None
        if previous is None:
            return Target(self._visible[-1].index, None)
        before = [s for s in self._visible if s.index <= previous.attempt]
        return Target((before or list(self._visible))[-1 if before else 0].index, None)

    def _line_of(self, target: Target) -> int | None:
        line = 0
        for node in self.root.children:
            if node.data == target:
                return line
            line += 1
            if node.is_expanded:
                for child in node.children:
                    if child.data == target:
                        return line
                    line += 1
        return None

    def _place(self, target: Target | None) -> None:
        """Put the cursor on ``target`` and tell the screen (the highlight that follows is not
        the user's move)."""
        if target is None:
            self._announce(None)
            return
        line = self._line_of(target)
        if line is None:
            return
        self._placed = target
        if self.cursor_line != line:
            # By line: a node added just now has no line until the tree is laid out again.
            self.move_cursor_to_line(line)
        self._announce(target)

    def _announce(self, target: Target | None) -> None:
        if target != self._announced:
            self._announced = target
            self.post_message(self.Selected(target))

    # -- what the user does --------------------------------------------------------------------

    def select_attempt(self, index: int) -> None:
        """Select attempt ``index`` for the user (a jump between failures): shown under every
        filter that hides it."""
        if self.filter is not AttemptFilter.ALL and not any(
            s.index == index for s in self._visible
        ):
            self.set_filter(AttemptFilter.ALL)
        self._chosen = True
        self._place(Target(index, None))

    def set_filter(self, kind: AttemptFilter) -> None:
        if kind is self.filter:
            return
        self.filter = kind
        current = self.target
        visible = tuple(s for s in self._summaries.values() if kind.admits(s.outcome))
        self._reshape(visible, (kind, *(_shape_of(summary) for summary in visible)))
        if not self._chosen:
            self._place(self._automatic())
        elif current is not None and self._line_of(current) is None:
            self._place(self._nearest(current))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Target]) -> None:
        event.stop()
        if event.node is not self.cursor_node:
            return  # stale: the tree was rebuilt since
        target = event.node.data
        if target != self._placed:
            self._chosen = True  # the user moved
        self._announce(target)

    # -- drawing -------------------------------------------------------------------------------

    def render_label(self, node: TreeNode[Target], base_style: Style, style: Style) -> Text:
        target = node.data
        summary = None if target is None else self._summaries.get(target.attempt)
        if target is None or summary is None:
            return super().render_label(node, base_style, style)
        icon = 2 if node.allow_expand else 0
        depth = 0 if target.cpu is None else 2
        room = self.scrollable_content_region.width - icon - depth
        label = self._label(summary, target.cpu, room)
        label.stylize(style)
        if node.allow_expand:
            toggle = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return Text.assemble((toggle, base_style), label)
        return label

    def get_label_width(self, node: TreeNode[Target]) -> int:
        # Labels are fitted to the width: nothing to scroll sideways, nothing to measure.
        return 0

    def _label(self, summary: AttemptSummary, cpu: int | None, room: int) -> Text:
        """``#17 failed 88 extra   09-04 18:34``: the parts that fit in ``room`` cells, whole."""
        style = self.get_component_rich_style
        label = Text(no_wrap=True, overflow="ellipsis")
        if cpu is None:
            label.append(f"#{summary.index} ")
            label.append(str(summary.outcome), style(OUTCOME_CLASS[summary.outcome]))
        else:
            label.append(f"cpu {cpu}")
        # By priority: number and outcome, the main difference, the time, the rest; each part
        # whole, in the first of its forms that fits, or not at all.
        words = _difference_words(summary, cpu)
        time = _short_time(summary.time) if cpu is None else None
        parts = words[:1] + ([(time,)] if time else []) + words[1:]
        used = label.cell_len
        fitting: list[str] = []
        for forms in parts:
            gap = 2 if forms[0] == time else 1
            form = next((form for form in forms if used + gap + len(form) <= room), None)
            if form is not None:
                fitting.append(form)
                used += gap + len(form)
        for form in fitting:
            if form != time:
                label.append(f" {form}")
        if time is not None and time in fitting:
            label.append(" " * (room - label.cell_len - len(time)))
            label.append(time, style("attempt-navigator--time"))
        return label


def _shape_of(summary: AttemptSummary) -> tuple[int, tuple[int, ...]]:
    cpus = tuple(cpu.instance for cpu in summary.cpus) if len(summary.cpus) > 1 else ()
    return summary.index, cpus


def _short_time(text: str | None) -> str | None:
    shown = display_time(text)
    if shown is None:
        return None
    match = _SHORT_TIME.match(shown)
    return match.group(1) if match else None


def _difference_words(summary: AttemptSummary, cpu: int | None) -> list[tuple[str, ...]]:
    """What differs, as parts shown whole or not at all (the most telling first), each in its
    forms from the longest."""
    if cpu is None and summary.naming is not Naming.COUNTS:
        extra, missing = summary.count(Status.EXTRA), summary.count(Status.MISSING)
        values = len(summary.registers.value_differs)
    else:
        cpus = [c for c in summary.cpus if cpu is None or c.instance == cpu]
        if summary.naming is Naming.COUNTS:
            counted = next((c for c in cpus if c.stream_count is not None), None)
            if counted is None:
                return []
            if cpu is None and differences(summary).startswith("no difference"):
                return [("no difference",)]
            counts = f"{counted.stream_count}/{counted.destination_count}"
            return [(f"{counts} regs", counts)]
        extra = sum(c.count(Status.EXTRA) for c in cpus)
        missing = sum(c.count(Status.MISSING) for c in cpus)
        values = 0
    named = ((extra, "extra"), (missing, "missing"))
    parts: list[tuple[str, ...]] = [(f"{count} {word}",) for count, word in named if count]
    if values:
        parts.append((f"{values} values differ",) if values != 1 else ("1 value differs",))
    if parts or summary.outcome is Outcome.IN_PROGRESS:
        return parts  # an attempt still being read may name registers yet
    return [("no difference",)]
