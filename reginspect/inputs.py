"""Opening the files users hand over: plain or compressed (by content), or standard input."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import sys
from collections.abc import Iterator
from typing import IO, Final

from reginspect.errors import UserError

CHUNK_SIZE: Final = 1 << 20

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


def _wrap(raw: IO[bytes], kind: str | None) -> IO[bytes]:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if kind == "zstd":
        import zstandard  # only needed for .zst input

        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)  # type: ignore[no-any-return]
    return raw


class _Prefixed:
    """A readable stream whose first bytes were already consumed to sniff the format."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._rest.read(size - len(data))
            return data
        return self._rest.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._rest.close()


def open_binary(path: str) -> IO[bytes]:
    """Open ``path`` (or ``-`` for stdin) for reading bytes, decompressing by content.

    Files are opened read-only; nothing is ever written to an input.
    """
    check_readable(path)
    try:
        raw: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise UserError(f"{describe_source(path)}: cannot be opened ({exc.strerror}).") from None
    if raw.seekable():
        head = raw.read(6)
        raw.seek(0)
        return _wrap(raw, compression_of(head))
    head = raw.read(6)
    kind = compression_of(head)
    prefixed: IO[bytes] = _Prefixed(head, raw)  # type: ignore[assignment]
    return _wrap(prefixed, kind)


def read_chunks(stream: IO[bytes], path: str, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the stream's bytes in large chunks; a broken compressed file is a UserError."""
    try:
        while True:
            chunk = stream.read(size)
            if not chunk:
                return
            yield chunk
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise UserError(
            f"{describe_source(path)}: the compressed data is damaged or cut short ({exc})."
        ) from None
