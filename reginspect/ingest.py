"""The one path from a source's bytes to the model: ``Ingest``.

An ``Ingest`` feeds one source's bytes to the parser, applies the events to the session, and
feeds the same bytes to an optional sink built in the same pass (the TUI's line index). The
commands read each input once (``read_once``); the TUI follows files and hands each new piece
to the same ``Ingest`` (``tui/follow.py`` only watches the file system).

A large plain file is first cut at line boundaries into regions, each parsed in its own process;
the events are applied in file order, line numbers shifted. The parser keeps no state across
lines but a libvirt command-line block, and cuts never fall inside one.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from parsers.bytesearch import LineFinder
from parsers.logevents import LogEvent
from parsers.logparse import LogParser, joins_next_line
from parsers.logshapes import MAX_LINE
from reginspect.errors import UserError
from reginspect.inputs import (
    CHUNK_SIZE,
    compression_of,
    describe_source,
    open_binary,
    read_chunks,
    read_range,
)
from reginspect.model import Session
from reginspect.scan import line_finder

if TYPE_CHECKING:  # the pools are imported when a big file needs them: 30 ms of start-up
    from concurrent.futures import Future, ProcessPoolExecutor

Progress = Callable[[str, int], None]

_new = tuple.__new__  # an event from all its fields, without its class's Python __new__
# Below this size one process is faster than starting workers.
PARALLEL_MIN_SIZE = 96 << 20
# The same for a report made by workers each reading a region to the end (reginspect.fanout):
# they pass each other little, so they pay off sooner.
FANOUT_MIN_SIZE = 8 << 20
REGION_CHUNK = 4 << 20
# A region parsed by a worker for read_logs: its events are sent back whole, and a few regions'
# wait at once. A MiB of register lines is some 5 000 events (a million distinct ids in one
# attempt: 160 → 71 MB over three processes against 4 MiB regions); a MiB of trace noise costs
# a task's overhead (a 1 GiB single-attempt trace: about 0.2 s more).
REGION_SIZE = 1 << 20


def parallel_workers(path: str) -> int:
    """How many processes should parse ``path``: one per core for a big plain file, else 1."""
    return _workers_for(path, PARALLEL_MIN_SIZE)


def _workers_for(path: str, min_size: int) -> int:
    if path == "-" or not os.path.isfile(path):
        return 1
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as head:
            if compression_of(head.read(8)) is not None:
                return 1
    except OSError:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8)) if size >= min_size else 1


def fanout_workers(path: str) -> int:
    """How many processes should each report a region of ``path`` (reginspect.fanout): one per
    core for a big plain file, else 1."""
    return _workers_for(path, FANOUT_MIN_SIZE)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # fork is cheapest, but unsafe once other threads run (the TUI's): then spawn.
    method = "fork" if threading.active_count() == 1 else "spawn"
    return ProcessPoolExecutor(workers, mp_context=get_context(method))


def _ready() -> None:
    """A task that only makes a worker start and import this module."""


def start_workers(workers: int) -> ProcessPoolExecutor:
    """Worker processes for parse_in_regions, started now: they take a moment to start, and
    cannot start at all later under a UI that replaced ``sys.stderr`` (Textual's has no file
    descriptor)."""
    pool = worker_pool(workers)
    for _ in range(workers):
        pool.submit(_ready)
    return pool


def _region_bounds(path: str, parts: int, end: int | None = None) -> list[tuple[int, int]]:
    """Cut points at line starts, never where the parser joins a line to the next.

    ``end`` (default: the file's size) must be a line start.
    """
    size = os.path.getsize(path) if end is None else end
    cuts = [0]
    with open(path, "rb") as stream:
        for index in range(1, parts):
            target = max(cuts[-1], size * index // parts, 1)
            stream.seek(target - 1)
            stream.readline()  # to the first line start at or after target
            position = stream.tell()
            back = min(position, MAX_LINE)
            stream.seek(position - back)
            previous = stream.read(back)
            previous = previous[previous.rfind(b"\n", 0, len(previous) - 1) + 1 :]
            while position < size and joins_next_line(previous):
                previous = stream.readline()
                if not previous:
                    break  # the file shrank under us
                position += len(previous)
            if cuts[-1] < position < size:
                cuts.append(position)
    cuts.append(size)
    return list(itertools.pairwise(cuts))


class ChunkSink(Protocol):
    """Something else built from a source's bytes in the same pass (the TUI's line index).

    A region's sink travels to the worker process and back, so it must pickle."""

    def feed(self, data: bytes) -> None: ...

    def extend(self, other: Any) -> None:
        """Add what another sink was fed, the bytes that follow this one's."""

    def reset(self) -> None: ...


class Region(NamedTuple):
    """One region's share of the parse: its events (line numbers from 1), its line count."""

    start: int
    end: int
    events: Iterable[LogEvent]  # a list from the worker, shifted as it is applied
    lines: int
    sink: ChunkSink | None


def parse_region(path: str, start: int, end: int, sink: ChunkSink | None = None) -> Region:
    """Parse bytes ``start``..``end`` of ``path`` (whole lines), feeding ``sink`` too."""
    # Built in the worker process (once per process): nothing unpicklable travels to it.
    parser = LogParser(start_offset=start, finder=line_finder())
    events: list[LogEvent] = []
    for chunk in read_range(path, start, end, REGION_CHUNK):
        events.extend(parser.feed(chunk))
        if sink is not None:
            sink.feed(chunk)
    events.extend(parser.close())
    return Region(start, end, events, parser.lines, sink)


def _shifted(events: Iterable[LogEvent], lines: int) -> Iterator[LogEvent]:
    """The events, ``lines`` further down, made as they are applied: a region's events are
    not held twice."""
    for event in events:
        yield _new(type(event), (event[0] + lines, *event[1:]))


def parse_in_regions(
    path: str,
    workers: int,
    end: int | None = None,
    *,
    parts: int | None = None,
    sink: Callable[[], ChunkSink] | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> Generator[Region, None, None]:
    """Parse the first ``end`` bytes of a plain file (whole lines) in ``workers`` processes
    (``pool``'s, if given: it is left running), cut in ``parts`` regions (default: one per
    worker; more give earlier, finer progress).

    Yields the regions in file order, their events' line numbers already shifted. Closing the
    iterator early cancels the regions not started.
    """
    bounds = _region_bounds(path, parts or workers, end)
    own_pool = pool is None
    if pool is None:
        pool = worker_pool(min(workers, len(bounds)))
    jobs = ((path, a, b, sink() if sink else None) for a, b in bounds)
    # The workers run from here on, before the first region is asked for; no more regions are
    # in flight than keep them busy, so parsed events wait in memory for few regions at once.
    futures = deque(pool.submit(parse_region, *job) for job in itertools.islice(jobs, workers + 1))
    return _in_order(futures, jobs, pool, own_pool)


def _in_order(
    futures: deque[Future[Region]],
    jobs: Iterator[tuple[str, int, int, ChunkSink | None]],
    pool: ProcessPoolExecutor,
    own_pool: bool,
) -> Generator[Region, None, None]:
    try:
        done_lines = 0
        while futures:
            region = futures.popleft().result()
            job = next(jobs, None)
            if job is not None:
                futures.append(pool.submit(parse_region, *job))
            if done_lines:
                region = region._replace(events=_shifted(region.events, done_lines))
            done_lines += region.lines
            yield region
    finally:
        for future in futures:
            future.cancel()
        if own_pool:
            pool.shutdown(wait=True)


class Ingest:
    """One source's bytes into the session (and into ``sink``), in order."""

    def __init__(
        self,
        session: Session,
        name: str,
        sink: ChunkSink | None = None,
        *,
        start: int = 0,
        lines: int = 0,
        finder: LineFinder | None = None,
    ) -> None:
        """``start``, ``lines``: where the first byte fed is in the source, and how many lines
        come before it (a region read alone); ``finder``: the parser's search for candidate
        lines (reginspect.scan's for big inputs)."""
        self.session = session
        self.name = name
        self.sink = sink
        builder = session.source(name)
        if start or lines or finder is not None:
            builder.parser = LogParser(start_offset=start, finder=finder)
            builder.parser.skip(lines, 0)

    def feed(self, data: bytes) -> int:
        """The next bytes of the source; returns how many events they made."""
        count = self.session.feed(self.name, data)
        if self.sink is not None:
            self.sink.feed(data)
        return count

    def take(self, region: Region) -> None:
        """A region parsed elsewhere (``parse_in_regions``): the bytes that come next."""
        self.session.apply_region(self.name, region.events, region.lines, region.end - region.start)
        if self.sink is not None and region.sink is not None:
            self.sink.extend(region.sink)

    def close(self) -> None:
        """The source ended: nothing more will come."""
        self.session.close(self.name)

    def reset(self) -> None:
        """The source's content was replaced: forget it, to read it again from the start."""
        self.session.reset(self.name)
        if self.sink is not None:
            self.sink.reset()


def read_logs(paths: Sequence[str], progress: Progress | None = None) -> tuple[Session, list[str]]:
    """Read every log once, whole, into one session; returns it with the problems met while
    reading.

    A damaged compressed file still contributes what was read before the damage.
    """
    session = Session()
    problems: list[str] = []
    seen: set[str] = set()
    for path in paths:
        name = describe_source(path)
        key = os.path.realpath(path) if path != "-" else path
        if key in seen:
            problems.append(f"{name}: given twice; read once.")
            continue
        seen.add(key)
        ingest = Ingest(session, name)
        stream = open_binary(path)
        try:
            workers = parallel_workers(path)
            if workers > 1:
                # Regions of REGION_SIZE: the events of only a few wait in memory at once.
                parts = max(workers, os.path.getsize(path) // REGION_SIZE)
                regions = parse_in_regions(path, workers, parts=parts)
                for region in regions:
                    ingest.take(region)
                    if progress is not None:
                        progress(name, region.end)
                continue
            done = 0
            for chunk in read_chunks(stream, path, CHUNK_SIZE):
                ingest.feed(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(name, done)
        except UserError as error:
            problems.append(error.message)
        finally:
            if path != "-":
                stream.close()
            ingest.close()
    return session, problems
