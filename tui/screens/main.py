"""The main screen: navigator on the left; registers, suggestions and the raw log on the right.

The app hands it a fresh ``View`` whenever the files change; the screen keeps what the user
chose (attempt, CPU, tab, filter, sort, selected register) across views.
"""

from __future__ import annotations

import os

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, TabbedContent, TabPane, Tabs

from parsers.logevents import Status
from reginspect.model import LineRef, Naming
from reginspect.results import AttemptResult, Outcome, RegisterResult
from tui.store import SourceStatus, Store
from tui.view import EMPTY_VIEW, View
from tui.widgets.attempt_navigator import FILTER_CYCLE, AttemptNavigator, Target
from tui.widgets.counts_panel import CountsPanel
from tui.widgets.filter_input import FilterInput
from tui.widgets.navigator_bar import NavigatorBar
from tui.widgets.raw_log import RawLogView
from tui.widgets.read_progress import ReadProgress
from tui.widgets.register_detail import RegisterDetail
from tui.widgets.register_table import RegisterTable, matches
from tui.widgets.search_input import SearchInput
from tui.widgets.session_header import SessionHeader
from tui.widgets.status_tabs import StatusTabs
from tui.widgets.suggestions_pane import SuggestionsPane

STATUS_CYCLE = (Status.MISSING, Status.EXTRA, Status.MATCHED)
DETAIL_LINES = 8  # raw lines shown in the detail pane; the raw view has the rest


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("r", "view('registers')", "Registers"),
        Binding("s", "view('suggestions')", "Suggestions"),
        Binding("l", "view('log')", "Log"),
        Binding("slash", "search", "Search"),
        Binding("j", "jump", "Jump"),
        Binding("full_stop", "failure(1)", "Next failed"),
        Binding("comma", "failure(-1)", "Prev failed", show=False),
        Binding("a", "attempt_filter", "Filter attempts", show=False),
        Binding("left_square_bracket", "status(-1)", "Prev tab", show=False),
        Binding("right_square_bracket", "status(1)", "Next tab", show=False),
        Binding("o", "sort", "Sort", show=False),
        Binding("n", "search_next(1)", "Next match", show=False),
        Binding("N", "search_next(-1)", "Prev match", show=False),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.view = EMPTY_VIEW
        self.target: Target | None = None
        self.filter_text = ""
        self.search_text = ""
        self.raw_source: str | None = None  # chosen with ``w`` or by a jump; else the attempt's
        self.jump_origin: tuple[Status, int] | None = None
        self._detail_key: object = None
        self._highlight_key: object = None

    def compose(self) -> ComposeResult:
        yield SessionHeader(id="header")
        yield ReadProgress(id="progress")
        with Horizontal(id="body"):
            with Vertical(id="navigation"):
                yield NavigatorBar(id="navigator-bar")
                yield AttemptNavigator(id="navigator")
            with TabbedContent(id="views", initial="registers"):
                with TabPane("Registers", id="registers"):
                    yield StatusTabs(id="status-tabs")
                    yield FilterInput(id="filter")
                    with Vertical(id="named"):
                        yield RegisterTable(id="table")
                        yield RegisterDetail(id="detail")
                    yield CountsPanel(id="counts")
                with TabPane("Suggestions", id="suggestions"):
                    yield SuggestionsPane(id="suggestions-pane")
                with TabPane("Log", id="log"):
                    yield RawLogView(self._read_lines, self._find, id="raw")
        yield SearchInput(id="search")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", FilterInput).display = False
        self.query_one("#search", SearchInput).display = False
        self.query_one("#counts", CountsPanel).display = False
        self.query_one("#status-tabs", StatusTabs).select(Status.EXTRA, by_user=False)
        self.query_one("#table", RegisterTable).focus()

    # -- store access for the raw view (UI thread and the search worker) ------------------------

    def _read_lines(self, source: str, first: int, count: int) -> list[tuple[int, str]]:
        return self.store.read_lines(source, first, count)

    def _find(self, source: str, text: str, line: int, forward: bool) -> int | None:
        """Runs on a worker thread: scans without the lock (on its own descriptor), so that
        neither the reader nor the UI waits for a search through a gigabyte."""
        with self.store.lock:
            item = self.store.sources.get(source)
            if item is None or item.fd is None:
                return None
            index, fd = item.index, os.dup(item.fd)
        try:
            return index.find(fd, text.encode("utf-8", "replace"), line, forward=forward)
        except OSError:
            return None
        finally:
            os.close(fd)

    # -- what is selected ---------------------------------------------------------------------

    @property
    def attempt(self) -> AttemptResult | None:
        summaries = self.view.summaries
        if not summaries:
            return None
        index = summaries[-1].index
        if self.target is not None and self.view.summary(self.target.attempt) is not None:
            index = self.target.attempt
        return self.view.result(index)

    @property
    def cpu(self) -> int | None:
        return None if self.target is None else self.target.cpu

    @property
    def status(self) -> Status:
        return self.query_one("#status-tabs", StatusTabs).status

    def rows(self, status: Status | None = None, *, filtered: bool = True) -> list[RegisterResult]:
        attempt = self.attempt
        if attempt is None:
            return []
        status = status or self.status
        text = self.filter_text if filtered else ""
        return [
            row
            for row in attempt.registers(self.cpu)
            if row.status is status and matches(row, text)
        ]

    # -- refresh ------------------------------------------------------------------------------

    def show_view(self, view: View, paused: bool) -> None:
        self.view = view
        header = self.query_one("#header", SessionHeader)
        header.view = view
        header.paused = paused
        self.query_one("#progress", ReadProgress).show(view)
        navigator = self.query_one("#navigator", AttemptNavigator)
        navigator.show(view)
        self.query_one("#navigator-bar", NavigatorBar).show(navigator.filter, navigator.counts())
        # Take the navigator's choice now (its Selected message comes a loop later): a new
        # attempt's registers are on screen in this refresh.
        self._aim(navigator.selected)
        self.render_selection()

    def render_selection(self) -> None:
        attempt = self.attempt
        # Counts only: a QEMU that names nothing, once there is something to say: it failed or
        # the counts differ (an attempt just begun, or one that loaded equal lists, keeps the
        # table and the attempt's summary).
        counts_only = (
            attempt is not None
            and attempt.summary.naming is Naming.COUNTS
            and (
                attempt.summary.outcome is Outcome.FAILED
                or any(cpu.stream_count != cpu.destination_count for cpu in attempt.cpus)
            )
        )
        panel = self.query_one("#counts", CountsPanel)
        table = self.query_one("#table", RegisterTable)
        if panel.display != counts_only:  # each change costs a layout pass: only on change
            panel.display = counts_only
            self.query_one("#named", Vertical).display = not counts_only
            self.query_one("#status-tabs", StatusTabs).display = not counts_only
        if counts_only:
            panel.show(attempt)
            if self.focused in (table, None):
                panel.focus()
        elif self.focused is panel:
            table.focus()
        tabs = self.query_one("#status-tabs", StatusTabs)
        counts = (
            {}
            if attempt is None
            else {status: attempt.count(status, self.cpu) for status in STATUS_CYCLE}
        )
        tabs.set_counts(counts)
        if not tabs.user_chose and attempt is not None:
            best = explaining_status(attempt, counts)
            if best is not None and best is not tabs.status:
                tabs.select(best, by_user=False)
        table.show(self.rows())
        self.render_detail()
        views = self.query_one("#views", TabbedContent)
        title = f"Suggestions ({len(self.view.suggestions)})"
        tab = views.get_tab("suggestions")
        if str(tab.label) != title:
            tab.label = title
        self.query_one("#suggestions-pane", SuggestionsPane).show(
            self.view.suggestions, self.view.suggestion_error
        )
        self.render_raw()

    def _empty_message(self) -> str:
        waiting = [s for s in self.view.sources if s.status is SourceStatus.WAITING]
        if waiting:
            return "; ".join(f"Waiting for {s.name} to be created…" for s in waiting)
        if self.view.reading:
            return "Reading…"
        if self.attempt is None:
            return "No migration attempt in the log yet."
        if self.filter_text:
            return f"No {self.status} register matches the filter."
        return f"No {self.status} register in this attempt."

    def render_detail(self) -> None:
        table = self.query_one("#table", RegisterTable)
        row = table.current
        sources = tuple((s.name, s.epoch) for s in self.view.sources)
        attempt = self.attempt
        key = (row, self.view.suggestions, sources, self._empty_message(), row or attempt)
        if key == self._detail_key:
            return
        self._detail_key = key
        detail = self.query_one("#detail", RegisterDetail)
        if row is None:
            detail.show(None, (), (), self._empty_message(), attempt)
            return
        raw_lines: list[tuple[LineRef, str | None]] = [
            (spot, self.store.line_at(spot.source, spot.offset))
            for spot in row.lines[:DETAIL_LINES]
        ]
        detail.show(row, self.view.covering(row), raw_lines)

    def _raw_source_name(self) -> str | None:
        names = [source.name for source in self.view.sources]
        if self.raw_source in names:
            return self.raw_source
        attempt = self.attempt
        if attempt is not None:
            return attempt.summary.source
        return names[0] if names else None

    def render_raw(self) -> None:
        raw = self.query_one("#raw", RawLogView)
        name = self._raw_source_name()
        source = None if name is None else self.view.source(name)
        if source is None:
            raw.set_source(None, 0, -1, "No file.")
            return
        if source.status is SourceStatus.WAITING:
            empty = f"Waiting for {source.name} to be created…"
        elif source.status is SourceStatus.DELETED:
            empty = f"{source.name} was deleted; waiting for it to come back…"
        else:
            empty = f"{source.name} is empty."
        raw.set_source(source.name, source.lines, source.epoch, empty)
        attempt = self.attempt
        key = (name, attempt, self.cpu)
        if key == self._highlight_key:
            return
        self._highlight_key = key
        highlights: dict[int, str] = {}
        errors: list[int] = []
        if attempt is not None:
            for row in attempt.registers(self.cpu):
                for spot in row.lines:
                    if spot.source == name:
                        highlights[spot.line] = "register"
            for spot in attempt.error_spots():
                if spot.source == name:
                    highlights[spot.line] = "error"
                    errors.append(spot.line)
        raw.set_highlights(highlights, errors)

    # -- events -------------------------------------------------------------------------------

    def on_attempt_navigator_selected(self, event: AttemptNavigator.Selected) -> None:
        self._select(event.target)

    def _select(self, target: Target | None) -> None:
        if self._aim(target):
            self.render_selection()

    def _aim(self, target: Target | None) -> bool:
        """Make ``target`` the attempt shown; a new one gets its own log and tab choice."""
        if target == self.target:
            return False
        self.target = target
        self.raw_source = None
        self.query_one("#status-tabs", StatusTabs).user_chose = False
        return True

    @on(Tabs.TabActivated, "#status-tabs")
    def on_status_tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        self.render_selection()

    def on_register_table_register_highlighted(
        self, event: RegisterTable.RegisterHighlighted
    ) -> None:
        self.render_detail()

    def on_register_table_filter_typed(self, event: RegisterTable.FilterTyped) -> None:
        search = self.query_one("#search", SearchInput)
        if search.display:
            search.add_key(event.character)  # typed right after ``/``, before the focus moved
        else:
            self.query_one("#filter", FilterInput).start(event.character)

    @on(FilterInput.Changed, "#filter")
    def on_filter_changed(self, event: FilterInput.Changed) -> None:
        self.filter_text = event.value
        self.render_selection()

    def on_filter_input_done(self, event: FilterInput.Done) -> None:
        if event.cleared:
            self.filter_text = ""
            self.render_selection()
        self.query_one("#table", RegisterTable).focus()

    @on(DataTable.RowSelected, "#table")
    def on_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_jump()

    def on_raw_log_view_back(self, event: RawLogView.Back) -> None:
        self.go_back()

    def on_raw_log_view_next_source(self, event: RawLogView.NextSource) -> None:
        names = [source.name for source in self.view.sources]
        if len(names) < 2:
            self.app.notify("Only one file is followed.", markup=False)
            return
        current = self._raw_source_name()
        position = names.index(current) if current in names else -1
        self.raw_source = names[(position + 1) % len(names)]
        self._highlight_key = None
        self.render_raw()
        self.app.notify(f"Showing {self.raw_source}", markup=False)

    def on_search_input_search(self, event: SearchInput.Search) -> None:
        self.search_text = event.text
        if self.query_one("#views", TabbedContent).active == "log":
            raw = self.query_one("#raw", RawLogView)
            raw.focus()
            raw.find(event.text)
        else:
            self.query_one("#table", RegisterTable).focus()
            self.action_search_next(1)

    def on_search_input_cancelled(self, event: SearchInput.Cancelled) -> None:
        self._focus_view(self.query_one("#views", TabbedContent).active)

    # -- actions ------------------------------------------------------------------------------

    def action_view(self, name: str) -> None:
        self.query_one("#views", TabbedContent).active = name
        self._focus_view(name)

    def _focus_view(self, name: str) -> None:
        if name == "registers":
            counts = self.query_one("#counts", CountsPanel)
            (counts if counts.display else self.query_one("#table", RegisterTable)).focus()
        elif name == "suggestions":
            self.query_one("#suggestion-list").focus()
        else:
            self.query_one("#raw", RawLogView).focus()

    @on(TabbedContent.TabActivated, "#views")
    def on_view_tab(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:
            self._focus_view(event.pane.id)

    def action_failure(self, direction: int) -> None:
        """The next (1) or previous (-1) failed attempt, from any pane."""
        failed = [s.index for s in self.view.summaries if s.outcome is Outcome.FAILED]
        if not failed:
            self.app.notify("No attempt failed.", markup=False)
            return
        attempt = self.attempt
        here = -1 if attempt is None else attempt.summary.index
        ahead = [i for i in failed if (i - here) * direction > 0]
        if not ahead:
            where = "after" if direction > 0 else "before"
            self.app.notify(f"No failed attempt {where} #{here}.", markup=False)
            return
        index = ahead[0] if direction > 0 else ahead[-1]
        navigator = self.query_one("#navigator", AttemptNavigator)
        navigator.select_attempt(index)
        self._select(navigator.selected)
        if self.query_one("#views", TabbedContent).active == "log":
            # In the raw log, the failure's first error line.
            result = self.attempt
            spots = [] if result is None else result.error_spots()
            if spots:
                self.raw_source = spots[0].source
                self.render_raw()
                raw = self.query_one("#raw", RawLogView)
                raw.follow = False
                raw.go_to(spots[0].line)

    def action_attempt_filter(self) -> None:
        """Show all attempts, only the failed ones, or only the succeeded ones (in turn)."""
        navigator = self.query_one("#navigator", AttemptNavigator)
        position = FILTER_CYCLE.index(navigator.filter)
        navigator.set_filter(FILTER_CYCLE[(position + 1) % len(FILTER_CYCLE)])
        self.query_one("#navigator-bar", NavigatorBar).show(navigator.filter, navigator.counts())
        self._select(navigator.selected)

    def on_attempt_navigator_new_failure(self, event: AttemptNavigator.NewFailure) -> None:
        self.app.notify(
            f"Attempt #{event.index} failed: press . to show it.",
            markup=False,
            severity="warning",
        )

    def action_status(self, delta: int) -> None:
        tabs = self.query_one("#status-tabs", StatusTabs)
        position = STATUS_CYCLE.index(tabs.status)
        tabs.select(STATUS_CYCLE[(position + delta) % len(STATUS_CYCLE)])

    def action_sort(self) -> None:
        table = self.query_one("#table", RegisterTable)
        table.cycle_sort()
        self.app.notify(f"Sorted by {table.sort_column}", markup=False)

    def action_search(self) -> None:
        active = self.query_one("#views", TabbedContent).active
        prompt = (
            "search the log (enter: find, n/N: next/previous)"
            if active == "log"
            else "search registers: name, alias or id (enter: find, n/N: next/previous)"
        )
        self.query_one("#search", SearchInput).open(prompt)

    def action_search_next(self, direction: int) -> None:
        """Next register (in Missing, Extra, Matched order) matching the search text."""
        if not self.search_text:
            self.app.notify("Search first with /.", markup=False)
            return
        ordered = [
            (status, row)
            for status in STATUS_CYCLE
            for row in sorted(self.rows(status, filtered=False), key=lambda r: r.kvm_id)
        ]
        if not ordered:
            return
        table = self.query_one("#table", RegisterTable)
        current = table.current
        here = next(
            (i for i, (s, r) in enumerate(ordered) if current is not None and r == current),
            -1 if direction > 0 else 0,
        )
        count = len(ordered)
        for step in range(1, count + 1):
            status, row = ordered[(here + direction * step) % count]
            if matches(row, self.search_text):
                self.filter_text = ""
                self.query_one("#filter", FilterInput).value = ""
                self.query_one("#filter", FilterInput).display = False
                self.query_one("#status-tabs", StatusTabs).select(status)
                table.show(self.rows(status), keep=row.kvm_id)
                table.select_register(row.kvm_id)
                self.render_detail()
                return
        self.app.notify(f"No register matches {self.search_text}", markup=False, severity="warning")

    def action_jump(self) -> None:
        row = self.query_one("#table", RegisterTable).current
        if row is None or not row.lines:
            self.app.notify("This register has no line in the log.", markup=False)
            return
        spot = row.lines[0]
        self.jump_origin = (row.status, row.kvm_id)
        self.raw_source = spot.source
        self.query_one("#views", TabbedContent).active = "log"
        self.render_raw()
        raw = self.query_one("#raw", RawLogView)
        raw.follow = False
        raw.focus()
        raw.go_to(spot.line)

    def go_back(self) -> None:
        origin = self.jump_origin
        self.query_one("#views", TabbedContent).active = "registers"
        table = self.query_one("#table", RegisterTable)
        table.focus()
        if origin is None:
            return
        status, kvm_id = origin
        self.query_one("#status-tabs", StatusTabs).select(status)
        table.show(self.rows(status), keep=kvm_id)
        table.select_register(kvm_id)
        self.render_detail()


def explaining_status(attempt: AttemptResult, counts: dict[Status, int]) -> Status | None:
    """The tab that explains the attempt's outcome: Extra when registers unknown on the
    destination failed the load, Missing when only missing ones are reported (QEMU only warns
    of them, and tolerated extra ones pass), Matched when only values differ."""
    sets = attempt.summary.registers
    if counts.get(Status.EXTRA) and sets.fatal:
        return Status.EXTRA
    if counts.get(Status.MISSING):
        return Status.MISSING
    if counts.get(Status.EXTRA):
        return Status.EXTRA
    if counts.get(Status.MATCHED) and sets.value_differs:
        return Status.MATCHED
    return None
