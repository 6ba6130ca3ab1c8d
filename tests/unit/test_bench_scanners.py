"""benchmarks/scanners.py on a tiny log: every finder that loads finds the same lines, and each
report made with it is the default one. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import make_log, scanners
from parsers.logshapes import NEEDLES


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scanners") / "small.log"
    make_log.generate(path, 2 << 20, version="mixed", seed=3, failures=3)
    return path


def test_every_finder_agrees_and_reports_alike(log: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert scanners.main(["--log", str(log), "--runs", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["finders"]) >= {"memmem (glibc, one pass a needle)", "ahocorasick-rs"}
    for needles in map(str, scanners.NEEDLE_SETS):
        search = result["search"][needles]
        assert search["agree"] is True
        for mode in ("pieces", "whole"):
            assert set(search[mode]) == set(result["finders"])
            assert all(r["mb_per_s_per_core"] > 0 for r in search[mode].values())
        report = result["report"][needles]
        assert report["grep"]["wall_best_s"] > 0
        assert all(report[name]["same_report"] for name in result["finders"])


def test_future_needles_are_new_and_can_be_searched() -> None:
    more = len(NEEDLES) + len(scanners.FUTURE_NEEDLES)
    assert set(scanners.NEEDLE_SETS) == {len(NEEDLES), more}
    assert not set(scanners.FUTURE_NEEDLES) & set(NEEDLES)
    for _, make in scanners.FINDERS.values():
        try:
            finder = make(scanners.NEEDLE_SETS[more])
        except ImportError:
            continue
        line = b"qemu-system-aarch64: Missing section footer for cpu\n"
        assert finder.line_starts(b"x\n" + line, 0, 2 + len(line)) == [2]
