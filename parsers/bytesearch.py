"""Fast search of several byte strings, and fast newline counts, in a large buffer.

``bytes.find`` runs at about 2 GB/s per needle; glibc's ``memmem`` (reached through ctypes, part
of the standard library) at several times that. Where no C library offers ``memmem`` the pure
Python search is used, with the same results. Every function takes ``start``/``end`` bounds so
that callers never copy a chunk to look at part of it.

``LineFinder`` is what the parser asks for the lines worth decoding. ``MemmemFinder`` (one
``memmem`` pass per needle) is the default; the core can hand the parser a faster one built on a
multi-needle search library, which this package must not import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Protocol

# Below this, bytes.count is as fast as the replace trick of count_newlines and copies nothing.
_SMALL = 4096
# Below this, bytes.find (under half memmem's speed) loses less time than importing ctypes takes
# (3 ms), so a small log never loads it; the chunks of a large one (1 MiB and up) are above.
_MEMMEM_MIN = 256 << 10


def _python_find_all(
    buf: bytes, needle: bytes, start: int = 0, end: int | None = None
) -> list[int]:
    end = len(buf) if end is None else end
    found = []
    at = buf.find(needle, start, end)
    while at != -1:
        found.append(at)
        at = buf.find(needle, at + 1, end)
    return found


@functools.cache
def _memmem() -> Callable[[bytes, bytes, int, int], int] | None:
    """glibc's ``memmem`` as ``first(buf, needle, start, end)`` (-1: none), or None."""
    import ctypes  # here: only searches of large buffers need it

    try:
        # The C library the interpreter already runs on (dlopen(NULL)): ctypes.util.find_library
        # would start ldconfig, 17 ms of every start-up. Windows has no such handle (TypeError).
        # PyDLL keeps the GIL across calls: releasing it for every short memmem call makes a
        # busy second thread (the TUI's) win it back each time, and parsing crawls.
        memmem = ctypes.PyDLL(None).memmem
    except (OSError, AttributeError, TypeError):
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]

    def first(buf: bytes, needle: bytes, start: int, end: int) -> int:
        # c_char_p over bytes points at the object's own storage: no copy is made.
        base = ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value
        if base is None or not needle:
            return buf.find(needle, start, end)
        if end - start < len(needle):
            return -1
        hit = memmem(base + start, end - start, needle, len(needle))
        return hit - base if hit else -1

    return first


def clamp(buf: bytes, start: int, end: int | None) -> tuple[int, int]:
    """``start`` and ``end`` (None: the end) held within ``buf``, and ``start <= end``."""
    length = len(buf)
    end = length if end is None else min(max(end, 0), length)
    return min(max(start, 0), end), end


def find(buf: bytes, needle: bytes, start: int = 0, end: int | None = None) -> int:
    """The first offset where ``needle`` starts within ``buf[start:end]``, or -1."""
    start, end = clamp(buf, start, end)
    fast = _memmem() if end - start >= _MEMMEM_MIN else None
    return buf.find(needle, start, end) if fast is None else fast(buf, needle, start, end)


def find_all(buf: bytes, needle: bytes, start: int = 0, end: int | None = None) -> list[int]:
    """Every offset where ``needle`` starts within ``buf[start:end]``, ascending."""
    start, end = clamp(buf, start, end)
    fast = _memmem() if end - start >= _MEMMEM_MIN else None
    if fast is None:
        return _python_find_all(buf, needle, start, end)
    found = []
    at = fast(buf, needle, start, end)
    while at != -1:
        found.append(at)
        at = fast(buf, needle, at + 1, end)
    return found


def line_starts(
    buf: bytes, needles: Iterable[bytes], start: int = 0, end: int | None = None
) -> list[int]:
    """The start offsets of the lines of ``buf[start:end]`` holding any needle, ascending, once
    each (``start`` is taken as a line start)."""
    start, end = clamp(buf, start, end)
    starts: set[int] = set()
    for needle in needles:
        last_line_end = -1
        for at in find_all(buf, needle, start, end):
            if at < last_line_end:
                continue  # this line is already in
            starts.add(max(buf.rfind(b"\n", start, at) + 1, start))
            line_end = buf.find(b"\n", at, end)
            last_line_end = line_end if line_end != -1 else end
    return sorted(starts)


def check_needles(needles: Iterable[bytes]) -> tuple[bytes, ...]:
    """``needles`` as a tuple, or ValueError: a line finder needs non-empty needles without a
    newline (a needle that spans lines belongs to no single line)."""
    found = tuple(needles)
    for needle in found:
        if not needle or b"\n" in needle:
            raise ValueError(f"a needle must be non-empty and hold no newline: {needle!r}")
    return found


class LineFinder(Protocol):
    """Finds the lines holding any of the needles it was built for (built once per needle tuple,
    then used for every chunk)."""

    def line_starts(self, buf: bytes, start: int, end: int) -> list[int]:
        """The start offsets of the lines of ``buf[start:end]`` holding any needle, ascending,
        once each (``start`` is taken as a line start)."""
        ...


class MemmemFinder:
    """One ``memmem`` pass per needle: standard library only, and the fallback of faster ones."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        self.needles = check_needles(needles)

    def line_starts(self, buf: bytes, start: int, end: int) -> list[int]:
        return line_starts(buf, self.needles, start, end)


def count_newlines(buf: bytes, start: int = 0, end: int | None = None) -> int:
    """The number of ``\\n`` in ``buf[start:end]``.

    ``bytes.count`` of one byte is a plain C loop (about 1.3 GB/s); deleting the byte with
    ``bytes.replace`` finds each one with ``memchr`` and runs three times faster, copy included.
    """
    start, end = clamp(buf, start, end)
    if end - start < _SMALL:
        return buf.count(b"\n", start, end)
    outside = start + len(buf) - end
    if outside <= _SMALL:
        # Nearly all of the buffer (a parser chunk less its cut lines): count all of it and take
        # the edges off, rather than copy the piece first.
        edges = buf.count(b"\n", 0, start) + buf.count(b"\n", end)
        return len(buf) - len(buf.replace(b"\n", b"")) - edges
    piece = buf[start:end]
    return len(piece) - len(piece.replace(b"\n", b""))
