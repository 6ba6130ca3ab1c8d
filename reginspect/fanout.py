"""A report of one big log made by several processes, each reading a region of it to the end.

Each worker parses its region, builds its model, summarises and renders its attempts: nothing
but finished text and each distinct summary once crosses processes, through files in a private
temporary directory (the workers' places to cut are looked for in parallel first). Regions are
cut only where one QEMU
process has certainly finished with an attempt (after ``load of migration failed`` or another
line QEMU exits on, after libvirt's ``shutting down``, after a cleanup that follows a whole
stream, before libvirt's ``starting up``), so no attempt spans two regions and each region
reads as the file does. Workers leave each attempt's number open (a NUL, which the renderers
never write: log text is escaped); the main process numbers them in order while it copies the
regions' text out, then adds the fixes made from every summary (read once the workers are
gone, one region at a time).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import pickle
import struct
import tempfile
from array import array
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import IO, Final, NamedTuple

from parsers.bytesearch import count_newlines, find
from reginspect.analyze import Fixes, attempt_result, shared_parts, summarize
from reginspect.ingest import Ingest, worker_pool
from reginspect.inputs import read_range
from reginspect.model import Attempt, LineRef, Session
from reginspect.render import render_attempt
from reginspect.results import AttemptSummary, Report
from reginspect.scan import line_finder

# How far past an even cut a region may run to end where an attempt certainly ended, read a
# block at a time (memory stays small; a map would count every page it touched).
CUT_WINDOW: Final = 64 << 20
WINDOW_BLOCK: Final = 4 << 20
# More regions than workers: a worker that finishes early takes the next region, so regions
# of unequal cost (a dense stretch of the log beside a quiet one) still end together.
REGIONS_PER_WORKER: Final = 2
NUMBER: Final = "\x00"  # an attempt's number, left open by the worker that rendered it
# Summaries a worker recognises by value (the rest by a digest): a log repeats a few kinds.
RECENT_SUMMARIES: Final = 1024

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
_NO_LINE: Final = LineRef("", 0, 0)


class RegionReport(NamedTuple):
    """What a worker made of its region."""

    rendered: str  # the file of its attempts' rendered parts (empty when not rendering)
    distinct: str  # the file of its attempts' summaries, each once (see _standing_for)
    order: array[int]  # per attempt, in order: its summary's place in ``distinct``
    lines: int


class _Distinct:
    """A region's distinct summaries, each written once to a file as it is met: the recent
    ones are known by value, the others by a digest of their bytes, so a region of a million
    attempts of thousands of kinds holds none of them."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.recent: dict[AttemptSummary, int] = {}
        self.digests: dict[bytes, int] = {}

    def place(self, summary: AttemptSummary) -> int:
        place = self.recent.get(summary)
        if place is not None:
            return place
        data = pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.blake2b(data, digest_size=16).digest()
        place = self.digests.get(digest)
        if place is None:
            place = self.digests[digest] = len(self.digests)
            _write(self.out, data)
        if len(self.recent) >= RECENT_SUMMARIES:
            self.recent.clear()
        self.recent[summary] = place
        return place


def _standing_for(summary: AttemptSummary) -> AttemptSummary:
    """A summary without what makes an attempt itself (number, lines, time): what the fixes,
    the outcome counts and the session's facts read. A log of a million attempts has few
    distinct ones, and only those cross to the main process."""
    process = summary.process
    if process is not None:
        process = process._replace(line=_NO_LINE, time=None)
    return summary._replace(
        index=0, revision=0, first_line=0, last_line=0, time=None, process=process
    )


def _cut_after(data: bytes, base: int) -> int | None:
    """The first line start in ``data`` (which starts at byte ``base`` of the file, at a line
    start) where an attempt has certainly ended, as a file offset; None if there is none."""
    best: int | None = None
    for marker in _ENDS_AFTER:
        at = find(data, marker)
        if at != -1:
            end = data.find(b"\n", at)
            if end != -1 and (best is None or end + 1 < best):
                best = end + 1
    at = find(data, _STARTS_BEFORE)
    if at != -1:
        start = data.rfind(b"\n", 0, at) + 1
        if start > 0 and (best is None or start < best):
            best = start
    at = find(data, _CLEANUP)
    while at != -1 and (best is None or at < best):
        end = data.find(b"\n", at)
        if end == -1:
            break
        if data.rfind(_LOADED, max(at - 4096, 0), at) != -1:
            best = end + 1
            break
        at = find(data, _CLEANUP, end)
    return None if best is None else base + best


def cut_near(path: str, target: int) -> int | None:
    """The first place at or after the line start at or after ``target`` where an attempt has
    certainly ended, looked for a block at a time within CUT_WINDOW; None if there is none."""
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        stream.seek(max(target - 1, 0))
        stream.readline()
        position = stream.tell()
        while position < min(target + CUT_WINDOW, size):
            block = stream.read(WINDOW_BLOCK)
            last = block.rfind(b"\n") + 1  # whole lines: the rest is read again next time
            if last == 0:
                return None
            cut = _cut_after(block[:last], position)
            if cut is not None:
                return cut
            position += last
            stream.seek(position)
    return None


def attempt_cuts(path: str, parts: int, pool: Executor | None = None) -> list[int]:
    """Where ``path`` can be cut for ``parts`` workers (0, the cuts, the size): near even
    cuts, where attempts have certainly ended; just (0, size) when no such place is near.
    Each cut is looked for in ``pool`` when given: a window of a noisy log takes a while."""
    size = os.path.getsize(path)
    targets = [size * index // parts for index in range(1, parts)]
    paths = [path] * len(targets)
    found = (
        pool.map(cut_near, paths, targets) if pool is not None else map(cut_near, paths, targets)
    )
    cuts = [0]
    for cut in found:
        if cut is not None and cuts[-1] < cut < size:
            cuts.append(cut)
    cuts.append(size)
    return cuts


def _lines_before(path: str, offset: int) -> int:
    return sum(count_newlines(block) for block in read_range(path, 0, offset, WINDOW_BLOCK))


def _write(out: IO[bytes], data: bytes) -> None:
    out.write(_RECORD.pack(len(data)))
    out.write(data)


def report_region(
    path: str, name: str, start: int, end: int, form: str | None, matched: bool, directory: str
) -> RegionReport:
    """Read one region to its end, then summarise its attempts and render them (``form``:
    json, markdown, text, or None for summaries alone) into a file of records. The lines
    before the region are counted here: each worker counts its own share."""
    lines = _lines_before(path, start)
    session = Session()
    ingest = Ingest(session, name, start=start, lines=lines, finder=line_finder())
    builder = session.source(name)
    order = array("I")
    rendered = ""
    with contextlib.ExitStack() as stack:
        handle, summaries = tempfile.mkstemp(prefix="reginspect-", dir=directory)
        distinct = _Distinct(stack.enter_context(os.fdopen(handle, "wb")))
        out = None
        if form is not None:
            handle, rendered = tempfile.mkstemp(prefix="reginspect-", dir=directory)
            out = stack.enter_context(os.fdopen(handle, "wb"))

        def report(attempts: list[Attempt]) -> None:
            # As soon as nothing can change them: summarised, written and forgotten, so a
            # region of many attempts holds little more than the open one.
            for attempt in attempts:
                summary = summarize(attempt)
                order.append(distinct.place(_standing_for(summary)))
                if out is not None and form is not None:
                    result = attempt_result(attempt, summary)
                    text = render_attempt(result, form, matched=matched, number=NUMBER)
                    _write(out, text.encode("utf-8"))

        for chunk in read_range(path, start, end):
            ingest.feed(chunk)
            report(builder.take_finished())
        ingest.close()
        report(builder.take_finished())
    return RegionReport(rendered, summaries, order, session.line_count() - lines)


def _distinct(path: str, shared: dict[AttemptSummary, AttemptSummary]) -> list[AttemptSummary]:
    """A region's distinct summaries, as the equal ones other regions sent (regions send equal
    ones each: one object is kept of each)."""
    distinct = []
    for data in _records(path):
        # Written by our own worker into our private temporary directory, as the pool
        # pickles its results.
        summary = shared_parts(pickle.loads(data))  # noqa: S301
        distinct.append(shared.setdefault(summary, summary))
    os.unlink(path)
    return distinct


def _records(path: str) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        while header := stream.read(_RECORD.size):
            (size,) = _RECORD.unpack(header)
            yield stream.read(size)


class Fanned(NamedTuple):
    # Its attempts are empty: ``attempts`` has their rendered parts. Its summaries stand for
    # the attempts' differences, outcomes and QEMU: they carry no numbers, lines or times.
    report: Report
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
    with worker_pool(workers) as pool:
        cuts = attempt_cuts(path, workers * REGIONS_PER_WORKER, pool)
        if len(cuts) < 3:
            return None
        futures = [
            pool.submit(report_region, path, name, start, end, form, matched, directory)
            for start, end in itertools.pairwise(cuts)
        ]
        made = [future.result() for future in futures]
    # The regions' summaries are read once the workers are gone, one region at a time: one
    # reference per attempt to a shared summary (numbers, lines and times are in the rendered
    # attempts, not in these).
    shared: dict[AttemptSummary, AttemptSummary] = {}
    summaries = tuple(
        itertools.chain.from_iterable(
            map(_distinct(region.distinct, shared).__getitem__, region.order) for region in made
        )
    )
    report = Report((name,), summaries, (), tuple(fixes(summaries)))
    rendered = [region.rendered for region in made if region.rendered]

    def numbered() -> Iterator[str]:
        number = 0
        for path in rendered:
            for data in _records(path):
                yield data.decode("utf-8").replace(NUMBER, str(number), 1)
                number += 1
            os.unlink(path)

    return Fanned(report, numbered(), sum(region.lines for region in made))
