"""Opening the files users hand over: plain or compressed (by content), or standard input."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from typing import IO, Any, Final

from reginspect.errors import UserError

CHUNK_SIZE: Final = 1 << 20
ZSTD_SLICE: Final = 128 << 10  # compressed bytes given to zstd at once (see _Decoder.feed)

_GZIP_MAGIC: Final = b"\x1f\x8b"
_XZ_MAGIC: Final = b"\xfd7zXZ\x00"
_ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_BZ2_MAGIC: Final = b"BZh"


def describe_source(path: str) -> str:
    return "standard input" if path == "-" else path


def check_readable(path: str) -> None:
    """Raise a UserError with one clear sentence when ``path`` cannot be read as a file."""
    if path == "-":
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; check the path.") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied; check the directory's permissions.") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}).") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{path}: is a directory; give the log file inside it.")
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: permission denied; run as a user who can read it.")


def compression_of(head: bytes) -> str | None:
    """The compression format announced by a file's first bytes, or None for plain data."""
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    if head.startswith(_BZ2_MAGIC) and len(head) >= 4 and head[3:4].isdigit():
        return "bzip2"
    return None


class _Decoder:
    """Incremental decompression with bounded output per step, keeping what was decoded before
    any damage (``LZMAFile`` and friends drop it when they raise)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._new()

    def _new(self) -> None:
        # Imported here: a plain log (the usual case) must not pay for the codecs at start-up.
        # ``damage``: what the codec raises on data it cannot decode.
        if self.kind == "gzip":
            import zlib

            self._obj: Any = zlib.decompressobj(wbits=47)
            self.damage: tuple[type[Exception], ...] = (zlib.error,)
        elif self.kind == "xz":
            import lzma

            self._obj = lzma.LZMADecompressor()
            self.damage = (lzma.LZMAError,)
        elif self.kind == "bzip2":
            import bz2

            self._obj = bz2.BZ2Decompressor()
            self.damage = (OSError,)
        else:
            import zstandard  # only needed for .zst input

            self._obj = zstandard.ZstdDecompressor().decompressobj()
            self.damage = (zstandard.ZstdError,)

    @property
    def finished(self) -> bool:
        return bool(self._obj.eof)

    def feed(self, data: bytes | memoryview, size: int) -> Iterator[bytes]:
        # Each way leaves in ``data`` all that is still to decode, the bytes after a finished
        # member or stream included: another one follows (concatenated .gz files, multi-stream
        # .xz, .bz2 or .zst), for a decoder of its own.
        while data:
            if self.finished:
                self._new()
            if self.kind == "zstd":
                # A slice at a time: damage further on must not take what came before with it
                # (decompress keeps nothing of a call that fails).
                view = memoryview(data)  # sliced in place, not copied slice after slice
                out = self._obj.decompress(view[:ZSTD_SLICE])
                data = view[ZSTD_SLICE:]
                if self._obj.eof:
                    data = self._obj.unused_data + data
            elif self.kind == "gzip":
                out = self._obj.decompress(data, size)
                data = self._obj.unconsumed_tail or self._obj.unused_data
            else:
                out = self._obj.decompress(data, size)
                data = b""
                while not self._obj.eof and not self._obj.needs_input:
                    if out:
                        yield out
                    out = self._obj.decompress(b"", size)
                if self._obj.eof:
                    data = self._obj.unused_data
            if out:
                yield out
            if not data:
                return


def open_binary(path: str) -> IO[bytes]:
    """Open ``path`` (or ``-`` for stdin) read-only; nothing is ever written to an input."""
    check_readable(path)
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UserError(f"{path}: cannot be opened ({exc.strerror}).") from None


def read_range(path: str, start: int, end: int, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Bytes ``start``..``end`` of a plain file, in pieces of ``size`` at most (fewer if the
    file is shorter): what a region worker reads."""
    with open(path, "rb") as stream:
        stream.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = stream.read(min(size, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def read_chunks(stream: IO[bytes], path: str, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The input's bytes in large chunks, decompressed by content (gzip, xz, zstd, bzip2).

    Damage raises a UserError after every byte decoded before it has been yielded.
    """
    name = describe_source(path)
    try:
        first = stream.read(size)
        kind = compression_of(first)
        if kind is None:
            chunk = first
            while chunk:
                yield chunk
                chunk = stream.read(size)
            return
        decoder = _Decoder(kind)
        damage: tuple[type[Exception], ...] = (EOFError, ValueError, *decoder.damage)
        chunk = first
        try:
            while chunk:
                yield from decoder.feed(chunk, size)
                chunk = stream.read(size)
        except damage as exc:
            raise UserError(
                f"{name}: the compressed data is damaged or cut short ({exc})."
            ) from None
        if not decoder.finished:
            raise UserError(f"{name}: the {kind} data is damaged or cut short.")
    except UserError:
        raise
    except (OSError, EOFError, ValueError) as exc:
        raise UserError(f"{name}: the compressed data is damaged or cut short ({exc}).") from None
