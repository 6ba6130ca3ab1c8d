"""Fixtures of the TUI tests: small real logs (decompressed copies from the QEMU corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import answer_key

DATA = Path(__file__).resolve().parent / "data"
FAILED = "failed-11.1.log"  # 11.1 max -> cortex-a57: names its extra registers (a copy of the
# corpus case's standard error, whose answer key, computed from the saved streams, counts them)
FAILED_CASE = "11.1-max-to-cortex-a57"
FAILED_TRACE = "failed-11.1.trace.log"  # the -D trace file of the same QEMU
COUNTS = "counts-7.2.log"  # 7.2 max -> cortex-a57: counts only (304 vs 258)
SUCCEEDED = "succeeded-11.1.log"  # 11.1 cortex-a72 -> itself, ram_load noise removed


_KEY = answer_key(FAILED_CASE)
FAILED_EXTRA: int = len(_KEY["only_in_stream"])  # 88
FAILED_MATCHED: int = _KEY["matched"]  # 274


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture(autouse=True)
def no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tabs slide their underline when a label's width changes: a snapshot could catch it
    half-way. Apps made from now on do not animate (read by App.__init__)."""
    import textual.constants

    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def in_data(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in the data directory so that screens show short, stable relative paths."""
    monkeypatch.chdir(DATA)
    return DATA


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def two_cpu_log() -> bytes:
    """The 11.1 failure with a second vCPU's walk (40 registers) before QEMU's error line."""
    lines = data(FAILED).splitlines(keepends=True)
    walk = [line for line in lines if b"handle_cpreg" in line]
    rest = [line for line in lines if b"handle_cpreg" not in line]
    return b"".join(walk + walk[:40] + rest)


HOSTILE = (
    b"qemu-system-aarch64: [bold red]boom[/] \x1b]52;c;aGVsbG8=\x07 \x1b[31mred\x1b[0m "
    b"handle_cpreg_only_in_incoming_stream: system register 0x200f0803 in the incoming stream "
    b"but unknown on the destination: fail migration\n"
)


def hostile_log() -> bytes:
    """The failure whose first register line carries markup and OSC 52/SGR escapes."""
    lines = data(FAILED).splitlines(keepends=True)
    return HOSTILE + b"".join(lines[1:])


@pytest.fixture
def in_made_logs(in_tmp: Path) -> Path:
    """``in_tmp`` holding the logs made from the small ones: ``two-cpus.log``,
    ``two-attempts.log`` (the 7.2 failure, then the 11.1 success) and ``hostile.log``."""
    (in_tmp / "two-cpus.log").write_bytes(two_cpu_log())
    (in_tmp / "two-attempts.log").write_bytes(data(COUNTS) + data(SUCCEEDED))
    (in_tmp / "hostile.log").write_bytes(hostile_log())
    return in_tmp
