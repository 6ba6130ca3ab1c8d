"""The reginspect Textual application and ``create_app``, the factory the CLI and tests share.

Reader threads (Textual thread workers) feed the Session under the store's lock and post
``SessionChanged``; at most one such message waits at a time. The UI takes a new ``View`` of
the results at once; only a burst of changes is spread out, to ten a second.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from parsers import catalogue
from reginspect.commands.report import fix_options
from reginspect.errors import UserError
from reginspect.suggest import FixOptions
from reginspect.textsafe import printable
from tui.follow import POLL_INTERVAL, SourceReader, Watcher
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.store import SourceStatus, Store
from tui.view import EMPTY_VIEW, View, Viewer

# A token bucket: a few refreshes at once, then REFRESH_RATE a second while changes keep coming (a
# log rewritten a hundred times a second must leave room for the keys). A fixed interval instead
# made a change that came soon after another wait for the rest of it.
REFRESH_RATE = 10.0  # refreshes a second
REFRESH_BURST = 3.0  # refreshes at once
TOAST_INTERVAL = 3.0  # seconds between two "file changed" toasts, at most
READ = (SourceStatus.LIVE, SourceStatus.ENDED, SourceStatus.ERROR)  # a first read is over


class SessionChanged(Message):
    """A reader fed the session or a source changed state."""


class ReginspectApp(App[int]):
    """The app on ``logs`` (paths, or ``-`` for standard input), optionally two saved migration
    streams (source, destination) and what the command line says of the two ends for the
    fixes."""

    TITLE = "reginspect"
    CSS_PATH = ["app.tcss", "widgets.tcss"]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("p", "pause", "Pause"),
        Binding("P", "plan", "Plan", show=False),
    ]

    def __init__(
        self,
        logs: Sequence[str],
        *,
        poll: bool = False,
        stdin_fd: int | None = None,
        streams: Sequence[str] = (),
        fix_options: FixOptions | None = None,
    ) -> None:
        super().__init__()
        self.logs = list(logs)
        self.streams = list(streams)
        self.poll = poll
        self.store = Store(self.logs)
        self.stop_event = threading.Event()
        self.readers = [
            SourceReader(
                self.store,
                source,
                self._reader_changed,
                self.stop_event,
                poll=poll,
                stdin_fd=stdin_fd,
            )
            for source in self.store.sources.values()
        ]
        self.watcher: Watcher | None = None
        self.paused = False
        self.view: View = EMPTY_VIEW
        self._dirty = threading.Event()
        self._refresh_timer: Timer | None = None
        self._tokens = REFRESH_BURST
        self._tokens_at = 0.0
        self.viewer = Viewer(self.store, fix_options)
        self._frozen = False
        # What happened to the files, told in one toast every TOAST_INTERVAL at most: a log
        # rewritten a hundred times a second must not bury the screen (and the keys) in toasts.
        self._notices: Counter[str] = Counter()
        self._last_toast = -TOAST_INTERVAL
        self._toast_timer: Timer | None = None
        self.main = MainScreen(self.store)

    # -- start and stop -----------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return self.main

    def on_mount(self) -> None:
        polled: set[SourceReader] = set(self.readers)
        if not self.poll:
            self.watcher = Watcher(self.readers)
            polled = self.watcher.start()
        for reader in polled:
            reader.interval = POLL_INTERVAL
        for reader in self.readers:
            self.run_worker(
                reader.run,
                name=f"read {reader.source.name}",
                group="readers",
                thread=True,
                exit_on_error=False,
            )
        # The register names load off the UI thread: the first named register does not wait.
        self.run_worker(catalogue.load, name="warm up", thread=True, exit_on_error=False)
        if self.streams:
            self.run_worker(self._load_streams, name="streams", thread=True, exit_on_error=False)
        self.call_after_refresh(self.refresh_view)

    def _load_streams(self) -> None:
        """--stream SRC --stream DST: the registers both saved streams carry, completing the
        log's attempt they describe (see reginspect.analyze.StreamsMerge)."""
        from reginspect.analyze import StreamsMerge
        from reginspect.errors import UserError
        from reginspect.streams import compare_files

        if len(self.streams) != 2:
            notes = ["give --stream twice: the source's saved stream, then the destination's."]
        else:
            try:
                attempt, notes = compare_files(self.streams[0], self.streams[1])
            except UserError as error:
                notes = [error.message]
            else:
                with self.store.lock:
                    self.store.streams = StreamsMerge(attempt)
        with self.store.lock:
            self.store.notices.extend(notes)
        self._reader_changed()

    def on_unmount(self) -> None:
        self.shutdown_readers()
        if self._frozen:
            gc.unfreeze()  # another app in this process (tests) must not keep this one alive

    def shutdown_readers(self) -> None:
        self.stop_event.set()
        for reader in self.readers:
            reader.wake.set()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    # -- refresh ------------------------------------------------------------------------------

    def _reader_changed(self) -> None:
        """Called on reader threads: one message in flight at a time, however fast they read."""
        if not self._dirty.is_set():
            self._dirty.set()
            self.post_message(SessionChanged())

    def on_session_changed(self, message: SessionChanged) -> None:
        if self._refresh_timer is not None:
            return
        wait = (1.0 - self._refill()) / REFRESH_RATE
        if wait <= 0:
            self.refresh_view()
        else:
            self._refresh_timer = self.set_timer(wait, self.refresh_view)

    def _refill(self) -> float:
        now = time.monotonic()
        self._tokens = min(self._tokens + (now - self._tokens_at) * REFRESH_RATE, REFRESH_BURST)
        self._tokens_at = now
        return self._tokens

    def refresh_view(self) -> None:
        self._refresh_timer = None
        self._dirty.clear()  # before reading: anything fed from now on posts again
        self._tokens = max(self._refill() - 1.0, 0.0)
        with self.store.lock:
            notices = list(self.store.notices)
            self.store.notices.clear()
        self._notices.update(printable(notice) for notice in notices)
        self._tell_notices()
        if self.paused and self.view is not EMPTY_VIEW:
            return
        if not self.main.is_mounted:
            self.call_after_refresh(self.refresh_view)
            return
        self.view = self.viewer.build()
        with contextlib.suppress(NoMatches):  # the app is closing: its widgets are gone
            self.main.show_view(self.view, self.paused)
        if not self._frozen and all(s.status in READ for s in self.view.sources):
            # Every file was read once: what exists now (Textual's widgets, the catalogue, the
            # session) lives long. Out of the collector's sight, a full collection (which stops
            # the UI thread) scans only what came later: 30-110 ms instead of 100-300 ms.
            gc.freeze()
            self._frozen = True

    def _tell_notices(self) -> None:
        if not self._notices or self._toast_timer is not None:
            return
        wait = self._last_toast + TOAST_INTERVAL - time.monotonic()
        if wait > 0:
            self._toast_timer = self.set_timer(wait, self._toast_now)
            return
        items = list(self._notices.items())
        self._notices.clear()
        lines = [text if count == 1 else f"{text} ({count} times)" for text, count in items[-3:]]
        if len(items) > 3:
            lines.insert(0, f"and {len(items) - 3} other changes:")
        self.notify("\n".join(lines), title="File changed", markup=False)
        self._last_toast = time.monotonic()

    def _toast_now(self) -> None:
        self._toast_timer = None
        self._tell_notices()

    # -- actions ------------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.notify("Paused: the files are still read." if self.paused else "Live.", markup=False)
        self.main.query_one("#header").paused = self.paused  # type: ignore[attr-defined]
        if not self.paused:
            self.refresh_view()

    def action_plan(self) -> None:
        """``P``: the two saved streams as a plan of two host configurations (reginspect plan):
        both directions, and the one fix that makes both migrate."""
        from reginspect.errors import UserError
        from reginspect.plan import PlanOptions, plan_files
        from tui.screens.plan import PlanScreen

        if len(self.streams) != 2:
            self.notify(
                "P plans both directions between two saved streams: start with "
                "--stream SRC --stream DST.",
                severity="warning",
                markup=False,
            )
            return
        source, destination = self.streams
        fixes = self.viewer.options
        options = PlanOptions(have=fixes.have, machine=fixes.dst_machine or fixes.src_machine)
        try:
            plan = plan_files([f"source={source}", f"destination={destination}"], options)
        except UserError as error:
            self.notify(printable(error.message), severity="error", markup=False)
            return
        self.push_screen(PlanScreen(plan))

    async def action_quit(self) -> None:
        self.exit(0)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = self.main
        yield SystemCommand(
            "Show registers",
            "The registers of the selected attempt",
            lambda: main.action_view("registers"),
        )
        yield SystemCommand(
            "Show suggestions",
            "The property values that fix it",
            lambda: main.action_view("suggestions"),
        )
        yield SystemCommand(
            "Show raw log", "The log, relevant lines highlighted", lambda: main.action_view("log")
        )
        yield SystemCommand("Next failed attempt", "From any pane", lambda: main.action_failure(1))
        yield SystemCommand(
            "Previous failed attempt", "From any pane", lambda: main.action_failure(-1)
        )
        yield SystemCommand(
            "Filter attempts", "All, only failed, only succeeded", main.action_attempt_filter
        )
        yield SystemCommand(
            "Pause or resume", "Freeze the screen; the files are still read", self.action_pause
        )
        yield SystemCommand("Jump to the register's line", "In the raw log", main.action_jump)
        yield SystemCommand(
            "Sort registers by the next column", "status, name, id, kind…", main.action_sort
        )
        yield SystemCommand("Search", "Registers or log text", main.action_search)
        yield SystemCommand("Keys", "Every key of reginspect", self.action_help)


# The factory the CLI and the tests share: the constructor itself, so that the two cannot
# drift apart.
create_app = ReginspectApp


def _free_stdin_for_keys() -> int:
    """``reginspect -``: the log arrives on fd 0, but Textual reads keys from fd 0. Keep the pipe
    on another descriptor and put the terminal on 0."""
    try:
        tty = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        raise UserError(
            "-: the TUI reads its keys from a terminal and this process has none; "
            "`reginspect report -` reads a pipe without one."
        ) from None
    pipe = os.dup(0)
    os.dup2(tty, 0)
    os.close(tty)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's stdin, never closed
    return pipe


def run_app(args: argparse.Namespace) -> int:
    logs = list(args.logs)
    stdin_fd = None
    if "-" in logs and not os.isatty(0):
        stdin_fd = _free_stdin_for_keys()
    app = create_app(
        logs,
        poll=args.poll,
        stdin_fd=stdin_fd,
        streams=args.stream,
        fix_options=fix_options(args),
    )
    try:
        result = app.run()
    finally:
        app.shutdown_readers()
    return 0 if result is None else result
