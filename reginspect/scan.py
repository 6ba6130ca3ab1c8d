"""The parser's candidate-line search in one pass over all needles, where a library allows it.

``parsers`` stays standard-library only, so its default ``MemmemFinder`` makes one ``memmem``
pass per needle (1.3 s of CPU per GiB of trace log with ten needles, growing with each needle
added). ``ahocorasick-rs`` finds every needle in one SIMD pass (Teddy, leftmost-first) at about
5 GB/s whatever their number; its matches are turned into line starts here. Where it is not
installed or its compiled part does not load, the memmem finder is used: same answers, slower.
See the Performance section of README.md for the comparison with Hyperscan and pyahocorasick.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from parsers.bytesearch import LineFinder, MemmemFinder, check_needles, clamp
from parsers.logshapes import NEEDLES


class AhoCorasickFinder:
    """Every needle in one pass of ``ahocorasick_rs.BytesAhoCorasick``."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        # Imported here, not at the top: only the processes that search big inputs pay for it.
        import ahocorasick_rs

        self.needles = check_needles(needles)
        # Leftmost-first (not standard) matching is what lets the library use its SIMD search.
        # It reports non-overlapping matches only, but as no needle spans a newline, every line
        # holding a needle still gets a match that starts in it.
        automaton = ahocorasick_rs.BytesAhoCorasick(
            self.needles, matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
        )
        self._find = automaton.find_matches_as_indexes

    def line_starts(self, buf: bytes, start: int, end: int) -> list[int]:
        start, end = clamp(buf, start, end)
        found: list[int] = []
        line_end = -1
        # A memoryview slice: the library reads the chunk in place, and releases the GIL.
        for _, at, _ in self._find(memoryview(buf)[start:end]):
            at += start
            if at < line_end:
                continue  # this line is already in
            found.append(max(buf.rfind(b"\n", start, at) + 1, start))
            line_end = buf.find(b"\n", at, end)
            if line_end == -1:
                line_end = end
        return found


@functools.cache
def line_finder(needles: tuple[bytes, ...] = NEEDLES) -> LineFinder:
    """The fastest finder this machine can build for ``needles`` (once per process)."""
    try:
        return AhoCorasickFinder(needles)
    except ImportError:  # not installed, or its compiled part does not load on this machine
        return MemmemFinder(needles)
