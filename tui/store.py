"""What the reader threads and the UI share: the Session, each source's state, one lock.

Reader threads feed the Session and the line index under ``Store.lock``; the UI takes the same
lock to copy what it shows (model objects are mutated in place by the readers, so nothing of
them is kept outside the lock).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field

from reginspect.analyze import StreamsMerge
from reginspect.ingest import Ingest
from reginspect.inputs import describe_source
from reginspect.model import Session
from reginspect.textsafe import printable
from tui.lineindex import LineIndex, read_line_at


class SourceStatus(enum.StrEnum):
    WAITING = "waiting"  # the file does not exist yet
    READING = "reading"  # the first read of what was there
    LIVE = "live"  # read to the end, following
    DELETED = "deleted"  # the path went away; waiting for it to come back
    ENDED = "ended"  # a pipe closed, or a compressed file read whole
    ERROR = "error"


@dataclass
class Source:
    name: str  # the Session's name for it (the path as given, or "standard input")
    path: str  # "-" for standard input
    status: SourceStatus = SourceStatus.WAITING
    message: str = ""
    index: LineIndex = field(default_factory=LineIndex)
    ingest: Ingest | None = None  # the path from its bytes to the session (set by the Store)
    fd: int | None = None  # where the view reads lines from: the file itself, or a spool
    total: int = 0  # bytes to read in the first read (for the progress bar)
    done: int = 0
    epoch: int = 0  # bumped when the content is replaced (truncated, rotated, re-created)
    compressed: str | None = None
    resets: int = 0


class Store:
    def __init__(self, paths: list[str]) -> None:
        self.lock = threading.RLock()
        self.session = Session()
        self.sources: dict[str, Source] = {}
        self.notices: list[str] = []  # what happened to the files, for the UI to tell once
        # Saved migration streams (--stream SRC --stream DST), compared: kept beside the Session
        # (whose attempts() would merge a trace-less source into a traced log's attempt); they
        # complete the log's attempt they describe (StreamsMerge), or stand alone until the log
        # has one.
        self.streams: StreamsMerge | None = None
        for path in paths:
            name = describe_source(path)
            if name in self.sources:
                continue  # given twice: followed once
            source = Source(name, path)
            # Made now: fixes the order of sources in the session.
            source.ingest = Ingest(self.session, name, source.index)
            self.sources[name] = source

    def reset_source(self, source: Source) -> None:
        """The source's content was replaced: forget what was read (call under the lock)."""
        assert source.ingest is not None
        source.ingest.reset()
        source.epoch += 1
        source.resets += 1
        source.done = 0

    def read_lines(self, name: str, first: int, count: int) -> list[tuple[int, str]]:
        """Lines ``first``.. of a source as (line number, printable text)."""
        with self.lock:
            source = self.sources.get(name)
            if source is None or source.fd is None:
                return []
            try:
                raw = source.index.read_lines(source.fd, first, count)
            except OSError:
                return []
        return [
            (first + number, printable(data.decode("utf-8", "backslashreplace").rstrip("\r")))
            for number, (_, data) in enumerate(raw)
        ]

    def line_at(self, name: str, offset: int) -> str | None:
        """The line starting at ``offset`` (a LineRef's), printable; None if unreadable."""
        with self.lock:
            source = self.sources.get(name)
            if source is None or source.fd is None or offset >= source.index.size:
                return None
            try:
                data = read_line_at(source.fd, offset)
            except OSError:
                return None
        return printable(data.decode("utf-8", "backslashreplace").rstrip("\r"))

    def line_count(self, name: str) -> int:
        with self.lock:
            source = self.sources.get(name)
            return 0 if source is None else source.index.line_count
