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

    @property
    def status(self) -> Status:
        return Status(self.active) if self.active else Status.EXTRA

    def select(self, status: Status) -> None:
        self.active = status.value

    def set_counts(self, counts: dict[Status, int]) -> None:
        if counts == self._counts:
            return
        self._counts = dict(counts)
        for status, title in TITLES.items():
            tab = self.get_tab(status.value)
            if tab is not None:
                tab.label = f"{title} ({counts.get(status, 0)})"
