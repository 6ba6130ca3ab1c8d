"""A report made by several processes, each reading a region of the log to its end, is the
report one process makes, to the byte, in every form."""

from __future__ import annotations

import itertools
import lzma
import pickle
from pathlib import Path

import pytest

from reginspect import fanout
from reginspect.analyze import session_report
from reginspect.ingest import read_logs
from reginspect.render import render, render_parts
from reginspect.suggest import FixOptions, suggestions_for
from tests.conftest import CASES, SAMPLES


def fixes(summaries):  # type: ignore[no-untyped-def]
    return suggestions_for(summaries, FixOptions())


def _log(tmp_path: Path) -> Path:
    """Real destination logs one after another, as a log kept across runs: failures with and
    without traces, successes, a libvirt domain log, a counts-only QEMU."""
    pieces = [(SAMPLES / name).read_bytes() for name in ("libvirt-guest1.log",)]
    for case in CASES:
        for path in case.destination_logs():
            data = path.read_bytes()
            pieces.append(lzma.decompress(data) if path.suffix == ".xz" else data)
    log = tmp_path / "many.log"
    log.write_bytes(b"".join(pieces) * 2)
    return log


@pytest.mark.parametrize("form", ["text", "json", "markdown"])
@pytest.mark.parametrize("workers", [2, 5])
def test_fanned_out_report_is_the_one_process_report(
    tmp_path: Path, form: str, workers: int
) -> None:
    log = _log(tmp_path)
    session, problems = read_logs([str(log)])
    alone = render(session_report(session, problems, fixes), form)
    made = fanout.fan_out(
        str(log), str(log), workers, form, matched=False, fixes=fixes, directory=str(tmp_path)
    )
    assert made is not None
    assert len(fanout.attempt_cuts(str(log), workers)) > 2
    fanned = "".join(render_parts(made.report, form, attempts=made.attempts))
    assert fanned == alone
    assert made.report.exit_status == session_report(session, problems, fixes).exit_status


def test_cuts_fall_where_an_attempt_ended(tmp_path: Path) -> None:
    log = _log(tmp_path)
    data = log.read_bytes()
    cuts = fanout.attempt_cuts(str(log), 7)
    assert cuts[0] == 0
    assert cuts[-1] == len(data)
    for cut in cuts[1:-1]:
        before = data[data.rfind(b"\n", 0, cut - 1) + 1 : cut]
        after = data[cut : data.find(b"\n", cut)]
        ended = any(marker in before for marker in fanout._ENDS_AFTER)
        ended = ended or fanout._CLEANUP in before or fanout._STARTS_BEFORE in after
        assert ended, (before, after)
    assert all(a < b for a, b in itertools.pairwise(cuts))


def test_a_log_with_nowhere_to_cut_is_left_to_one_process(tmp_path: Path) -> None:
    log = tmp_path / "one.log"
    log.write_bytes(b"qemu-system-aarch64: handle_cpreg_x\n" * 1000)
    assert fanout.attempt_cuts(str(log), 4) == [0, log.stat().st_size]
    made = fanout.fan_out(
        str(log), "one.log", 4, "text", matched=False, fixes=fixes, directory=str(tmp_path)
    )
    assert made is None


def test_a_region_writes_each_distinct_summary_once_however_many_it_remembers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the recent ones kept by value, a summary met again is known by its digest: the
    file holds each distinct one once, and each attempt's place points at an equal one."""
    log = _log(tmp_path)
    monkeypatch.setattr(fanout, "RECENT_SUMMARIES", 2)
    size = log.stat().st_size
    region = fanout.report_region(str(log), str(log), 0, size, None, False, str(tmp_path))
    written = [pickle.loads(data) for data in fanout._records(region.distinct)]  # noqa: S301
    assert len(written) == len(set(written)) < len(region.order)
    session, _ = read_logs([str(log)])
    alone = [fanout._standing_for(summary) for summary in session_report(session).summaries]
    assert [written[place] for place in region.order] == alone
