"""Missing / Extra / Matched tabs over the register table, with the counts in the titles."""

from __future__ import annotations

from textual.widgets import Tab, Tabs

from parsers.logevents import Status

TITLES = {Status.MISSING: "Missing", Status.EXTRA: "Extra", Status.MATCHED: "Matched"}


class StatusTabs(Tabs):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            *(Tab(f"{title} (0)", id=status.value) for status, title in TITLES.items()), id=id
        )
        self._counts: dict[Status, int] = {}
        self._slide = True

    @property
    def status(self) -> Status:
        return Status(self.active) if self.active else Status.EXTRA

    def select(self, status: Status, *, slide: bool = True) -> None:
        """Activate ``status``'s tab; ``slide=False`` moves the underline without the slide (a
        tab chosen for the user as data arrives: a slide is some 18 repaints)."""
        self._slide = slide
        try:
            self.active = status.value  # the watcher runs now and moves the underline
        finally:
            self._slide = True

    def _highlight_active(self, animate: bool = True) -> None:
        super()._highlight_active(animate=animate and self._slide)

    def _on_tab_relabelled(self, event: Tab.Relabelled) -> None:
        # New counts in the titles shift the tabs with every refresh: the underline follows at
        # once (Tabs would slide it).
        event.stop()
        event.prevent_default()
        self._highlight_active(animate=False)

    def set_counts(self, counts: dict[Status, int]) -> None:
        if counts == self._counts:
            return
        self._counts = dict(counts)
        for status, title in TITLES.items():
            tab = self.get_tab(status.value)
            if tab is not None:
                tab.label = f"{title} ({counts.get(status, 0)})"
