"""Reading inputs into a Session: the only place in the core that does file I/O for logs.

A large plain file is cut at line boundaries into one region per core; each region is parsed
in its own process and the events are applied in file order, line numbers shifted. The parser
keeps no state across lines but a libvirt command-line block, and cuts never fall inside one.
The TUI cuts its first read of a big file finer, for progress, and builds its line index in
the same pass.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Protocol

from parsers.logevents import LogEvent
from parsers.logparse import MAX_LINE, LogParser, joins_next_line
from reginspect.errors import UserError
from reginspect.inputs import CHUNK_SIZE, compression_of, describe_source, open_binary, read_chunks
from reginspect.model import Session
from reginspect.scan import line_finder

Progress = Callable[[str, int], None]

# Below this size one process is faster than starting workers.
PARALLEL_MIN_SIZE = 96 << 20
REGION_CHUNK = 4 << 20


def source_name(path: str) -> str:
    return describe_source(path)


def parallel_workers(path: str) -> int:
    """How many processes should parse ``path``: one per core for a big plain file, else 1."""
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
    return max(1, min(cores or 1, 8)) if size >= PARALLEL_MIN_SIZE else 1


def _worker_pool(workers: int) -> ProcessPoolExecutor:
    # fork is cheapest, but unsafe once other threads run (the TUI's): then spawn.
    method = "fork" if threading.active_count() == 1 else "spawn"
    return ProcessPoolExecutor(workers, mp_context=get_context(method))


def _ready() -> None:
    """A task that only makes a worker start and import this module."""


def start_workers(workers: int) -> ProcessPoolExecutor:
    """Worker processes for parse_in_regions, started now: they take a moment to start, and
    cannot start at all later under a UI that replaced ``sys.stderr`` (Textual's has no file
    descriptor)."""
    pool = _worker_pool(workers)
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
    """Something else built from a region's bytes in the same pass (the TUI's line index).

    It travels to the worker process and back, so it must pickle."""

    def feed(self, data: bytes) -> None: ...


@dataclasses.dataclass
class Region:
    """One region's share of the parse: its events (line numbers from 1), its line count."""

    start: int
    end: int
    events: list[LogEvent]
    lines: int
    sink: ChunkSink | None


def parse_region(path: str, start: int, end: int, sink: ChunkSink | None = None) -> Region:
    """Parse bytes ``start``..``end`` of ``path`` (whole lines), feeding ``sink`` too."""
    # Built in the worker process (once per process): nothing unpicklable travels to it.
    parser = LogParser(start_offset=start, finder=line_finder())
    events: list[LogEvent] = []
    with open(path, "rb") as stream:
        stream.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = stream.read(min(REGION_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            events.extend(parser.feed(chunk))
            if sink is not None:
                sink.feed(chunk)
    events.extend(parser.close())
    return Region(start, end, events, parser.lines, sink)


def _shift(events: list[LogEvent], lines: int) -> list[LogEvent]:
    return (
        [dataclasses.replace(event, line=event.line + lines) for event in events]
        if lines
        else events
    )


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
        pool = _worker_pool(min(workers, len(bounds)))
    futures = [pool.submit(parse_region, path, a, b, sink() if sink else None) for a, b in bounds]
    # The workers run from here on, before the first region is asked for.
    return _in_order(futures, pool if own_pool else None)


def _in_order(
    futures: list[Future[Region]], own_pool: ProcessPoolExecutor | None
) -> Generator[Region, None, None]:
    try:
        done_lines = 0
        for future in futures:
            region = future.result()
            region.events = _shift(region.events, done_lines)
            done_lines += region.lines
            yield region
    finally:
        for future in futures:
            future.cancel()
        if own_pool is not None:
            own_pool.shutdown(wait=True)


def _load_parallel(
    session: Session,
    name: str,
    path: str,
    workers: int,
    progress: Progress | None,
    started: Callable[[], None],
) -> None:
    builder = session.source(name)
    regions = parse_in_regions(path, workers)
    started()
    for region in regions:
        builder.apply_region(region.events, region.lines, region.end - region.start)
        if progress is not None:
            progress(name, region.end)
    session.generation += 1


def load_logs(
    paths: Sequence[str],
    progress: Progress | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[Session, list[str]]:
    """Parse every log into one session; returns it with the problems met while reading.

    ``meanwhile`` runs in a thread while the first log is read: once its worker processes run,
    if it has some (a thread started before them would make them spawn rather than fork).
    A damaged compressed file still contributes what was read before the damage.
    """
    waiting = [meanwhile] if meanwhile is not None else []

    def start_meanwhile() -> None:
        if waiting:
            threading.Thread(target=waiting.pop(), daemon=True).start()

    session = Session()
    problems: list[str] = []
    seen: set[str] = set()
    for path in paths:
        name = source_name(path)
        key = os.path.realpath(path) if path != "-" else path
        if key in seen:
            problems.append(f"{name}: given twice; read once.")
            continue
        seen.add(key)
        stream = open_binary(path)
        try:
            workers = parallel_workers(path)
            if workers > 1:
                _load_parallel(session, name, path, workers, progress, start_meanwhile)
                continue
            start_meanwhile()
            done = 0
            for chunk in read_chunks(stream, path, CHUNK_SIZE):
                session.feed(name, chunk)
                done += len(chunk)
                if progress is not None:
                    progress(name, done)
        except UserError as error:
            problems.append(error.message)
        finally:
            if path != "-":
                stream.close()
            session.close(name)
    return session, problems
