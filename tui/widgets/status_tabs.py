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
        # The user picked the tab shown (a key, a click): stop picking one for them. Known where
        # the tab changes, not read back from TabActivated, whose arrival after a refresh is a
        # matter of timing (Tabs activates its first tab on mount, a message later).
        self.user_chose = False

    @property
    def status(self) -> Status:
        return Status(self.active) if self.active else Status.EXTRA

    def select(self, status: Status, *, by_user: bool = True) -> None:
        """Activate ``status``'s tab. A tab picked for the user as data arrives
        (``by_user=False``) leaves them free to choose and moves the underline without the slide
        (some 18 repaints)."""
        self.user_chose = self.user_chose or by_user
        self._slide = by_user
        try:
            self.active = status.value  # the watcher runs now and moves the underline
        finally:
            self._slide = True

    def _activate_tab(self, tab: Tab) -> None:
        # Tabs' way for a click on a tab or under it.
        self.user_chose = True
        super()._activate_tab(tab)

    def action_next_tab(self) -> None:
        self.user_chose = True
        super().action_next_tab()

    def action_previous_tab(self) -> None:
        self.user_chose = True
        super().action_previous_tab()

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
