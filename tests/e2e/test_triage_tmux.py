"""Issue 16, "Must show": the real ``reginspect LOG`` in a real terminal (tmux), on a libvirt
domain log of 30 incoming migrations and on a long trace log, each with one failure between
successes. Without a key pressed, the first screen shows the session's summary and the failed
attempt's extra registers, at 160x45 and at 80x24; ``report`` on the same logs names the
outcomes libvirt and QEMU 11.1 told."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app.sessions import libvirt_session, long_trace_log
from tests.conftest import REPO, require_corpus
from tests.e2e.tmux import REGINSPECT, Terminal

pytestmark = pytest.mark.e2e

SIZES = [(160, 45), (80, 24)]
FIRST_SCREEN = 20.0  # seconds, at most, for a log read whole and shown
TRACE_SIZE = 64 << 20  # bytes of trace log: 45 QEMU runs of 11.1 with their RAM traffic


class Session:
    def __init__(self, path: Path, attempts: int, failed: int) -> None:
        self.path = path
        self.attempts = attempts
        self.failed = failed


@pytest.fixture(scope="module")
def libvirt_log(tmp_path_factory: pytest.TempPathFactory) -> Session:
    require_corpus()
    path = tmp_path_factory.mktemp("libvirt") / "guest1.log"
    path.write_bytes(libvirt_session(attempts=30, failed=(17,)))
    return Session(path, 30, 17)


@pytest.fixture(scope="module")
def trace_log(tmp_path_factory: pytest.TempPathFactory) -> Session:
    require_corpus()
    path = tmp_path_factory.mktemp("trace") / "dst.trace.log"
    attempts = long_trace_log(path, size=TRACE_SIZE, successes=59, failed=30)
    return Session(path, attempts, 30)


def _first_screen(session: Session, size: tuple[int, int]) -> None:
    width, height = size
    summary = f"{session.attempts} attempts: 1 failed, {session.attempts - 1} succeeded"
    terminal = Terminal(
        session.path.parent, f"{REGINSPECT} {session.path.name}", width=width, height=height
    )
    try:
        took = terminal.wait_for(
            lambda s: summary in s and "Extra (88)" in s and "ACTLR2" in s and "HACTLR2" in s,
            FIRST_SCREEN,
            "the summary and the failed attempt's extra registers",
        )
        screen = terminal.screen()
        print(f"{session.path.name} at {width}x{height}: first screen after {took:.2f} s")
        print(screen)
        assert f"#{session.failed} failed 88 extra" in screen
        assert "0x40200000200f0803" in screen  # ACTLR2's id, in the table
        assert not re.search(r"#\d+ (unknown|in-progress)", screen)  # every outcome is told
        assert "not named" not in screen
        terminal.press("q")
        assert terminal.exit_status(10) == "0", terminal.screen()
        assert not terminal.tracebacks, terminal.tracebacks[0]
    finally:
        terminal.close()


@pytest.mark.parametrize("size", SIZES, ids=["160x45", "80x24"])
def test_libvirt_log_opens_on_its_failure(libvirt_log: Session, size: tuple[int, int]) -> None:
    _first_screen(libvirt_log, size)


@pytest.mark.parametrize("size", SIZES, ids=["160x45", "80x24"])
def test_long_trace_log_opens_on_its_failure(trace_log: Session, size: tuple[int, int]) -> None:
    _first_screen(trace_log, size)


def _report(path: Path, form: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "reginspect", "report", str(path), "--format", form],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # one attempt failed
    return done.stdout


@pytest.mark.parametrize("log", ["libvirt_log", "trace_log"])
def test_report_names_what_libvirt_and_qemu_told(log: str, request: pytest.FixtureRequest) -> None:
    session: Session = request.getfixturevalue(log)
    attempts = json.loads(_report(session.path, "json"))["attempts"]
    outcomes = [attempt["outcome"] for attempt in attempts]
    assert len(outcomes) == session.attempts
    assert outcomes[session.failed] == "failed"
    assert outcomes.count("succeeded") == session.attempts - 1
    text = _report(session.path, "text")
    assert text.startswith(
        f"{session.attempts} attempts: 1 failed, {session.attempts - 1} succeeded"
    )
    heads = [line for line in text.splitlines() if ": attempt " in line]
    assert len(heads) == session.attempts
    for number, head in enumerate(heads):
        assert "UNKNOWN" not in head
        assert "not named" not in head
        if number == session.failed:
            assert "FAILED — 88 extra, 0 missing" in head
        else:
            assert "SUCCEEDED — no difference" in head, head
