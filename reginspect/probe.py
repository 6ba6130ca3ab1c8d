"""Ask a QEMU configuration for its CPU register list: start it paused, save its migration
stream through QMP, quit it, and read the stream. The pre-flight check before a migration.

QEMU runs from an argument list (never a shell of ours), in a private temporary directory that is
always removed, and its process group is always reaped: errors, timeouts, Ctrl-C, SIGTERM.
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
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from parsers.stream import StreamContents, parse_stream
from reginspect.errors import UserError
from reginspect.textsafe import printable

STDERR_LINES: Final = 6
SOCKET_PATH_MAX: Final = 104  # sun_path holds 108 bytes on Linux, 104 on the BSDs
# `migrate "file:..."` exists from QEMU 8.2; before, `exec:` is the only way to a file, and it
# runs /bin/sh inside QEMU (refused under -sandbox spawn=deny).
FILE_URI_SINCE: Final = (8, 2)
# With exec:, `cat` may still be writing when QEMU reports completion: how long to wait for the
# file to become a whole stream.
SETTLE_SECONDS: Final = 3.0
# Options after which QEMU cannot be probed, and what to do instead.
REFUSED_OPTIONS: Final = {
    "incoming": "-incoming makes QEMU wait for a stream instead of saving its own: probe the "
    "same command line without it",
    "daemonize": "-daemonize detaches QEMU from reginspect, which must reap it: drop it",
}


@dataclass(frozen=True, slots=True)
class ProbeResult:
    command: tuple[str, ...]
    contents: StreamContents
    qemu_version: str  # as QMP's query-version says, e.g. "7.2.22 (Debian 1:7.2+dfsg-7)"
    uri: str  # the migrate URI the stream was saved with
    seconds: float


class _EarlyExit(Exception):
    pass


class _Refused(Exception):
    """QEMU answered `migrate` or `query-migrate` with an error: the sentence is QEMU's."""


def option_name(arg: str) -> str | None:
    """The option an argument names ("-S", "--S", "-qmp=x" -> "S", "S", "qmp"); None for a value.

    QEMU accepts one or two leading dashes for every option.
    """
    if not arg.startswith("-") or arg in ("-", "--"):
        return None
    return arg.lstrip("-").split("=", 1)[0]


def check_command(command: Sequence[str]) -> None:
    """Refuse, in one sentence, a command line a probe cannot run."""
    if not command:
        raise UserError(
            "probe: give a QEMU command line after --, e.g. "
            "reginspect probe -- qemu-system-aarch64 -M virt -cpu max -nodefaults -display none"
        )
    for arg in command[1:]:
        name = option_name(arg)
        if name in REFUSED_OPTIONS:
            raise UserError(f"probe: {REFUSED_OPTIONS[name]}.")


def probe_command(command: Sequence[str], qmp_socket: str) -> list[str]:
    """The user's command line, paused (-S added if absent) and with our private QMP socket.

    A -qmp of the user's stays as it is: QEMU serves several monitors, ours is one more.
    """
    argv = list(command)
    if not any(option_name(arg) == "S" for arg in argv[1:]):
        argv.append("-S")
    argv += ["-qmp", f"unix:{qmp_socket},server=on,wait=off"]
    return argv


def migration_uri(path: Path, version: tuple[int, int], *, file_uri: bool = True) -> str:
    """How QEMU of ``version`` writes its stream to ``path``."""
    # file: takes ",offset=N" after the name, so a comma in our path would be misread.
    if file_uri and version >= FILE_URI_SINCE and "," not in str(path):
        return f"file:{path}"
    # QEMU hands exec: to /bin/sh -c: the path is ours, quoted all the same.
    return f"exec:cat > {shlex.quote(str(path))}"


def stderr_tail(path: Path, lines: int = STDERR_LINES) -> str:
    """The last lines QEMU printed, on one line, made inert for a terminal."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return printable(" | ".join(kept))


def _version(reply: Any) -> tuple[tuple[int, int], str]:
    qemu = reply.get("qemu", {}) if isinstance(reply, dict) else {}
    major, minor, micro = (int(qemu.get(key, 0)) for key in ("major", "minor", "micro"))
    package = str(reply.get("package", "")).strip() if isinstance(reply, dict) else ""
    text = f"{major}.{minor}.{micro}" + (f" ({package})" if package else "")
    return (major, minor), text


async def _connect(client: Any, qmp_socket: str, process: subprocess.Popen[bytes]) -> None:
    while True:
        if process.poll() is not None:
            raise _EarlyExit()
        try:
            # Not asyncio.wait_for: on Python 3.11 it can swallow the cancellation that the
            # overall timeout sends, and this loop would then outlive the deadline.
            async with asyncio.timeout(1.0):
                await client.connect(qmp_socket)
            return
        except Exception:  # the socket is not up yet (qemu.qmp raises several kinds)
            await asyncio.sleep(0.05)


async def _migrate(client: Any, stream_path: Path, version: tuple[int, int]) -> str:
    from qemu.qmp import ExecuteError

    uri = migration_uri(stream_path, version)
    try:
        await client.execute("migrate", {"uri": uri})
        return uri
    except ExecuteError as error:
        if uri.startswith("exec:"):
            raise _Refused(str(error)) from None
    # A build that refuses file: (or a newer QEMU that changed it) may still take exec:.
    uri = migration_uri(stream_path, version, file_uri=False)
    try:
        await client.execute("migrate", {"uri": uri})
    except ExecuteError as error:
        raise _Refused(str(error)) from None
    return uri


async def _session(
    qmp_socket: str, stream_path: Path, process: subprocess.Popen[bytes]
) -> tuple[str, str]:
    """Connect, save the stream, quit. Returns QEMU's version text and the URI used."""
    from qemu.qmp import QMPClient  # imported here: only probe needs it

    client = QMPClient("reginspect-probe")
    await _connect(client, qmp_socket, process)
    try:
        version, version_text = _version(await client.execute("query-version"))
        uri = await _migrate(client, stream_path, version)
        while True:
            reply = await client.execute("query-migrate")
            status: dict[str, Any] = reply if isinstance(reply, dict) else {}
            state = status.get("status")
            if state == "completed":
                break
            if state in ("failed", "cancelled"):
                reason = status.get("error-desc") or "QEMU gave no reason"
                raise _Refused(f"the migration {state}: {reason}")
            await asyncio.sleep(0.02)
        with contextlib.suppress(Exception):  # it may close the socket before answering
            await client.execute("quit")
        return version_text, uri
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # An interrupted probe leaves qemu.qmp's disconnect half done: nothing to tell anyone.
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


async def _save_stream(
    qmp_socket: str, stream_path: Path, process: subprocess.Popen[bytes], seconds: float
) -> tuple[str, str]:
    asyncio.get_running_loop().set_exception_handler(_quiet_cancellations)
    async with asyncio.timeout(seconds):
        return await _session(qmp_socket, stream_path, process)


def _read_stream(path: Path, uri: str, deadline: float) -> StreamContents:
    """The saved stream; for exec:, read again until `cat` has written all of it."""
    settle = min(deadline, time.monotonic() + SETTLE_SECONDS)
    while True:
        contents = parse_stream(path.read_bytes() if path.exists() else b"")
        if contents.error is None or not uri.startswith("exec:") or time.monotonic() > settle:
            return contents
        time.sleep(0.05)


def private_directory() -> Path:
    """A new directory of ours, short enough for a unix socket path inside it."""
    workdir = Path(tempfile.mkdtemp(prefix="reginspect-probe-"))
    if len(os.fsencode(workdir / "qmp.sock")) < SOCKET_PATH_MAX:
        return workdir
    # A long TMPDIR (macOS, nested test directories) would overflow sun_path.
    workdir.rmdir()
    return Path(tempfile.mkdtemp(prefix="reginspect-probe-", dir="/tmp"))


def _reap(process: subprocess.Popen[bytes]) -> None:
    """End QEMU's whole process group (QEMU and any `cat` of exec:) if QEMU still runs."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _as_ctrl_c(signum: int, frame: Any) -> None:
    # Ctrl-C is what asyncio.run cancels its task on cleanly; let SIGTERM and SIGHUP be one.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A shell starts a background job with Ctrl-C ignored: SIGTERM must still end us.
        signal.default_int_handler(signum, frame)
    os.kill(os.getpid(), signal.SIGINT)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _terminations_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the probe like Ctrl-C does, so QEMU is still reaped.

    QEMU runs in its own session: no signal meant for us reaches it, and it would outlive us.
    """
    if not _main_thread():  # only the main thread may set handlers (and gets signals)
        yield
        return
    previous = {
        number: signal.signal(number, _as_ctrl_c) for number in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while QEMU starts, then act on them.

    Between Popen's fork and our holding the Popen object, an interrupt would leave a QEMU
    nobody reaps. (Blocking them with sigmask instead would be inherited by QEMU.)
    """
    if not _main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)

    numbers = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {number: signal.signal(number, hold) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if held:
        raise KeyboardInterrupt


def probe(command: Sequence[str], timeout: float = 60.0) -> ProbeResult:
    """Run ``command`` (a QEMU command line) paused and return its saved stream's contents."""
    check_command(command)
    if not timeout > 0:
        raise UserError("probe: --timeout must be a positive number of seconds.")
    binary = command[0]
    if shutil.which(binary) is None:
        raise UserError(
            f"probe: {printable(binary)}: not found or not executable; install QEMU (Debian: "
            "apt-get install qemu-system-arm) or give its full path."
        )
    started = time.monotonic()
    deadline = started + timeout
    workdir = private_directory()
    qmp_socket = str(workdir / "qmp.sock")
    stream_path = workdir / "stream.mig"
    stderr_path = workdir / "stderr.txt"
    process: subprocess.Popen[bytes] | None = None
    try:
        with _terminations_interrupt():
            with _signals_held(), stderr_path.open("wb") as stderr:
                try:
                    process = subprocess.Popen(
                        probe_command(command, qmp_socket),
                        stdin=subprocess.DEVNULL,
                        stdout=stderr,
                        stderr=stderr,
                        cwd=workdir,
                        start_new_session=True,  # its own process group: reaped whole
                    )
                except OSError as error:
                    raise UserError(
                        f"probe: cannot run {printable(binary)}: {error.strerror}."
                    ) from None
            version, uri = _run_session(process, qmp_socket, stream_path, stderr_path, timeout)
            # It saved the stream: its exit is welcome, not needed.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.5, min(5.0, deadline - time.monotonic())))
            contents = _read_stream(stream_path, uri, deadline)
        if contents.error is not None:
            raise UserError(
                f"probe: the stream QEMU saved cannot be read: {contents.error.message}"
            )
        if not contents.cpus:
            raise UserError(
                "probe: the stream QEMU saved holds no Arm CPU register list "
                "(probe qemu-system-aarch64 or qemu-system-arm)."
            )
        return ProbeResult(tuple(command), contents, version, uri, time.monotonic() - started)
    finally:
        if process is not None:
            _reap(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _run_session(
    process: subprocess.Popen[bytes],
    qmp_socket: str,
    stream_path: Path,
    stderr_path: Path,
    timeout: float,
) -> tuple[str, str]:
    """The QMP conversation, its failures turned into one sentence each."""
    session = _save_stream(qmp_socket, stream_path, process, timeout)
    runner = asyncio.Runner()
    try:
        # A Ctrl-C while the event loop is being made would leave half a loop, which then
        # complains on the way out.
        with _signals_held():
            runner.get_loop()
        return runner.run(session)
    except TimeoutError:
        raise UserError(
            f"probe: QEMU did not save its stream within {timeout:g} s (raise --timeout); "
            f"its output: {stderr_tail(stderr_path) or 'none'}"
        ) from None
    except _Refused as refused:
        raise UserError(
            f"probe: QEMU could not save its migration stream: {printable(str(refused))}"
            + (f"; its output: {tail}" if (tail := stderr_tail(stderr_path)) else "")
        ) from None
    except Exception as error:  # _EarlyExit, or the QMP connection lost as QEMU died
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=2)
        if process.poll() is None:
            reason = printable(str(error) or repr(error))
            raise UserError(f"probe: the QMP conversation with QEMU failed: {reason}") from None
        raise UserError(
            f"probe: QEMU {_exit_text(process.returncode)} before its stream was saved: "
            f"{stderr_tail(stderr_path) or 'it printed nothing'}"
        ) from None
    finally:
        runner.close()
        session.close()  # a Ctrl-C before it started would leave it "never awaited"


def _exit_text(code: int) -> str:
    if code >= 0:
        return f"exited with status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    text = f"was killed by {name}"
    if -code == signal.SIGSYS:
        # Its seccomp filter: -sandbox spawn=deny forbids the /bin/sh of exec: (QEMU < 8.2).
        text += " (a -sandbox rule; QEMU before 8.2 saves through exec:, which spawn=deny forbids)"
    return text
