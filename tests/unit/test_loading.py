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
    monkeypatch.setattr(loading, "_parallel_workers", lambda path: parts)
    assert loading._region_bounds(str(log), parts)[-1][1] == log.stat().st_size
    assert _report(log) == single


def test_cuts_never_fall_inside_a_libvirt_command_line(tmp_path: Path) -> None:
    log = tmp_path / "libvirt.log"
    log.write_bytes((SAMPLES / "libvirt-guest1.log").read_bytes() * 50)
    data = log.read_bytes()
    for start, _ in loading._region_bounds(str(log), 16)[1:]:
        previous_line = data[:start].rstrip(b"\n").rsplit(b"\n", 1)[-1]
        assert not previous_line.endswith(b"\\")


def test_regions_can_stop_at_a_line_start(tmp_path: Path) -> None:
    log = tmp_path / "growing.log"
    data = (SAMPLES / "libvirt-guest1.log").read_bytes() * 20
    log.write_bytes(data)
    end = data.index(b"\n", len(data) // 2) + 1
    prefix = tmp_path / "prefix.log"
    prefix.write_bytes(data[:end])
    expected = loading.parse_region(str(prefix), 0, end)
    regions = list(loading.parse_in_regions(str(log), 3, end))
    assert regions[-1][2] == end
    assert [e for events, _, _ in regions for e in events] == expected[0]
    assert sum(lines for _, lines, _ in regions) == expected[1]
