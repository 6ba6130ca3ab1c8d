"""A compact index of line starts in a growing file, for reading windows of lines by offset.

A gigabyte trace log has ten million lines; a list of their offsets would take hundreds of MB.
The index keeps one checkpoint (line number, byte offset of that line's start) per ``step`` bytes
of input, in two ``array('Q')``: 16 bytes per 64 KB, so 256 KB for 1 GB. Reading line ``n``
seeks to the checkpoint before it and scans forward at most ``step`` bytes (plus one line).
Building it uses only C-speed searches and counts, never a Python loop per line.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_right

from parsers.bytesearch import count_newlines

STEP = 64 * 1024
MAX_LINE = 64 * 1024  # a longer line is cut when shown: the view never reads more than this


class LineIndex:
    """Line starts of the bytes fed so far (1-based line numbers, like the parser's)."""

    def __init__(self, step: int = STEP) -> None:
        self.step = step
        self.reset()

    def reset(self) -> None:
        self._lines = array("Q", [0])  # 0-based line number of each checkpoint
        self._offsets = array("Q", [0])  # byte offset where that line starts
        self.size = 0  # bytes indexed
        self.newlines = 0
        self._next = self.step  # next checkpoint: the first line start at or after this offset
        self._ends_with_newline = True

    @property
    def line_count(self) -> int:
        """Lines in the data, a last line without its newline (still being written) included."""
        return self.newlines + (0 if self._ends_with_newline else 1)

    def memory(self) -> int:
        """Bytes held by the checkpoints."""
        return self._lines.itemsize * (len(self._lines) + len(self._offsets))

    def feed(self, data: bytes) -> None:
        if not data:
            return
        base = self.size
        counted_to = 0  # newlines of data[:counted_to] are already in self.newlines
        length = len(data)
        while True:
            target = max(self._next - base, 0)
            if target >= length:
                break
            if target > 0 and data[target - 1] == 0x0A:
                start = target
            elif target == 0 and self._ends_with_newline:
                start = 0
            else:
                newline = data.find(b"\n", target)
                if newline < 0:
                    break  # a long line: the next chunk carries the checkpoint
                start = newline + 1
            if start >= length:
                break
            self.newlines += count_newlines(data, counted_to, start)
            counted_to = start
            self._lines.append(self.newlines)
            self._offsets.append(base + start)
            self._next = base + start + self.step
        self.newlines += count_newlines(data, counted_to)
        self.size += length
        self._ends_with_newline = data[-1] == 0x0A

    def extend(self, other: LineIndex) -> None:
        """Append the index of the bytes that follow ours, built elsewhere (a region of the first
        read, indexed in another process). Ours must end at a line start."""
        assert self._ends_with_newline, "an index can only be extended at a line start"
        lines, size = self.newlines, self.size
        if size:
            self._lines.extend(lines + line for line in other._lines)
            self._offsets.extend(size + offset for offset in other._offsets)
        else:
            self._lines, self._offsets = array("Q", other._lines), array("Q", other._offsets)
        self.newlines += other.newlines
        self.size += other.size
        self._next = size + other._next
        self._ends_with_newline = other._ends_with_newline

    def checkpoint(self, line: int) -> tuple[int, int]:
        """The checkpoint (0-based line, offset) at or before 1-based ``line``."""
        position = bisect_right(self._lines, line - 1) - 1
        return self._lines[position], self._offsets[position]

    def read_lines(self, fd: int, first: int, count: int) -> list[tuple[int, bytes]]:
        """Up to ``count`` lines from 1-based ``first``: (offset, bytes without the newline).

        Reads with ``os.pread`` (no shared file position), never past the indexed size.
        """
        if count <= 0 or first < 1 or first > self.line_count:
            return []
        line, offset = self.checkpoint(first)
        skip = first - 1 - line
        out: list[tuple[int, bytes]] = []
        pending = b""
        pending_offset = offset
        block = max(self.step, 1 << 16)
        while len(out) < count and offset < self.size:
            data = os.pread(fd, min(block, self.size - offset), offset)
            if not data:
                break
            offset += len(data)
            buf = pending + data
            position = 0
            while len(out) < count:
                newline = buf.find(b"\n", position)
                if newline < 0:
                    break
                if skip > 0:
                    skip -= 1
                else:
                    out.append(
                        (
                            pending_offset + position,
                            buf[position : min(newline, position + MAX_LINE)],
                        )
                    )
                position = newline + 1
            pending_offset += position
            pending = buf[position:]
            if len(pending) > MAX_LINE:
                # An endless line: keep its head only, skip to its end.
                end = self._skip_to_newline(fd, offset)
                if skip > 0:
                    skip -= 1
                else:
                    out.append((pending_offset, pending[:MAX_LINE]))
                pending, pending_offset, offset = b"", end, end
        if pending and len(out) < count and skip == 0 and offset >= self.size:
            out.append((pending_offset, pending[:MAX_LINE]))  # the line being written
        return out

    def offset_of(self, fd: int, line: int) -> int:
        """Byte offset where 1-based ``line`` starts (the indexed size past the last line)."""
        if line <= 1:
            return 0
        if line > self.line_count:
            return self.size
        first, offset = self.checkpoint(line)
        skip = line - 1 - first
        while skip > 0 and offset < self.size:
            data = os.pread(fd, min(1 << 16, self.size - offset), offset)
            if not data:
                break
            count = count_newlines(data)
            if count < skip:
                skip -= count
                offset += len(data)
                continue
            position = -1
            for _ in range(skip):
                position = data.find(b"\n", position + 1)
            return offset + position + 1
        return offset

    def find(self, fd: int, needle: bytes, line: int, *, forward: bool = True) -> int | None:
        """The first line after ``line`` (or the last before it) containing ``needle``, ASCII
        case-insensitive; scans by blocks, backwards one checkpoint segment at a time."""
        needle = needle.lower()
        if not needle:
            return None
        if forward:
            start = self.offset_of(fd, line + 1)
            found = self._scan(fd, needle, start, self.size, last=False)
            return None if found is None else self._line_from(fd, line + 1, start, found)
        end = self.offset_of(fd, line)  # only lines that start before ``line``
        position = bisect_right(self._offsets, max(end - 1, 0)) - 1
        while position >= 0:
            segment_start = self._offsets[position]
            found = self._scan(fd, needle, segment_start, end, last=True)
            if found is not None:
                first = self._lines[position] + 1
                return self._line_from(fd, first, segment_start, found)
            end = segment_start
            position -= 1
        return None

    def _scan(self, fd: int, needle: bytes, start: int, end: int, *, last: bool) -> int | None:
        """Offset of the first (or last) match starting in [start, end)."""
        block = 1 << 20
        overlap = len(needle) - 1
        offset = start
        result: int | None = None
        while offset < end:
            data = os.pread(fd, min(block + overlap, self.size - offset), offset).lower()
            if not data:
                break
            limit = min(len(data), end - offset + overlap)
            if last:
                found = data.rfind(needle, 0, limit)
                while found >= 0 and offset + found >= end:
                    found = data.rfind(needle, 0, found)
                if found >= 0:
                    result = offset + found
            else:
                found = data.find(needle, 0, limit)
                if found >= 0 and offset + found < end:
                    return offset + found
            offset += block
        return result

    def _line_from(self, fd: int, line: int, start: int, target: int) -> int:
        """The line holding byte ``target``, counting from ``line``, which starts at ``start``."""
        offset = start
        while offset < target:
            data = os.pread(fd, min(1 << 20, target - offset), offset)
            if not data:
                break
            line += count_newlines(data)
            offset += len(data)
        return line

    def _skip_to_newline(self, fd: int, offset: int) -> int:
        while offset < self.size:
            data = os.pread(fd, min(1 << 16, self.size - offset), offset)
            if not data:
                return self.size
            newline = data.find(b"\n")
            if newline >= 0:
                return offset + newline + 1
            offset += len(data)
        return self.size


def read_line_at(fd: int, offset: int, limit: int = MAX_LINE) -> bytes:
    """The line starting at byte ``offset`` (without its newline), at most ``limit`` bytes."""
    data = os.pread(fd, limit, offset)
    newline = data.find(b"\n")
    return data if newline < 0 else data[:newline]
