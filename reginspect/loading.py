"""Reading inputs into a Session: the only place in the core that does file I/O for logs.

A large plain file is cut at line boundaries into one region per core; each region is parsed
in its own process and the events are applied in file order, line numbers shifted. The parser
keeps no state across lines but a libvirt command-line block, and cuts never fall inside one.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from parsers.logevents import LogEvent
from parsers.logparse import LogParser
from reginspect.errors import UserError
from reginspect.inputs import CHUNK_SIZE, compression_of, describe_source, open_binary, read_chunks
from reginspect.model import Session

Progress = Callable[[str, int], None]

# Below this size one process is faster than starting workers.
PARALLEL_MIN_SIZE = 96 << 20
REGION_CHUNK = 4 << 20


def source_name(path: str) -> str:
    return describe_source(path)


def _parallel_workers(path: str) -> int:
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


def _region_bounds(path: str, parts: int, end: int | None = None) -> list[tuple[int, int]]:
    """Cut points at line starts, never inside a libvirt command-line block (lines ending in \\).

    ``end`` (default: the file's size) must be a line start.
    """
    size = os.path.getsize(path) if end is None else end
    cuts = [0]
    with open(path, "rb") as stream:
        for index in range(1, parts):
            position = max(cuts[-1], size * index // parts)
            stream.seek(position)
            while True:
                line = stream.readline()
                position += len(line)
                if not line or not line.rstrip(b"\r\n").endswith(b"\\"):
                    break
            if cuts[-1] < position < size:
                cuts.append(position)
    cuts.append(size)
    return list(itertools.pairwise(cuts))


def parse_region(path: str, start: int, end: int) -> tuple[list[LogEvent], int]:
    """Parse bytes ``start``..``end`` of ``path`` (whole lines); line numbers start at 1."""
    parser = LogParser(start_offset=start)
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
    events.extend(parser.close())
    return events, parser.lines


def _shift(events: list[LogEvent], lines: int) -> list[LogEvent]:
    return (
        [dataclasses.replace(event, line=event.line + lines) for event in events]
        if lines
        else events
    )


def parse_in_regions(
    path: str, workers: int, end: int | None = None
) -> Iterator[tuple[list[LogEvent], int, int]]:
    """Parse the first ``end`` bytes of a plain file (whole lines) in ``workers`` processes.

    Yields, in file order, each region's events (line numbers already shifted), its line
    count and its end offset. For the CLI and for the TUI's first read of a big file.
    """
    bounds = _region_bounds(path, workers, end)
    # fork is cheapest, but unsafe once other threads run (the TUI's): then spawn.
    method = "fork" if threading.active_count() == 1 else "spawn"
    with ProcessPoolExecutor(len(bounds), mp_context=get_context(method)) as pool:
        futures = [pool.submit(parse_region, path, start, stop) for start, stop in bounds]
        done_lines = 0
        for (_, stop), future in zip(bounds, futures, strict=True):
            events, lines = future.result()
            yield _shift(events, done_lines), lines, stop
            done_lines += lines


def _load_parallel(
    session: Session, name: str, path: str, workers: int, progress: Progress | None
) -> None:
    builder = session.source(name)
    start = 0
    for events, lines, stop in parse_in_regions(path, workers):
        builder.apply_region(events, lines, stop - start)
        start = stop
        if progress is not None:
            progress(name, stop)
    session.generation += 1


def load_logs(paths: Sequence[str], progress: Progress | None = None) -> tuple[Session, list[str]]:
    """Parse every log into one session; returns it with the problems met while reading.

    A damaged compressed file still contributes what was read before the damage.
    """
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
            workers = _parallel_workers(path)
            if workers > 1:
                _load_parallel(session, name, path, workers, progress)
                continue
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
