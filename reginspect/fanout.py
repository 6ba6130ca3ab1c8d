"""A report of one big log made by several processes, each reading a region of it to the end.

Each worker parses its region, builds its model, summarises and renders its attempts: nothing
but small summaries and finished text crosses processes. Regions are cut only where one QEMU
process has certainly finished with an attempt (after ``load of migration failed`` or another
line QEMU exits on, after libvirt's ``shutting down``, after a cleanup that follows a whole
stream, before libvirt's ``starting up``), so no attempt spans two regions and each region
reads as the file does. Workers leave each attempt's number open (a NUL, which the renderers
never write: log text is escaped); the main process numbers them in order while it copies the
regions' text out, then adds the fixes made from every summary.
"""

from __future__ import annotations

import itertools
import mmap
import os
import struct
import tempfile
from collections.abc import Iterator
from typing import IO, Final, NamedTuple

from parsers.bytesearch import count_newlines
from reginspect.analyze import Fixes, attempt_result, summarize
from reginspect.ingest import Ingest, worker_pool
from reginspect.model import Session
from reginspect.report import render_attempt
from reginspect.results import AttemptSummary, Report

# How far past an even cut a region may run to end where an attempt certainly ended.
CUT_WINDOW: Final = 64 << 20
NUMBER: Final = "\x00"  # an attempt's number, left open by the worker that rendered it

# A region may end after a line holding one of these: QEMU has finished with its attempt.
_ENDS_AFTER: Final = (
    b"load of migration failed",
    b"Failed to put registers after init",
    b"shutting down, reason=",
)
_STARTS_BEFORE: Final = b"starting up libvirt"
# A cleanup that follows the end of a whole stream closes its attempt too.
_CLEANUP: Final = b"loadvm_state_cleanup"
_LOADED: Final = b"qemu_loadvm_state_post_main 0"
_RECORD: Final = struct.Struct("<I")


class RegionReport(NamedTuple):
    """What a worker made of its region."""

    rendered: str  # the file of its attempts' rendered parts (empty when not rendering)
    summaries: list[AttemptSummary]  # numbered from 0 in the region
    lines: int


def _cut_after(data: mmap.mmap, target: int, limit: int) -> int | None:
    """The first line start at or after ``target`` (and before ``limit``) where an attempt has
    certainly ended, if any."""
    best: int | None = None
    for marker in _ENDS_AFTER:
        at = data.find(marker, target, limit)
        if at != -1:
            end = data.find(b"\n", at, limit)
            if end != -1 and (best is None or end + 1 < best):
                best = end + 1
    at = data.find(_STARTS_BEFORE, target, limit)
    if at != -1:
        start = data.rfind(b"\n", 0, at) + 1
        if start >= target and (best is None or start < best):
            best = start
    at = data.find(_CLEANUP, target, limit)
    while at != -1 and (best is None or at < best):
        end = data.find(b"\n", at, limit)
        if end == -1:
            break
        if data.rfind(_LOADED, max(at - 4096, 0), at) != -1:
            best = end + 1
            break
        at = data.find(_CLEANUP, end, limit)
    return best


def attempt_regions(path: str, parts: int) -> list[tuple[int, int, int]]:
    """Regions (start, end, lines before) of ``path`` for ``parts`` workers, cut where attempts
    have certainly ended; one region when no such place is near enough to the even cuts."""
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            return [(0, 0, 0)]
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            cuts = [0]
            for index in range(1, parts):
                target = max(cuts[-1], size * index // parts)
                cut = _cut_after(data, target, min(target + CUT_WINDOW, size))
                if cut is not None and cuts[-1] < cut < size:
                    cuts.append(cut)
            cuts.append(size)
            lines = 0
            regions = []
            for start, end in itertools.pairwise(cuts):
                regions.append((start, end, lines))
                for piece in range(start, end, 16 << 20):  # a map has no count(): in pieces
                    lines += count_newlines(data[piece : min(piece + (16 << 20), end)])
    return regions


def _write(out: IO[bytes], text: str) -> None:
    encoded = text.encode("utf-8")
    out.write(_RECORD.pack(len(encoded)))
    out.write(encoded)


def report_region(
    path: str,
    name: str,
    region: tuple[int, int, int],
    form: str | None,
    matched: bool,
    directory: str,
) -> RegionReport:
    """Read one region to its end, then summarise its attempts and render them (``form``:
    json, markdown, text, or None for summaries alone) into a file of records."""
    start, end, lines = region
    session = Session()
    ingest = Ingest(session, name, start=start, lines=lines)
    with open(path, "rb") as stream:
        stream.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = stream.read(min(1 << 20, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            ingest.feed(chunk)
    ingest.close()
    attempts = session.attempts()
    summaries = [summarize(attempt) for attempt in attempts]
    rendered = ""
    if form is not None:
        handle, rendered = tempfile.mkstemp(prefix="reginspect-", dir=directory)
        with os.fdopen(handle, "wb") as out:
            for attempt, summary in zip(attempts, summaries, strict=True):
                result = attempt_result(attempt, summary)
                _write(out, render_attempt(result, form, matched=matched, number=NUMBER))
                attempt.cpus.clear()  # its registers are written: let them go
    return RegionReport(rendered, summaries, session.line_count() - lines)


def _records(path: str) -> Iterator[str]:
    with open(path, "rb") as stream:
        while header := stream.read(_RECORD.size):
            (size,) = _RECORD.unpack(header)
            yield stream.read(size).decode("utf-8")


class Fanned(NamedTuple):
    report: Report  # its attempts are empty: ``attempts`` has their rendered parts
    attempts: Iterator[str]
    lines: int


def fan_out(
    path: str,
    name: str,
    workers: int,
    form: str | None,
    *,
    matched: bool,
    fixes: Fixes,
    directory: str,
) -> Fanned | None:
    """The report of ``path`` made by ``workers`` processes; None when the log has no place
    to cut it (one process then reads it)."""
    regions = attempt_regions(path, workers)
    if len(regions) < 2:
        return None
    with worker_pool(len(regions)) as pool:
        futures = [
            pool.submit(report_region, path, name, region, form, matched, directory)
            for region in regions
        ]
        made = [future.result() for future in futures]
    summaries: list[AttemptSummary] = []
    for region in made:
        first = len(summaries)
        summaries += [s._replace(index=first + i) for i, s in enumerate(region.summaries)]
    report = Report((name,), tuple(summaries), (), tuple(fixes(summaries)))

    def numbered() -> Iterator[str]:
        number = 0
        for region in made:
            if not region.rendered:
                continue
            for text in _records(region.rendered):
                yield text.replace(NUMBER, str(number), 1)
                number += 1
            os.unlink(region.rendered)

    return Fanned(report, numbered(), sum(region.lines for region in made))
