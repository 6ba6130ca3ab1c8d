"""`probe` without QEMU: argument building and every failure sentence, processes always reaped."""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from reginspect.probe import probe_command


def fake_qemu(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-qemu"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def probe_dirs() -> set[str]:
    return {
        name for name in os.listdir(tempfile.gettempdir()) if name.startswith("reginspect-probe-")
    }


def test_command_is_paused_and_gets_a_private_qmp_socket() -> None:
    argv = probe_command(["qemu-system-aarch64", "-M", "virt"], "/tmp/x/qmp.sock")
    assert argv[:3] == ["qemu-system-aarch64", "-M", "virt"]
    assert "-S" in argv
    assert argv[-2:] == ["-qmp", "unix:/tmp/x/qmp.sock,server=on,wait=off"]
    assert probe_command(["q", "-S"], "s").count("-S") == 1


def test_missing_binary(run_cli: Any) -> None:
    status, out, err = run_cli("probe", "--", "qemu-system-nonexistent", "-M", "virt")
    assert (status, out) == (2, "")
    assert "not found" in err
    assert "Traceback" not in err


def test_no_command(run_cli: Any) -> None:
    status, _, err = run_cli("probe")
    assert status == 2
    assert "command line after --" in err


def test_qemu_exiting_early_shows_its_stderr(run_cli: Any, tmp_path: Path) -> None:
    before = probe_dirs()
    binary = fake_qemu(tmp_path, 'echo "qemu: unsupported machine type" >&2; exit 1')
    status, _, err = run_cli("probe", "--timeout", "10", "--", binary, "-M", "nope")
    assert status == 2
    assert "exited with status 1" in err
    assert "unsupported machine type" in err
    assert probe_dirs() == before  # the private directory is removed


def test_timeout_kills_and_reaps_the_process(run_cli: Any, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    binary = fake_qemu(tmp_path, f"echo $$ > {marker}; exec sleep 60")
    started = time.monotonic()
    status, _, err = run_cli("probe", "--timeout", "1", "--", binary)
    assert status == 2
    assert "within 1 s" in err
    assert time.monotonic() - started < 15
    pid = int(marker.read_text())
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_ctrl_c_reaps_qemu_and_removes_the_private_directory(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    marker = tmp_path / "pid"
    binary = fake_qemu(tmp_path, f"echo $$ > {marker}; exec sleep 60")
    before = probe_dirs()
    command = [sys.executable, "-m", "reginspect", "probe", "--timeout", "30", "--", binary]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < deadline, "the fake QEMU never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    pid = int(marker.read_text())
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    assert probe_dirs() == before
