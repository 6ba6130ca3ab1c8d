"""Fast search of several byte strings in a large buffer.

``bytes.find`` runs at about 2 GB/s per needle; glibc's ``memmem`` (reached through ctypes, part
of the standard library) at several times that. Where no C library offers ``memmem`` the pure
Python search is used, with the same results.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterable

Finder = Callable[[bytes, bytes], list[int]]


def _python_find_all(buf: bytes, needle: bytes) -> list[int]:
    found = []
    at = buf.find(needle)
    while at != -1:
        found.append(at)
        at = buf.find(needle, at + 1)
    return found


def _load_memmem() -> Finder | None:
    try:
        name = ctypes.util.find_library("c")
        # PyDLL keeps the GIL across calls: releasing it for every short memmem call makes a
        # busy second thread (the TUI's) win it back each time, and parsing crawls.
        libc = ctypes.PyDLL(name) if name else None
        memmem = libc.memmem if libc is not None else None
    except (OSError, AttributeError):
        return None
    if memmem is None:
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]

    def find_all(buf: bytes, needle: bytes) -> list[int]:
        # c_char_p over bytes points at the object's own storage: no copy is made.
        base = ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value
        if base is None or not needle:
            return _python_find_all(buf, needle)
        size, width = len(buf), len(needle)
        found = []
        position = 0
        while position <= size - width:
            hit = memmem(base + position, size - position, needle, width)
            if not hit:
                break
            at = hit - base
            found.append(at)
            position = at + 1
        return found

    return find_all


_FAST = _load_memmem()


def find_all(buf: bytes, needle: bytes) -> list[int]:
    """Every offset where ``needle`` starts in ``buf``, ascending."""
    if _FAST is not None:
        return _FAST(buf, needle)
    return _python_find_all(buf, needle)


def line_starts(buf: bytes, needles: Iterable[bytes]) -> list[int]:
    """The start offsets of the lines of ``buf`` holding any needle, ascending, once each."""
    starts: set[int] = set()
    for needle in needles:
        last_line_end = -1
        for at in find_all(buf, needle):
            if at < last_line_end:
                continue  # this line is already in
            starts.add(buf.rfind(b"\n", 0, at) + 1)
            end = buf.find(b"\n", at)
            last_line_end = end if end != -1 else len(buf)
    return sorted(starts)
