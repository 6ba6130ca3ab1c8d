"""The first read of a big file, parsed and indexed in worker processes by regions, gives what
one reader thread gives; appends after it continue at the right lines and offsets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reginspect import ingest
from reginspect.analyze import session_report
from reginspect.report_json import report_json
from tests.app.conftest import COUNTS, FAILED, SUCCEEDED, data
from tests.conftest import SAMPLES, wait_until
from tui import follow
from tui.follow import SourceReader
from tui.store import SourceStatus, Store

TIMEOUT = 20.0


def _log() -> bytes:
    """Failures, successes, libvirt command-line blocks: ~80 KB, cut into many regions."""
    pieces = [data(SUCCEEDED), data(FAILED), (SAMPLES / "libvirt-guest1.log").read_bytes()]
    return b"".join(pieces) * 3 + data(COUNTS)


class Reading:
    def __init__(self, path: Path) -> None:
        self.store = Store([str(path)])
        self.stop = threading.Event()
        self.source = next(iter(self.store.sources.values()))
        self.reader = SourceReader(self.store, self.source, lambda: None, self.stop, poll=True)
        self.thread = threading.Thread(target=self.reader.run, daemon=True)
        self.thread.start()

    def live_at(self, size: int) -> bool:
        with self.store.lock:
            return self.source.status is SourceStatus.LIVE and self.source.index.size == size

    def report(self) -> dict[str, Any]:
        with self.store.lock:
            session = self.store.session
            return report_json(session_report(session))

    def close(self) -> None:
        self.stop.set()
        self.reader.wake.set()
        self.thread.join(timeout=5)


@pytest.fixture
def in_regions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Reading]]:
    monkeypatch.setattr(ingest, "PARALLEL_MIN_SIZE", 1)
    monkeypatch.setattr(follow, "FIRST_READ_REGION", 4096)
    made: list[Reading] = []
    yield made
    for reading in made:
        reading.close()


def _expected(path: Path) -> dict[str, Any]:
    session, problems = ingest.read_logs([str(path)])
    assert problems == []
    return report_json(session_report(session))


def _lines_agree(reading: Reading, content: bytes) -> None:
    lines = content.split(b"\n")[:-1]
    assert reading.store.line_count(reading.source.name) == len(lines)
    for first in (1, 2, 50, len(lines) // 2, len(lines) - 1, len(lines)):
        got = reading.store.read_lines(reading.source.name, first, 2)
        assert [text for _, text in got] == [line.decode() for line in lines[first - 1 : first + 1]]


def test_regions_give_the_one_thread_answer_then_follow(
    tmp_path: Path, in_regions: list[Reading]
) -> None:
    log = tmp_path / "big.log"
    content = _log()
    log.write_bytes(content)
    reading = Reading(log)
    in_regions.append(reading)
    assert reading.reader._pool is not None  # started before any UI could take stderr
    assert wait_until(lambda: reading.live_at(len(content)), TIMEOUT)
    assert reading.reader._pool is None  # stopped after the first read
    assert reading.report() == _expected(log)
    _lines_agree(reading, content)

    # An append after the regions: parsed by the thread, at the right lines and offsets.
    appended = data(FAILED)
    with log.open("ab") as out:
        out.write(appended)
    content += appended
    reading.reader.wake.set()
    assert wait_until(lambda: reading.live_at(len(content)), TIMEOUT)
    assert reading.report() == _expected(log)
    _lines_agree(reading, content)
    with reading.store.lock:
        last = reading.store.session.attempts()[-1]
        refs = [note.line for cpu in last.cpus.values() for note in cpu.notes()]
    assert refs
    for ref in refs:
        line = reading.store.line_at(reading.source.name, ref.offset)
        assert line == content.split(b"\n")[ref.line - 1].decode()


def test_workers_failing_fall_back_to_one_thread(
    tmp_path: Path, in_regions: list[Reading], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> Iterator[ingest.Region]:
        yield from list(ingest.parse_in_regions(*args, **kwargs))[:1]  # type: ignore[arg-type]
        raise ValueError("bad value(s) in fds_to_keep")

    monkeypatch.setattr(follow, "parse_in_regions", broken)
    log = tmp_path / "big.log"
    content = _log()
    log.write_bytes(content)
    reading = Reading(log)
    in_regions.append(reading)
    assert wait_until(lambda: reading.live_at(len(content)), TIMEOUT)
    assert reading.report() == _expected(log)
    _lines_agree(reading, content)
    assert any("read in one thread" in notice for notice in reading.store.notices)
