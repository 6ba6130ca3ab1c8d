"""Ask a QEMU configuration for its CPU register list: start it paused, save its migration
stream through QMP, quit it, and read the stream. The pre-flight check before a migration.

QEMU runs from an argument list (never a shell of ours), in a private temporary directory that is
always removed, and its process group is always reaped, Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parsers.stream import StreamContents, parse_stream
from reginspect.errors import UserError

STDERR_LINES = 8


@dataclass(frozen=True, slots=True)
class ProbeResult:
    command: tuple[str, ...]
    contents: StreamContents
    seconds: float


def probe_command(command: Sequence[str], qmp_socket: str) -> list[str]:
    """The user's command line, paused (-S) and with our private QMP socket added."""
    argv = list(command)
    if "-S" not in argv:
        argv.append("-S")
    argv += ["-qmp", f"unix:{qmp_socket},server=on,wait=off"]
    return argv


def _stderr_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-STDERR_LINES:])


async def _save_stream(
    qmp_socket: str, stream_path: Path, process: subprocess.Popen[bytes], deadline: float
) -> None:
    from qemu.qmp import QMPClient  # imported here: only probe needs it

    client = QMPClient("reginspect-probe")
    while True:
        if process.poll() is not None:
            raise _EarlyExit()
        try:
            await asyncio.wait_for(client.connect(qmp_socket), timeout=1.0)
            break
        except Exception:  # the socket is not up yet (qemu.qmp raises several kinds)
            if time.monotonic() > deadline:
                raise _Timeout() from None
            await asyncio.sleep(0.05)
    try:
        # QEMU runs the exec: target through /bin/sh: the path is ours and quoted.
        await client.execute("migrate", {"uri": f"exec:cat > {shlex.quote(str(stream_path))}"})
        while True:
            status = await client.execute("query-migrate")
            state = status.get("status") if isinstance(status, dict) else None
            if state == "completed":
                break
            if state in ("failed", "cancelled"):
                raise UserError(f"QEMU could not save its migration stream ({status}).")
            if time.monotonic() > deadline:
                raise _Timeout()
            await asyncio.sleep(0.05)
        with contextlib.suppress(Exception):
            await client.execute("quit")
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()


class _EarlyExit(Exception):
    pass


class _Timeout(Exception):
    pass


def _reap(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def probe(command: Sequence[str], timeout: float = 60.0) -> ProbeResult:
    """Run ``command`` (a QEMU command line) paused and return its saved stream's contents."""
    if not command:
        raise UserError(
            "probe: give a QEMU command line after --, e.g. -- qemu-system-aarch64 -M virt -cpu max"
        )
    binary = command[0]
    if shutil.which(binary) is None:
        raise UserError(
            f"probe: {binary}: not found; install it (Debian: apt-get install qemu-system-arm) "
            "or give its full path."
        )
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="reginspect-probe-"))
    qmp_socket = str(workdir / "qmp.sock")
    stream_path = workdir / "stream.mig"
    stderr_path = workdir / "stderr.txt"
    process: subprocess.Popen[bytes] | None = None
    try:
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                probe_command(command, qmp_socket),
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                cwd=workdir,
                start_new_session=True,  # its own process group: reaped whole
            )
        deadline = started + timeout
        try:
            asyncio.run(_save_stream(qmp_socket, stream_path, process, deadline))
        except _EarlyExit:
            code = process.wait()
            raise UserError(
                f"probe: QEMU exited with status {code} before its stream was saved: "
                f"{_stderr_tail(stderr_path) or 'it printed nothing'}"
            ) from None
        except _Timeout:
            raise UserError(
                f"probe: QEMU did not save its stream within {timeout:g} s (raise --timeout); "
                f"its output: {_stderr_tail(stderr_path) or 'none'}"
            ) from None
        # It saved the stream: its exit is welcome, not needed.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        data = stream_path.read_bytes() if stream_path.exists() else b""
        contents = parse_stream(data)
        if contents.error is not None:
            raise UserError(
                f"probe: the stream QEMU saved cannot be read: {contents.error.message}"
            )
        return ProbeResult(tuple(command), contents, time.monotonic() - started)
    finally:
        if process is not None:
            _reap(process)
        shutil.rmtree(workdir, ignore_errors=True)
