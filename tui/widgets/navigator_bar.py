"""The line over the attempt navigator: which attempts it shows (all, failed, succeeded) and how
many each filter holds; ``a`` changes the filter."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.attempt_navigator import AttemptFilter


class NavigatorBar(Widget):
    COMPONENT_CLASSES = {"navigator-bar--active", "navigator-bar--dim"}

    filter: reactive[AttemptFilter] = reactive(AttemptFilter.ALL)
    counts: reactive[tuple[int, int, int]] = reactive((0, 0, 0))

    def show(self, kind: AttemptFilter, counts: dict[AttemptFilter, int]) -> None:
        self.filter = kind
        self.counts = tuple(counts.get(k, 0) for k in AttemptFilter)  # type: ignore[assignment]

    def render(self) -> Text:
        style = self.get_component_rich_style
        counts = dict(zip(AttemptFilter, self.counts, strict=True))
        shown = list(AttemptFilter)
        # The filters that do not fit give way whole, from the last; the chosen one stays.
        while len(shown) > 1 and sum(len(f" {k} {counts[k]} ") + 1 for k in shown) > max(
            self.size.width, 1
        ):
            shown.remove(next(k for k in reversed(shown) if k is not self.filter))
        line = Text(no_wrap=True, overflow="ellipsis")
        for kind in shown:
            line.append(
                f" {kind} {counts[kind]} ",
                style("navigator-bar--active" if kind is self.filter else "navigator-bar--dim"),
            )
            line.append(" ")
        line.rstrip()
        return line
