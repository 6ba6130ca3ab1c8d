"""Parsing a big plain file in regions (one process per core) gives the single-process answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.logevents import LogEvent
from reginspect import ingest
from reginspect.analyze import session_report
from reginspect.report_json import report_json
from tests.conftest import SAMPLES


def _report(path: Path) -> dict[str, object]:
    session, problems = ingest.read_logs([str(path)])
    assert problems == []
    return report_json(session_report(session))


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_regions_agree_with_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    log = tmp_path / "many.log"
    pieces = [path.read_bytes() for path in sorted(SAMPLES.iterdir()) if path.is_file()]
    log.write_bytes(b"".join(pieces) * 3)
    single = _report(log)
    monkeypatch.setattr(ingest, "PARALLEL_MIN_SIZE", 1)
    monkeypatch.setattr(ingest, "parallel_workers", lambda path: parts)
    assert ingest._region_bounds(str(log), parts)[-1][1] == log.stat().st_size
    assert _report(log) == single


def test_cuts_anywhere_in_libvirt_logs_give_the_one_pass_events(tmp_path: Path) -> None:
    log = tmp_path / "libvirt.log"
    log.write_bytes((SAMPLES / "libvirt-guest1.log").read_bytes() * 6)
    whole = ingest.parse_region(str(log), 0, log.stat().st_size)
    for parts in range(2, 60):
        events: list[LogEvent] = []
        lines = 0
        for start, end in ingest._region_bounds(str(log), parts):
            region = ingest.parse_region(str(log), start, end)
            events += ingest._shifted(region.events, lines)
            lines += region.lines
        assert (events, lines) == (whole.events, whole.lines), parts


def test_regions_can_stop_at_a_line_start(tmp_path: Path) -> None:
    log = tmp_path / "growing.log"
    data = (SAMPLES / "libvirt-guest1.log").read_bytes() * 20
    log.write_bytes(data)
    end = data.index(b"\n", len(data) // 2) + 1
    prefix = tmp_path / "prefix.log"
    prefix.write_bytes(data[:end])
    expected = ingest.parse_region(str(prefix), 0, end)
    regions = list(ingest.parse_in_regions(str(log), 3, end, parts=5))
    assert len(regions) == 5
    assert regions[-1].end == end
    assert [e for region in regions for e in region.events] == expected.events
    assert sum(region.lines for region in regions) == expected.lines
