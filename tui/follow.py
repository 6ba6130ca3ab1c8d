"""Following log files as they grow: one reader per source, woken by inotify or by a timer.

A reader survives what happens to logs in real life: the file does not exist yet (waits for
it), is truncated in place (``copytruncate``: size shrinks, or the bytes before our position
change), rotated (renamed away, a new file created under the name: the rest of the old file is
read first), deleted and created again, written a piece of a line at a time. Standard input and
compressed files are copied to an unnamed spool file as they are read, so the raw view reads
every source by offset the same way and never holds a log in memory.
"""

from __future__ import annotations

import os
import select
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import IO

from reginspect.errors import UserError
from reginspect.ingest import Ingest, parallel_workers, parse_in_regions, start_workers
from reginspect.inputs import compression_of, read_chunks
from tui.lineindex import LineIndex
from tui.store import Source, SourceStatus, Store

CHUNK = 256 * 1024
POLL_INTERVAL = 0.05  # --poll, and files whose directory cannot be watched
WATCHED_INTERVAL = 0.5  # a safety net when inotify is on: events can be lost (overflow)
PROGRESS = 0.1  # seconds between two "more was read" messages during a long read
# To tell an in-place rewrite from growth, samples of SAMPLE bytes of what was read must be
# unchanged: at offsets 0, 64, 128, 256, ... (doubling) and just before our position. Logs
# repeat whole lines, so the bytes before our position alone often match a rewrite too.
SAMPLE = 64
# The first read of a big file comes back in regions of this size: progress and rows appear as
# each arrives.
FIRST_READ_REGION = 32 << 20

Notify = Callable[[], None]


class SourceReader:
    """Reads one source into the store until ``stop`` is set; ``run`` never raises."""

    def __init__(
        self,
        store: Store,
        source: Source,
        notify: Notify,
        stop: threading.Event,
        *,
        poll: bool = False,
        stdin_fd: int | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.notify = notify
        self.stop = stop
        self.wake = threading.Event()
        self.interval = POLL_INTERVAL if poll else WATCHED_INTERVAL
        self.stdin_fd = stdin_fd
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._position = 0
        self._marks: dict[int, bytes] = {}  # offset -> the bytes read there (see SAMPLE)
        self._tail = b""  # the bytes read just before our position
        self._spool: IO[bytes] | None = None
        self._stamp: tuple[int, int, int] | None = None  # compressed file: (ino, size, mtime)
        # Started before the UI runs: see start_workers. Shut down after the first read.
        self._workers = parallel_workers(source.path)
        self._pool = start_workers(self._workers) if self._workers > 1 else None

    # -- helpers ----------------------------------------------------------------------------------

    @property
    def _ingest(self) -> Ingest:
        assert self.source.ingest is not None  # the Store makes one for every source
        return self.source.ingest

    def _set(self, status: SourceStatus, message: str = "") -> None:
        with self.store.lock:
            changed = (self.source.status, self.source.message) != (status, message)
            self.source.status, self.source.message = status, message
        if changed:
            self.notify()

    def _wait(self, interval: float | None = None) -> None:
        self.wake.wait(self.interval if interval is None else interval)
        self.wake.clear()

    def _feed(self, data: bytes, *, notify: bool = True) -> None:
        with self.store.lock:
            if self._spool is not None:
                self._spool.write(data)
                self._spool.flush()
            self._ingest.feed(data)
            self.source.done += len(data)
        if notify:
            self.notify()

    def _close_file(self) -> None:
        with self.store.lock:
            if self._fd is not None:
                os.close(self._fd)
            if self._spool is not None:
                self._spool.close()
            self._fd, self._spool = None, None
            self.source.fd = None
        self._identity, self._position, self._marks, self._tail = None, 0, {}, b""
        self._stamp = None

    def _reset(self, notice: str) -> None:
        with self.store.lock:
            self.store.reset_source(self.source)
            self.store.notices.append(notice)
        self._position, self._marks, self._tail = 0, {}, b""
        self.notify()

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.source.path == "-":
                    self._read_pipe()
                    return
                self._step()
            except Exception as error:  # a reader must outlive any surprise in a file
                self._set(SourceStatus.ERROR, f"{type(error).__name__}: {error}")
                self._close_file()
                self._wait(1.0)
        self._close_file()
        self._stop_pool()

    def _step(self) -> None:
        if self._fd is None and not self._open():
            self._wait()
            return
        if self.source.compressed:
            self._watch_compressed()
            return
        if self._position == 0 and self._compressed_now():
            self._close_file()
            return
        # Before reading: a drain records the new bytes as the ones it saw, so a copytruncate
        # followed by a longer rewrite would pass unnoticed once drained.
        if self._position and self._truncated():
            return
        if self._position == 0 and self._read_in_regions():
            return
        self._drain()
        if self._check_replaced():
            return
        self._wait()

    def _compressed_now(self) -> bool:
        """Whether the plain file opened empty holds a compressed log now (one written in place,
        seen between its truncation and its bytes): then it is opened again as what it is."""
        assert self._fd is not None
        return compression_of(os.pread(self._fd, 8, 0)) is not None

    def _open(self) -> bool:
        path = self.source.path
        try:
            fd = os.open(path, os.O_RDONLY)  # not inherited (PEP 446)
        except FileNotFoundError:
            waiting = (
                SourceStatus.DELETED
                if self.source.status is SourceStatus.DELETED
                else SourceStatus.WAITING
            )
            self._set(waiting, f"waiting for {path} to be created")
            return False
        except IsADirectoryError:
            self._set(SourceStatus.ERROR, f"{path} is a directory; give the log file inside it")
            return False
        except PermissionError:
            self._set(SourceStatus.ERROR, f"{path}: permission denied")
            return False
        info = os.fstat(fd)
        head = os.pread(fd, 8, 0)
        kind = compression_of(head)
        with self.store.lock:
            if self.source.index.size:
                self.store.reset_source(self.source)  # re-created after a deletion
            self.source.total = info.st_size
            self.source.done = 0
            self.source.compressed = kind
        self._identity = (info.st_dev, info.st_ino)
        self._fd, self._position, self._marks, self._tail = fd, 0, {}, b""
        if kind is not None:
            self._read_compressed(fd, info)
            return True
        with self.store.lock:
            self.source.fd = fd
        self._set(SourceStatus.READING if info.st_size else SourceStatus.LIVE)
        return True

    def _drain(self) -> None:
        """Read what was appended since last time, in chunks. The UI is told once at the end
        (an append of a few chunks must not reach the screen half now, half a refresh later),
        and every PROGRESS seconds of a long read."""
        assert self._fd is not None
        told = time.monotonic()
        untold = False
        while not self.stop.is_set():
            data = os.read(self._fd, CHUNK)
            if not data:
                break
            self._note_read(data)
            now = time.monotonic()
            untold = now - told < PROGRESS
            self._feed(data, notify=not untold)
            if not untold:
                told = now
            time.sleep(0)  # hand the GIL to the UI between chunks: keys stay answered
        if untold:
            self.notify()
        if self.source.status in (SourceStatus.READING, SourceStatus.WAITING):
            self._set(SourceStatus.LIVE)

    def _read_in_regions(self) -> bool:
        """The first read of a big plain file, parsed and indexed in one process per core (the
        reader thread only merges results, so the UI keeps the GIL). False when not worth it."""
        assert self._fd is not None
        if self._pool is None:  # a small file, or not the first read: workers cannot start now
            return False
        end = _last_line_start(self._fd)
        if end == 0:
            return False
        parts = max(self._workers, end // FIRST_READ_REGION)
        regions = parse_in_regions(
            self.source.path, self._workers, end, parts=parts, sink=LineIndex, pool=self._pool
        )
        try:
            for region in regions:
                if self.stop.is_set():
                    return True
                assert isinstance(region.sink, LineIndex)
                with self.store.lock:
                    self._ingest.take(region)
                    self.source.done = region.end
                self.notify()
        except (OSError, ValueError, BrokenProcessPool) as error:
            # No worker processes here (or the file went away): read it in this thread.
            self._reset(f"{self.source.path}: read in one thread ({error})")
            os.lseek(self._fd, 0, os.SEEK_SET)
            return False
        finally:
            regions.close()
            self._stop_pool()
        info = os.stat(self.source.path)
        if (info.st_dev, info.st_ino) != self._identity or os.fstat(self._fd).st_size < end:
            # Replaced or truncated while the workers read it by name: start again, in order.
            self._reset(f"{self.source.path} changed during the first read: read again")
            os.lseek(self._fd, 0, os.SEEK_SET)
            return True
        self._position = os.lseek(self._fd, end, os.SEEK_SET)
        for offset in _mark_offsets(0, end):
            self._marks[offset] = os.pread(self._fd, min(SAMPLE, end - offset), offset)
        self._tail = os.pread(self._fd, min(SAMPLE, end), max(end - SAMPLE, 0))
        return False  # the rest, appended meanwhile, is drained as usual

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _truncated(self) -> bool:
        """True (and a fresh start) when the file shrank or its bytes we read changed."""
        assert self._fd is not None
        info = os.fstat(self._fd)
        if info.st_size >= self._position and self._same_bytes():
            return False
        self._reset(f"{self.source.path} was truncated: read again from the start")
        os.lseek(self._fd, 0, os.SEEK_SET)
        with self.store.lock:
            self.source.total = info.st_size
        self._set(SourceStatus.READING if info.st_size else SourceStatus.LIVE)
        return True

    def _check_replaced(self) -> bool:
        """True when the file changed under us in a way that needs a fresh start."""
        assert self._fd is not None
        if self._truncated():
            return True
        try:
            now = os.stat(self.source.path)
        except FileNotFoundError:
            # Deleted: a writer may still append to the unlinked file; keep reading it until the
            # name comes back.
            self._set(SourceStatus.DELETED, f"{self.source.path} was deleted; waiting for it")
            return False
        if (now.st_dev, now.st_ino) != self._identity:
            self._drain()  # the rest of the rotated file first
            self._close_file()
            self._reset(f"{self.source.path} was replaced: following the new file")
            return True
        return False

    def _note_read(self, data: bytes) -> None:
        """``data`` was read at our position: move on, keeping its samples (see SAMPLE)."""
        start, end = self._position, self._position + len(data)
        for offset in _mark_offsets(start, end):
            piece = data[max(offset - start, 0) : offset + SAMPLE - start]
            self._marks[offset] = self._marks.get(offset, b"") + piece
        self._tail = (self._tail + data)[-SAMPLE:]
        self._position = end

    def _same_bytes(self) -> bool:
        """What we read is still there, as far as its samples tell."""
        assert self._fd is not None
        marks = [*self._marks.items(), (self._position - len(self._tail), self._tail)]
        return all(os.pread(self._fd, len(data), offset) == data for offset, data in marks)

    # -- compressed files and pipes: spooled ------------------------------------------------------

    def _new_spool(self) -> None:
        # Closed by _close_file when the source is replaced or the app stops.
        spool = tempfile.TemporaryFile(prefix="reginspect-")  # noqa: SIM115
        with self.store.lock:
            self._spool = spool
            self.source.fd = spool.fileno()

    def _read_compressed(self, fd: int, info: os.stat_result) -> None:
        # Damaged or whole, it is read once: again only when the file changes.
        self._stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        self._new_spool()
        self._set(SourceStatus.READING)
        stream = os.fdopen(os.dup(fd), "rb")
        try:
            for chunk in read_chunks(stream, self.source.path, CHUNK):
                if self.stop.is_set():
                    return
                self._feed(chunk)
                with self.store.lock:
                    self.source.done = min(stream.tell(), info.st_size)
        except UserError as error:
            self._set(SourceStatus.ENDED, error.message)
            return
        finally:
            stream.close()
        with self.store.lock:
            self.source.done = self.source.total
        self._set(SourceStatus.ENDED, f"compressed ({self.source.compressed}): read whole")

    def _watch_compressed(self) -> None:
        """A compressed log is complete when written; re-read it only when it is replaced."""
        self._wait()
        try:
            info = os.stat(self.source.path)
        except FileNotFoundError:
            return
        if (info.st_ino, info.st_size, info.st_mtime_ns) != self._stamp:
            self._close_file()
            with self.store.lock:
                self.source.compressed = None

    def _read_pipe(self) -> None:
        fd = self.stdin_fd if self.stdin_fd is not None else 0
        self._new_spool()
        self._set(SourceStatus.LIVE, "reading standard input")
        while not self.stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(fd, CHUNK)
            if not data:
                self._set(SourceStatus.ENDED, "standard input closed")
                return
            self._feed(data)


class Watcher:
    """inotify (watchdog) events on the sources' directories wake the matching readers."""

    def __init__(self, readers: list[SourceReader]) -> None:
        self.readers = readers
        self._observer: object | None = None

    def start(self) -> set[SourceReader]:
        """Watch what can be watched; returns the readers left to polling."""
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency
            return set(self.readers)
        by_path: dict[str, list[SourceReader]] = {}
        for reader in self.readers:
            if reader.source.path != "-":
                by_path.setdefault(os.path.abspath(reader.source.path), []).append(reader)

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                for path in (event.src_path, event.dest_path):
                    text = os.fsdecode(path) if path else ""
                    for reader in by_path.get(text, ()):
                        reader.wake.set()

        observer = Observer()
        polled: set[SourceReader] = set()
        handler = Handler()
        for directory in sorted({os.path.dirname(path) for path in by_path}):
            readers = [
                r for p, rs in by_path.items() if os.path.dirname(p) == directory for r in rs
            ]
            if not os.path.isdir(directory):
                polled.update(readers)  # inotify needs the directory; poll until it exists
                continue
            try:
                observer.schedule(handler, directory, recursive=False)
            except OSError:
                polled.update(readers)
        try:
            observer.start()
        except OSError:
            return set(self.readers)
        self._observer = observer
        return polled

    def stop(self) -> None:
        observer = self._observer
        if observer is not None:
            observer.stop()  # type: ignore[attr-defined]
            observer.join(timeout=1)  # type: ignore[attr-defined]
        self._observer = None


def _mark_offsets(start: int, end: int) -> list[int]:
    """The sample offsets (0, SAMPLE, 2 * SAMPLE, 4 * SAMPLE, ...) whose samples overlap
    bytes ``start``..``end``."""
    offsets = []
    offset = 0
    while offset < end:
        if offset + SAMPLE > start:
            offsets.append(offset)
        offset = max(SAMPLE, offset * 2)
    return offsets


def _last_line_start(fd: int) -> int:
    """Where the last line of the file starts (0 when it has no complete line)."""
    end = os.fstat(fd).st_size
    while end > 0:
        start = max(0, end - (1 << 16))
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0
