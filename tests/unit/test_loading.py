"""Parsing a big plain file in regions (one process per core) gives the single-process answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from reginspect import loading
from reginspect.report import build_report
from tests.conftest import SAMPLES


def _report(path: Path) -> dict[str, object]:
    session, problems = loading.load_logs([str(path)])
    assert problems == []
    return build_report(session.sources, session.attempts())


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_regions_agree_with_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    log = tmp_path / "many.log"
    pieces = [path.read_bytes() for path in sorted(SAMPLES.iterdir()) if path.is_file()]
    log.write_bytes(b"".join(pieces) * 3)
    single = _report(log)
    monkeypatch.setattr(loading, "PARALLEL_MIN_SIZE", 1)
    monkeypatch.setattr(loading, "parallel_workers", lambda path: parts)
    assert loading._region_bounds(str(log), parts)[-1][1] == log.stat().st_size
    assert _report(log) == single


def test_cuts_anywhere_in_libvirt_logs_give_the_one_pass_events(tmp_path: Path) -> None:
    log = tmp_path / "libvirt.log"
    log.write_bytes((SAMPLES / "libvirt-guest1.log").read_bytes() * 6)
    whole = loading.parse_region(str(log), 0, log.stat().st_size)
    for parts in range(2, 60):
        events, lines = [], 0
        for start, end in loading._region_bounds(str(log), parts):
            region = loading.parse_region(str(log), start, end)
            events += loading._shift(region.events, lines)
            lines += region.lines
        assert (events, lines) == (whole.events, whole.lines), parts


def test_regions_can_stop_at_a_line_start(tmp_path: Path) -> None:
    log = tmp_path / "growing.log"
    data = (SAMPLES / "libvirt-guest1.log").read_bytes() * 20
    log.write_bytes(data)
    end = data.index(b"\n", len(data) // 2) + 1
    prefix = tmp_path / "prefix.log"
    prefix.write_bytes(data[:end])
    expected = loading.parse_region(str(prefix), 0, end)
    regions = list(loading.parse_in_regions(str(log), 3, end, parts=5))
    assert len(regions) == 5
    assert regions[-1].end == end
    assert [e for region in regions for e in region.events] == expected.events
    assert sum(region.lines for region in regions) == expected.lines
