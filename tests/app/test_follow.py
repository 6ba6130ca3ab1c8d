"""Readers follow files through what happens to logs: late creation, pieces, truncation,
rotation, deletion, compression, pipes; with inotify and with polling."""

from __future__ import annotations

import lzma
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from parsers.logevents import Status
from reginspect.analyze import summarize
from reginspect.ingest import read_logs
from reginspect.results import Outcome
from tests.app.conftest import COUNTS, FAILED, FAILED_EXTRA, SUCCEEDED, data
from tests.conftest import append_in_pieces, wait_until
from tui.follow import SourceReader, Watcher
from tui.store import Source, SourceStatus, Store

TIMEOUT = 5.0


class Follow:
    def __init__(
        self, paths: list[str], *, poll: bool = False, stdin_fd: int | None = None
    ) -> None:
        self.store = Store(paths)
        self.stop = threading.Event()
        self.changes = 0
        self.readers = [
            SourceReader(self.store, s, self._changed, self.stop, poll=poll, stdin_fd=stdin_fd)
            for s in self.store.sources.values()
        ]
        self.watcher = None if poll else Watcher(self.readers)
        if self.watcher is not None:
            for reader in self.watcher.start():
                reader.interval = 0.05
        self.threads = [threading.Thread(target=r.run, daemon=True) for r in self.readers]
        for thread in self.threads:
            thread.start()

    def _changed(self) -> None:
        self.changes += 1

    @property
    def source(self) -> Source:
        return next(iter(self.store.sources.values()))

    def outcomes(self) -> list[Outcome]:
        with self.store.lock:
            return [summarize(attempt).outcome for attempt in self.store.session.attempts()]

    def extra(self) -> int:
        with self.store.lock:
            return sum(
                cpu.count(Status.EXTRA)
                for attempt in self.store.session.attempts()
                for cpu in summarize(attempt).cpus
            )

    def close(self) -> None:
        self.stop.set()
        for reader in self.readers:
            reader.wake.set()
        for thread in self.threads:
            thread.join(timeout=2)
        if self.watcher is not None:
            self.watcher.stop()


@pytest.fixture(params=["inotify", "poll"])
def follow(request: pytest.FixtureRequest) -> Iterator[type[Follow]]:
    made: list[Follow] = []
    poll = request.param == "poll"

    class Made(Follow):
        def __init__(
            self, paths: list[str], *, poll: bool = poll, stdin_fd: int | None = None
        ) -> None:
            super().__init__(paths, poll=poll, stdin_fd=stdin_fd)
            made.append(self)

    yield Made
    for item in made:
        item.close()


def _append_in_pieces(path: Path, content: bytes) -> None:
    append_in_pieces(path, content, random.Random(1), largest=4000)


def _following_the_failure(tmp_path: Path, follow: type[Follow]) -> tuple[Path, Follow]:
    """``dst.log`` holding the 11.1 failure, followed until its 88 extra registers are read."""
    path = tmp_path / "dst.log"
    path.write_bytes(data(FAILED))
    run = follow([str(path)])
    assert wait_until(lambda: run.extra() == FAILED_EXTRA, TIMEOUT)
    return path, run


def test_waits_for_a_file_then_follows_it_written_in_pieces(
    tmp_path: Path, follow: type[Follow]
) -> None:
    path = tmp_path / "later" / "dst.log"  # not even the directory exists yet
    run = follow([str(path)])
    assert wait_until(lambda: "waiting for" in run.source.message, TIMEOUT)
    assert run.source.status is SourceStatus.WAITING
    path.parent.mkdir()
    _append_in_pieces(path, data(FAILED))
    assert wait_until(lambda: run.extra() == FAILED_EXTRA, TIMEOUT)
    assert run.outcomes() == [Outcome.FAILED]
    # The last line is no register: wait for the whole file, not for the 88th register.
    assert wait_until(lambda: run.source.index.size == len(data(FAILED)), TIMEOUT)
    assert wait_until(lambda: run.source.status is SourceStatus.LIVE, TIMEOUT)


def test_truncation_then_new_content_starts_over(tmp_path: Path, follow: type[Follow]) -> None:
    path, run = _following_the_failure(tmp_path, follow)
    # copytruncate, then the new QEMU writes more than was there: the size never looks smaller.
    with path.open("r+b") as out:
        out.truncate(0)
        out.write(data(SUCCEEDED) * 3)
    assert wait_until(lambda: run.outcomes()[:1] == [Outcome.SUCCEEDED], TIMEOUT)
    assert run.extra() == 0
    assert run.source.resets >= 1
    assert any("truncated" in notice for notice in run.store.notices)


def test_copytruncate_then_a_longer_rewrite_with_the_same_start(
    tmp_path: Path, follow: type[Follow]
) -> None:
    # QEMU logs of two runs often share their first lines: only the bytes before the reader's
    # position tell that the file was rewritten.
    lines = data(FAILED).splitlines(keepends=True)
    old = b"".join(lines[:40])
    new = b"".join(lines[:2] + lines[60:]) + b"".join(lines[60:88]) * 2
    assert len(new) > len(old)
    assert old[:64] == new[:64]
    path = tmp_path / "dst.log"
    path.write_bytes(old)
    run = follow([str(path)])
    assert wait_until(lambda: run.source.index.size == len(old), TIMEOUT)
    with path.open("r+b") as out:
        out.truncate(0)
        out.write(new)
    truth, _ = read_logs([str(path)])  # what a fresh read of the new file finds
    expected = sum(
        cpu.count(Status.EXTRA) for attempt in truth.attempts() for cpu in summarize(attempt).cpus
    )
    assert expected > 0
    assert wait_until(lambda: run.source.resets >= 1 and run.extra() == expected, TIMEOUT)
    assert wait_until(lambda: run.source.index.size == len(new), TIMEOUT)


def test_truncation_to_smaller(tmp_path: Path, follow: type[Follow]) -> None:
    path, run = _following_the_failure(tmp_path, follow)
    path.write_bytes(b"")
    assert wait_until(lambda: run.outcomes() == [] and run.source.index.size == 0, TIMEOUT)
    _append_in_pieces(path, data(SUCCEEDED))
    assert wait_until(lambda: run.outcomes() == [Outcome.SUCCEEDED], TIMEOUT)


def test_rotation_follows_the_new_file(tmp_path: Path, follow: type[Follow]) -> None:
    path = tmp_path / "dst.log"
    path.write_bytes(data(FAILED)[:5000])
    run = follow([str(path)])
    assert wait_until(lambda: run.source.index.size == 5000, TIMEOUT)
    with path.open("ab") as out:  # written just before the rotation: must not be lost
        out.write(data(FAILED)[5000:])
    path.rename(tmp_path / "dst.log.1")
    path.write_bytes(data(SUCCEEDED))
    assert wait_until(lambda: run.outcomes() == [Outcome.SUCCEEDED], TIMEOUT)
    assert any("replaced" in notice for notice in run.store.notices)
    assert wait_until(lambda: run.source.index.size == len(data(SUCCEEDED)), TIMEOUT)


def test_deleted_then_created_again(tmp_path: Path, follow: type[Follow]) -> None:
    path, run = _following_the_failure(tmp_path, follow)
    path.unlink()
    assert wait_until(lambda: run.source.status is SourceStatus.DELETED, TIMEOUT)
    assert run.extra() == FAILED_EXTRA  # what was read stays on screen
    path.write_bytes(data(SUCCEEDED))
    assert wait_until(lambda: run.outcomes() == [Outcome.SUCCEEDED], TIMEOUT)
    assert wait_until(lambda: run.source.status is SourceStatus.LIVE, TIMEOUT)


def test_compressed_log_is_read_whole(tmp_path: Path, follow: type[Follow]) -> None:
    path = tmp_path / "dst.log.xz"
    path.write_bytes(lzma.compress(data(FAILED)))
    run = follow([str(path)])
    assert wait_until(lambda: run.source.status is SourceStatus.ENDED, TIMEOUT)
    assert run.extra() == FAILED_EXTRA
    assert run.source.compressed == "xz"
    # The raw view reads the decompressed text from the spool.
    assert run.store.read_lines(str(path), 1, 1)[0][1].startswith("qemu-system-aarch64:")


def test_pipe(follow: type[Follow]) -> None:
    read_end, write_end = os.pipe()
    run = follow(["-"], stdin_fd=read_end)
    content = data(FAILED)
    for start in range(0, len(content), 1000):
        os.write(write_end, content[start : start + 1000])
    assert wait_until(lambda: run.extra() == FAILED_EXTRA, TIMEOUT)
    os.close(write_end)
    assert wait_until(lambda: run.source.status is SourceStatus.ENDED, TIMEOUT)
    assert run.store.line_count("standard input") == content.count(b"\n")
    os.close(read_end)


def test_several_files_are_separate_sources(tmp_path: Path, follow: type[Follow]) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    # Two traced logs (two QEMU processes); an errors-only log would merge into a traced one.
    first.write_bytes(data(COUNTS))
    second.write_bytes(data(SUCCEEDED))
    run = follow([str(first), str(second)])
    assert wait_until(lambda: run.outcomes() == [Outcome.FAILED, Outcome.SUCCEEDED], TIMEOUT)
    with run.store.lock:
        assert [a.source for a in run.store.session.attempts()] == [str(first), str(second)]


def test_a_compressed_log_written_into_an_empty_file(tmp_path: Path, follow: type[Follow]) -> None:
    """Opened empty (a plain log, for all anyone knew), then a compressed log's bytes: read as
    the compressed log it is, not as text (a rewrite in place is seen this way mid-write)."""
    path = tmp_path / "dst.log"
    path.write_bytes(b"")
    run = follow([str(path)])
    assert wait_until(lambda: run.source.status is SourceStatus.LIVE, TIMEOUT)
    path.write_bytes(lzma.compress(data(FAILED)))
    assert wait_until(lambda: run.extra() == FAILED_EXTRA, TIMEOUT)
    assert run.source.compressed == "xz"


def test_damaged_compressed_log_is_read_once(tmp_path: Path, follow: type[Follow]) -> None:
    path = tmp_path / "dst.log.xz"
    packed = lzma.compress(data(FAILED))
    path.write_bytes(packed[: len(packed) // 2])
    run = follow([str(path)])
    assert wait_until(lambda: run.source.status is SourceStatus.ENDED, TIMEOUT)
    assert "damaged" in run.source.message
    epoch = run.source.epoch
    changes = run.changes
    time.sleep(1.2)  # more than two polling rounds of the watched file
    assert run.source.epoch == epoch
    assert run.changes == changes
    path.write_bytes(packed)  # the whole file now: read again
    assert wait_until(lambda: run.extra() == FAILED_EXTRA, TIMEOUT)
