"""``reginspect plan --tui`` and ``P`` in the main TUI, in a real terminal (tmux): the matrix of
both directions between two saved streams of the corpus, the fix for the set, and the exit
status of the plan (1: a direction fails)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CORPUS, SAMPLES, require_corpus
from tests.e2e.tmux import REGINSPECT, Terminal

pytestmark = pytest.mark.e2e

CASE = "11.1-max-to-cortex-a57"  # -cpu max to cortex-a57: 88 extra registers one way
SHOWN = 20.0  # seconds, at most


def _streams() -> tuple[Path, Path]:
    require_corpus()
    case = CORPUS / CASE
    return case / "src.mig.xz", case / "dst.mig.xz"


def test_plan_tui_shows_both_directions_and_the_fix(tmp_path: Path) -> None:
    source, destination = _streams()
    terminal = Terminal(
        tmp_path,  # the terminal writes its exit status there: never in the repository
        f"{REGINSPECT} plan --tui max={source} a57={destination}",
        width=110,
        height=36,
    )
    try:
        terminal.wait_for(
            lambda s: "2 host configurations, 2 directions" in s and "max" in s and "a57" in s,
            SHOWN,
            "the plan's matrix",
        )
        terminal.press("f")
        terminal.wait_for(lambda s: "x-mig-hidden-regs" in s, SHOWN, "the fix for the set")
        terminal.press("q")
        assert terminal.exit_status(10) == "1", terminal.screen()  # max -> a57 fails
        assert not terminal.tracebacks, terminal.tracebacks[0]
    finally:
        terminal.close()


def test_shift_p_opens_the_plan_of_the_streams_and_esc_comes_back(tmp_path: Path) -> None:
    source, destination = _streams()
    log = SAMPLES / f"{CASE}.dst.stderr"
    terminal = Terminal(
        tmp_path,
        f"{REGINSPECT} {log} --stream {source} --stream {destination}",
        width=110,
        height=36,
    )
    try:
        terminal.wait_for(lambda s: "Extra (88)" in s, SHOWN, "the failed attempt")
        terminal.press("P")
        terminal.wait_for(
            lambda s: "2 host configurations, 2 directions" in s, SHOWN, "the plan's matrix"
        )
        terminal.press("Escape")
        terminal.wait_for(lambda s: "Extra (88)" in s, SHOWN, "the main screen again")
        terminal.press("q")
        assert terminal.exit_status(10) == "0", terminal.screen()
        assert not terminal.tracebacks, terminal.tracebacks[0]
    finally:
        terminal.close()
