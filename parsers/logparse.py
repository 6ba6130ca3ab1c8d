"""Sans-I/O parser of QEMU migration logs: ``feed(bytes)`` in any chunking, ``close()``, events out.

It never raises on input. Lines are found in two stages so that gigabyte trace logs stay cheap:
``candidate_lines`` picks, with C-speed byte searches, the few lines that can matter (most of a
big log is ``ram_load_loop`` noise); only those are decoded and read by ``parsers.logshapes``.
Other lines are only counted. The one state kept across lines is a libvirt command-line block,
read whole after its header.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import functools
import re
from collections.abc import Callable
from typing import Any, Final, NamedTuple, cast

from parsers.bytesearch import LineFinder, count_newlines, line_starts
from parsers.logevents import (
    OF_THE_LINE,
    OF_THE_MESSAGE_ALONE,
    CommandLineSeen,
    LineEvent,
    LogEvent,
    MessageKind,
)
from parsers.logshapes import (
    LIBVIRT_HEADER,
    MAX_LINE,
    NEEDLES,
    command_line_options,
    decode_line,
    parse_line,
    read_line,
)

# libvirt writes the QEMU command line after its header, one option a line ending in " \".
MAX_COMMAND_LINE_LINES: Final = 400
# Searching each needle through a piece costs little but every hit costs a few microseconds; a
# piece with a candidate line every this many bytes or closer is cut into lines instead.
DENSE_BYTES: Final = 1024
# Distinct message bodies remembered (a log of random register keys must not grow it forever;
# a real one repeats a few hundred).
MAX_KNOWN: Final = 1 << 12
_new: Final = tuple.__new__  # an event from all its fields, without its class's Python __new__


def _of_the_line(event: LogEvent, raw: str) -> bool:
    """Whether ``event`` is made again from its message's bytes and the line's raw text."""
    if type(event) in OF_THE_MESSAGE_ALONE:
        return True
    return type(event) in OF_THE_LINE and cast("LineEvent", event).raw == raw


def joins_next_line(line: bytes) -> bool:
    """Whether the parser reads ``line`` together with the next one: a libvirt header and the
    command-line lines after it. Whoever cuts a log into pieces must not cut after it."""
    line = line.rstrip(b"\r\n")
    return line.endswith(b"\\") or LIBVIRT_HEADER in line


# The events of a message, each as (event type, kind, fields after line, offset, kind, time,
# whether the raw line comes first): the raw line is the line's own, the rest the message's.
Known = tuple[tuple[Any, MessageKind, tuple[Any, ...], bool], ...]
# QEMU's -msg timestamp=on time, as read_line takes it (then a space, then the message).
_ISO_STAMP: Final = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) ")


class Candidate(NamedTuple):
    line: int  # 1-based
    offset: int  # byte offset of the line start in the whole input
    data: bytes  # the line without its end-of-line


def candidate_lines(
    buf: bytes,
    first_line: int,
    first_offset: int,
    start: int = 0,
    end: int | None = None,
    needles: tuple[bytes, ...] = NEEDLES,
    finder: LineFinder | None = None,
    *,
    dense: bool = False,
) -> tuple[list[Candidate], int]:
    """The lines of ``buf[start:end]`` (complete lines only) that contain a needle, in order,
    and the number of newlines there. ``first_line`` and ``first_offset`` are the line number
    and input offset of ``buf[start]``.

    Pure and cheap: one C-level search per needle (or ``finder``'s, built for ``needles``), then
    one newline count over the bytes, in pieces between the hits. ``dense``, for a piece where
    most lines are candidates (a log of register messages): the piece is cut into lines at
    once and each line tested, rather than a search per needle and the bookkeeping of every
    hit (``finder`` unused). Same answers.
    """
    end = len(buf) if end is None else end
    if dense:
        return _each_line_tested(buf, first_line, first_offset, start, end, needles)
    found: list[Candidate] = []
    line = first_line
    previous = start
    if finder is None:
        starts = line_starts(buf, needles, start, end)
    else:
        starts = finder.line_starts(buf, start, end)
    for line_start in starts:
        line += count_newlines(buf, previous, line_start)
        previous = line_start
        line_end = buf.find(b"\n", line_start, end)
        if line_end == -1:
            line_end = end
        found.append(Candidate(line, first_offset + line_start - start, buf[line_start:line_end]))
    newlines = line - first_line + count_newlines(buf, previous, end)
    return found, newlines


@functools.cache
def _any_of(needles: tuple[bytes, ...]) -> Callable[[bytes], re.Match[bytes] | None]:
    """One search for all needles in a short line: several times faster than a test per
    needle, where most lines hold none."""
    return re.compile(b"|".join(re.escape(needle) for needle in needles)).search


def _each_line_tested(
    buf: bytes, first_line: int, first_offset: int, start: int, end: int, needles: tuple[bytes, ...]
) -> tuple[list[Candidate], int]:
    """``candidate_lines``' answer for a dense piece."""
    found: list[Candidate] = []
    number = first_line
    position = start
    lines = buf[start:end].split(b"\n")
    if not lines[-1]:
        lines.pop()  # the piece ends with its last line's newline
    holds_one = _any_of(needles)
    for data in lines:
        if holds_one(data):
            found.append(Candidate(number, first_offset + position - start, data))
        position += len(data) + 1
        number += 1
    return found, number - first_line - (
        0 if buf.endswith(b"\n", start, end) else 1
    ) if lines else 0


class LogParser:
    """Incremental parser: ``feed`` bytes in any chunking, then ``close``; both return events."""

    def __init__(self, start_offset: int = 0, finder: LineFinder | None = None) -> None:
        """``start_offset``: where the first byte fed sits in the whole input (for regions);
        ``finder``: a faster search for the lines holding one of ``NEEDLES`` (default: memmem)."""
        self._finder = finder
        self._pending = b""  # the start of the current incomplete line (at most MAX_LINE bytes)
        self._pending_dropped = 0  # bytes of an overlong pending line not kept
        self._pending_offset = start_offset  # byte offset where the pending line starts
        self._command_line: list[str] | None = None  # libvirt command-line block being read
        self._command_line_start = (0, 0)
        self.lines = 0  # complete lines seen
        self.bytes = 0
        self._dense = False  # the last piece had a candidate every DENSE_BYTES or closer
        # What the events of a known message say beyond (line, offset, kind, time), by the
        # message's text (and whether a program printed it), and by its bytes: see _parse.
        self._known: dict[tuple[str, bool], Known] = {}
        self._known_bytes: dict[bytes, Known] = {}

    def feed(self, data: bytes) -> list[LogEvent]:
        self.bytes += len(data)
        events: list[LogEvent] = []
        first_newline = data.find(b"\n")
        if first_newline == -1:
            self._keep_pending(data)
            return events
        start = 0
        offset = self._pending_offset
        if self._pending or self._pending_dropped:
            self._keep_pending(data[:first_newline])
            self._finish_line(self._pending, self._pending_offset, events)
            offset = self._pending_offset + len(self._pending) + self._pending_dropped + 1
            self._pending, self._pending_dropped = b"", 0
            start = first_newline + 1
        last_newline = data.rfind(b"\n")
        if last_newline >= start:
            self._scan(data, start, last_newline + 1, offset, events)
            offset += last_newline + 1 - start
        self._pending_offset = offset
        self._keep_pending(data[last_newline + 1 :])
        return events

    def skip(self, lines: int, size: int) -> None:
        """Account for ``lines`` whole lines (``size`` bytes) parsed elsewhere, e.g. in another
        process: what is fed next starts after them."""
        self.lines += lines
        self.bytes += size
        self._pending_offset += size

    def close(self) -> list[LogEvent]:
        events: list[LogEvent] = []
        if self._pending or self._pending_dropped:
            self._finish_line(self._pending, self._pending_offset, events)
            self._pending_offset += len(self._pending) + self._pending_dropped
            self._pending, self._pending_dropped = b"", 0
        self._flush_command_line(events)
        return events

    def _keep_pending(self, data: bytes) -> None:
        room = MAX_LINE - len(self._pending)
        if len(data) > room:
            self._pending += data[:room]
            self._pending_dropped += len(data) - room
        else:
            self._pending += data

    def _finish_line(self, data: bytes, offset: int, events: list[LogEvent]) -> None:
        """One complete line that was assembled across chunks."""
        self.lines += 1
        if self._command_line is not None or any(needle in data for needle in NEEDLES):
            self._parse(Candidate(self.lines, offset, data), events)

    def _scan(self, buf: bytes, start: int, stop: int, offset: int, events: list[LogEvent]) -> None:
        """Complete lines ``buf[start:stop]``, ``buf[start]`` being byte ``offset`` of the input:
        parse the candidates only."""
        position = start
        line = self.lines
        # A libvirt command-line block carries no needle: read it line by line (it is short).
        while self._command_line is not None and position < stop:
            end = buf.find(b"\n", position, stop)
            line += 1
            self._parse(Candidate(line, offset + position - start, buf[position:end]), events)
            position = end + 1
        if self._dense:  # whichever way suited the last piece: density changes slowly
            self._scan_dense(buf, position, stop, line, offset - start, events)
            return
        base_line = line
        candidates, newlines = candidate_lines(
            buf, line + 1, offset + position - start, position, stop, finder=self._finder
        )
        self._dense = len(candidates) * DENSE_BYTES > stop - position
        index = 0
        known_bytes = self._known_bytes
        while index < len(candidates):
            candidate = candidates[index]
            index += 1
            # The most common case first, inline: a message met before, with no time before it.
            data = candidate.data
            known = None if not data or 48 <= data[0] <= 57 else known_bytes.get(data)
            if known is not None and self._command_line is None:
                self._repeat(known, candidate, None, events)
                continue
            self._parse(candidate, events)
            if self._command_line is None:
                continue
            block_at = candidate.offset - offset + start + len(candidate.data) + 1
            block_line = candidate.line
            while self._command_line is not None and block_at < stop:
                end = buf.find(b"\n", block_at, stop)
                block_line += 1
                self._parse(
                    Candidate(block_line, offset + block_at - start, buf[block_at:end]), events
                )
                block_at = end + 1
            while index < len(candidates) and candidates[index].line <= block_line:
                index += 1
        self.lines = base_line + newlines

    def _scan_dense(
        self, buf: bytes, start: int, stop: int, line: int, shift: int, events: list[LogEvent]
    ) -> None:
        """``_scan`` of a piece where most lines matter (``candidate_lines``' dense way), with
        the commonest case inline: a message met before, found by its bytes."""
        pieces = buf[start:stop].split(b"\n")
        if not pieces[-1]:
            pieces.pop()  # the piece ends with its last line's newline
        holds_one = _any_of(NEEDLES)
        known_bytes = self._known_bytes
        append = events.append
        position = start
        candidates = 0
        for data in pieces:
            line += 1
            at = shift + position
            position += len(data) + 1
            if self._command_line is not None:
                self._parse(Candidate(line, at, data), events)
                continue
            time = None
            key: bytes | None = data
            if data and 48 <= data[0] <= 57:  # a time first: the message is after it
                stamp = _ISO_STAMP.match(data)
                if stamp is None:
                    key = None
                else:
                    key = data[stamp.end() :]
                    time = stamp.group(1).decode("ascii")
            known = None if key is None else known_bytes.get(key)
            if known is not None:
                candidates += 1
                for kind_of_event, kind, rest, with_raw in known:
                    if with_raw:
                        rest = (decode_line(data), *rest)
                    append(_new(kind_of_event, (line, at, kind, time, *rest)))
            elif holds_one(data):
                candidates += 1
                self._parse(Candidate(line, at, data), events)
        self.lines = line
        self._dense = candidates * DENSE_BYTES > stop - start

    def _parse(self, candidate: Candidate, events: list[LogEvent]) -> None:
        if self._command_line is not None and self._collect_command_line(candidate, events):
            return
        # A log says the same things again and again (each CPU, each attempt), behind other
        # timestamps: what a message means is read once, found again by its bytes (behind an
        # ISO time) or by its text (behind any prefix).
        data = candidate.data
        time: str | None = None
        key: bytes | None = data
        if data[:1].isdigit():
            stamp = _ISO_STAMP.match(data)
            key = data[stamp.end() :] if stamp else None
            if stamp is not None and key is not None and not key[:1].isdigit():
                time = stamp.group(1).decode("ascii")
            else:
                key = None
        if key is not None:
            known = self._known_bytes.get(key)
            if known is not None:
                self._repeat(known, candidate, time, events)
                return
        line = read_line(*candidate)
        known = self._known.get((line.body, line.program is None))
        if known is not None:
            self._repeat(known, candidate, line.time, events)
            return
        found = parse_line(line)
        if found and found[0].kind is MessageKind.LIBVIRT_START:
            self._flush_command_line(events)
            self._command_line = []
            self._command_line_start = (candidate.line, candidate.offset)
        events.extend(found)
        alone = all(type(event) in OF_THE_MESSAGE_ALONE for event in found)
        if not alone and (key is None or not all(_of_the_line(event, line.raw) for event in found)):
            return
        if max(len(self._known), len(self._known_bytes)) >= MAX_KNOWN:
            self._known.clear()
            self._known_bytes.clear()
        made = tuple(
            (type(e), e.kind, tuple(e[5:]), True)
            if type(e) in OF_THE_LINE
            else (type(e), e.kind, tuple(e[4:]), False)
            for e in found
        )
        if alone:
            self._known[line.body, line.program is None] = made
        if key is not None:
            self._known_bytes[key] = made

    @staticmethod
    def _repeat(
        known: Known, candidate: Candidate, time: str | None, events: list[LogEvent]
    ) -> None:
        for kind_of_event, kind, rest, with_raw in known:
            if with_raw:
                rest = (decode_line(candidate.data), *rest)
            fields = (candidate.line, candidate.offset, kind, time, *rest)
            events.append(_new(kind_of_event, fields))

    # -- libvirt command line ------------------------------------------------------------------

    def _collect_command_line(self, candidate: Candidate, events: list[LogEvent]) -> bool:
        """Add one line to the open command-line block; False when the block has ended."""
        assert self._command_line is not None
        stripped = decode_line(candidate.data).rstrip()
        looks_like_option = stripped.endswith("\\") or stripped.startswith("-") or "=" in stripped
        if not looks_like_option or len(self._command_line) >= MAX_COMMAND_LINE_LINES:
            self._flush_command_line(events)
            return False
        self._command_line.append(stripped.rstrip("\\").strip())
        if not stripped.endswith("\\"):
            self._flush_command_line(events)
        return True

    def _flush_command_line(self, events: list[LogEvent]) -> None:
        if self._command_line is None:
            return
        text = " ".join(self._command_line)
        self._command_line = None
        seen: CommandLineSeen | None = command_line_options(*self._command_line_start, text)
        if seen is not None:
            events.append(seen)
