"""The real ``reginspect`` command in a real terminal (tmux), following a log through its life:
created late, written in random pieces, truncated and rewritten, rotated away and replaced."""

from __future__ import annotations

import lzma
import random
import time
from pathlib import Path

import pytest

from tests.conftest import CORPUS, append_in_pieces, extra_registers, require_corpus
from tests.e2e.tmux import REGINSPECT, Terminal

pytestmark = pytest.mark.e2e

FAILED = CORPUS / "11.1-max-to-cortex-a57" / "dst.stderr"
SUCCEEDED = CORPUS / "11.1-cortex-a72-to-cortex-a72" / "dst.stderr.xz"  # 8 MB of noisy traces
COUNTS = CORPUS / "7.2-max-to-cortex-a57" / "dst.stderr"


def _extra_names() -> list[str]:
    """The names the TUI shows first: FAILED's extra registers sorted by id (its answer key)."""
    return list(extra_registers("11.1-max-to-cortex-a57").values())


def _start(tmp_path: Path, arguments: str, *, before: str = "") -> Terminal:
    """``reginspect ARGUMENTS`` in a terminal, in ``tmp_path``."""
    require_corpus()
    return Terminal(tmp_path, f"{before}{REGINSPECT} {arguments}")


def _quit(terminal: Terminal) -> None:
    """``q`` ends the app with status 0; no traceback was ever on screen."""
    terminal.press("q")
    assert terminal.exit_status(10) == "0", terminal.screen()
    assert not terminal.tracebacks, terminal.tracebacks[0]


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "poll"])
def test_follows_a_log_through_its_life(tmp_path: Path, poll: bool) -> None:
    rng = random.Random(6)
    log = tmp_path / "dst.log"
    terminal = _start(tmp_path, "--poll dst.log" if poll else "dst.log")
    try:
        terminal.wait_for(
            lambda s: "Waiting for dst.log to be created" in s, 20, "the waiting note"
        )

        # One register line, written in two pieces: how long until its name is on screen.
        content = FAILED.read_bytes()
        first = content[: content.index(b"\n") + 1]
        names = _extra_names()
        with log.open("ab", buffering=0) as out:
            out.write(first[:40])
            time.sleep(0.1)
            out.write(first[40:])
        delay = terminal.wait_for(lambda s: names[0] in s, 20.0, names[0])
        print(f"one appended line on screen after {delay * 1000:.0f} ms")

        # The rest of the failure log arrives in random pieces; the extra registers' names
        # appear (how fast: benchmarks/run.py, append → table).
        append_in_pieces(log, content[len(first) :], rng, largest=3000, pauses=(0, 0, 0.001, 0.01))
        names = names[:3]
        delay = terminal.wait_for(lambda s: all(n in s for n in names), 20.0, f"{names}")
        print(f"extra register names on screen {delay * 1000:.0f} ms after the last write")
        assert "#0 failed" in terminal.screen()

        # copytruncate, then a successful migration's log (8 MB) is written in its place.
        with log.open("r+b") as out:
            out.truncate(0)
            out.write(lzma.decompress(SUCCEEDED.read_bytes()))
        terminal.wait_for(lambda s: "#0 succeeded" in s, 10, "the new attempt")

        # Rotation: the file is renamed away and a new one is created under the name.
        log.rename(tmp_path / "dst.log.1")
        log.write_bytes(COUNTS.read_bytes())
        terminal.wait_for(
            lambda s: "304 registers, destination 258" in s and "#0 succeeded" not in s,
            10,
            "the new file's counts",
        )

        _quit(terminal)
    finally:
        terminal.close()


def test_follows_a_pipe(tmp_path: Path) -> None:
    """``reginspect -``: the log comes down a pipe in two parts, keys still come from the tty."""
    content = FAILED.read_bytes()
    (tmp_path / "first").write_bytes(content[:5000])
    (tmp_path / "rest").write_bytes(content[5000:])
    terminal = _start(tmp_path, "-", before="(cat first; sleep 1; cat rest) | ")
    try:
        names = _extra_names()
        terminal.wait_for(lambda s: names[0] in s, 20, names[0])
        terminal.wait_for(lambda s: "Extra (88)" in s and "(ended)" in s, 10, "the whole log")
        terminal.press("s")
        # Stock QEMU 11.1: upstream's tolerances are the fix there.
        terminal.wait_for(lambda s: "arm_register_cpreg_mig_tolerance" in s, 5, "the suggestions")
        _quit(terminal)
    finally:
        terminal.close()
