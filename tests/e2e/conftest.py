"""Real QEMU for the e2e tests: processes that are always killed, the human monitor over its unix
socket, streams saved from paused VMs, and destination logs of real TCG migrations.

Everything runs from argument lists; every QEMU gets its own process group, killed whole in
teardown whatever the test did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from parsers.stream import parse_stream

QEMU = shutil.which("qemu-system-aarch64")
QEMU_ARM = shutil.which("qemu-system-arm")
NO_QEMU = "qemu-system-aarch64 is not installed (Debian: apt-get install qemu-system-arm)"
# As in the corpus run.txt: small, paused, no default devices.
BASE = ("-M", "virt", "-nodefaults", "-display", "none", "-m", "128")
# The destination traces of the corpus's QEMU 7.2 runs (7.2 has no cpu_post_load event).
TRACES = (
    "-trace",
    "vmstate_load_state*",
    "-trace",
    "vmstate_load_field_error",
    "-trace",
    "qemu_loadvm_state_section*",
    "-trace",
    "loadvm_state*",
)
STEP_SECONDS = 20.0  # one start, save or migration of a 128 MB paused VM takes well under 1 s
PROMPT = b"(qemu) "


def wait_for(what: str, ready: Callable[[], object], seconds: float = STEP_SECONDS) -> None:
    """Poll ``ready()`` until it holds, or fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s")
        time.sleep(0.02)


class Monitor:
    """QEMU's human monitor (HMP) on a unix socket: one command, its whole answer."""

    def __init__(self, path: Path) -> None:
        self.socket = socket.socket(socket.AF_UNIX)
        self.socket.settimeout(STEP_SECONDS)
        wait_for(f"monitor socket {path}", lambda: self._connect(path))
        self._until_prompt()  # the banner

    def _connect(self, path: Path) -> bool:
        try:
            self.socket.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):  # bound before it listens
            return False
        return True

    def _until_prompt(self) -> str:
        data = b""
        while not data.endswith(PROMPT):
            chunk = self.socket.recv(65536)
            if not chunk:
                break  # QEMU went away (after quit, or a failed destination)
            data += chunk
        # The monitor echoes the command with terminal escapes; the answer is the lines after.
        return data.decode(errors="replace").replace("\r", "")

    def command(self, text: str) -> str:
        self.socket.sendall(text.encode() + b"\n")
        return self._until_prompt()

    def migration_status(self) -> str:
        for line in self.command("info migrate").splitlines():
            if line.startswith("Migration status:"):
                return line.split(":", 1)[1].strip()
        return "none"

    def close(self) -> None:
        self.socket.close()


@dataclass
class Qemu:
    process: subprocess.Popen[bytes]
    monitor_path: Path

    def monitor(self) -> Monitor:
        return Monitor(self.monitor_path)


class QemuRunner:
    """Starts QEMU processes for one test and kills every one of them in teardown."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], log: Path | None = None) -> Qemu:
        assert QEMU is not None
        monitor = self.workdir / f"{name}.mon"
        with contextlib.ExitStack() as stack:
            output = stack.enter_context(log.open("wb")) if log else subprocess.DEVNULL
            process = subprocess.Popen(
                [QEMU, *args, "-monitor", f"unix:{monitor},server=on,wait=off"],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.processes.append(process)
        return Qemu(process, monitor)

    def save_stream(self, cpu: str, path: Path) -> Path:
        """A paused VM's whole stream through `migrate "exec:cat > FILE"`, as the corpus was."""
        vm = self.start(f"save-{path.stem}", [*BASE, "-cpu", cpu, "-S"])
        monitor = vm.monitor()
        try:
            # -d: answer at once (without it HMP polls the migration once a second).
            answer = monitor.command(f'migrate -d "exec:cat > {path}"')
            assert "rror" not in answer, answer
            wait_for(f"saving {cpu}", lambda: monitor.migration_status() == "completed")
            with contextlib.suppress(OSError):  # it may reset the connection as it exits
                monitor.command("quit")
        finally:
            monitor.close()
        vm.process.wait(timeout=STEP_SECONDS)
        # `cat` may still be writing after "completed": the file is whole once it parses.
        wait_for(f"{path} complete", lambda: parse_stream(path.read_bytes()).error is None)
        return path

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STEP_SECONDS)


@dataclass
class Migration:
    succeeded: bool
    status: int | None  # the destination's exit status; None: it runs on, paused, loaded
    logs: list[Path]  # the destination's standard error, and its -D trace file if any


def migrate(
    runner: QemuRunner,
    src_cpu: str,
    dst_cpu: str,
    *,
    trace_file: bool = False,
    timestamps: bool = False,
) -> Migration:
    """A live migration on this machine: destination `-incoming unix:`, source `migrate`."""
    work = runner.workdir
    incoming = work / "m.sock"
    stderr = work / "dst.stderr"
    trace = work / "dst.trace.log"
    extra = [*TRACES]
    if trace_file:
        extra += ["-D", str(trace)]
    if timestamps:
        extra += ["-msg", "timestamp=on"]
    dst = runner.start(
        "dst", [*BASE, "-cpu", dst_cpu, "-S", "-incoming", f"unix:{incoming}", *extra], stderr
    )
    src = runner.start("src", [*BASE, "-cpu", src_cpu, "-S"])
    wait_for("the destination's incoming socket", incoming.exists)
    dst_monitor = dst.monitor()
    src_monitor = src.monitor()
    try:
        src_monitor.command(f"migrate -d unix:{incoming}")
        # The source is done once the stream is sent; the destination decides the outcome.
        wait_for(
            "the source's migration",
            lambda: src_monitor.migration_status() in ("completed", "failed", "cancelled"),
        )

        def settled() -> bool:
            if dst.process.poll() is not None:
                return True
            try:
                return "inmigrate" not in dst_monitor.command("info status")
            except OSError:  # it failed the load and exited while we asked
                dst.process.wait(timeout=STEP_SECONDS)
                return True

        wait_for("the destination's load", settled)
    finally:
        src_monitor.close()
        dst_monitor.close()
    logs = [stderr, trace] if trace_file else [stderr]
    status = dst.process.poll()
    return Migration(status is None, status, logs)


@pytest.fixture
def qemu_binary() -> str:
    if QEMU is None:
        pytest.skip(NO_QEMU)
    return QEMU


@pytest.fixture
def qemus(tmp_path: Path, qemu_binary: str) -> Iterator[QemuRunner]:
    runner = QemuRunner(tmp_path)
    try:
        yield runner
    finally:
        runner.kill_all()


class Cache:
    """Per module, each CPU model's saved stream and probe list, made once when first asked."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.runner = QemuRunner(workdir)
        self._streams: dict[str, Path] = {}
        self._probes: dict[tuple[str, str], Path] = {}

    def stream(self, cpu: str) -> Path:
        """The stream of a paused `-cpu CPU` VM, saved through its monitor."""
        if cpu not in self._streams:
            self._streams[cpu] = self.runner.save_stream(cpu, self.workdir / f"{cpu}.mig")
        return self._streams[cpu]

    def probe(self, cpu: str, binary: str | None = None) -> Path:
        """`reginspect probe --json` of the same configuration, as a register-list file."""
        binary = binary or QEMU
        assert binary is not None
        key = (binary, cpu)
        if key not in self._probes:
            done = reginspect(
                "probe", "--json", "--timeout", "20", "--", binary, *BASE, "-cpu", cpu
            )
            assert done.returncode == 0, done.stderr
            path = self.workdir / f"{Path(binary).name}-{cpu}.json"
            path.write_text(done.stdout)
            self._probes[key] = path
        return self._probes[key]


def reginspect(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it; a crash is never an answer."""
    done = subprocess.run(
        [sys.executable, "-m", "reginspect", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cache]:
    if QEMU is None:
        pytest.skip(NO_QEMU)
    made = Cache(tmp_path_factory.mktemp("configurations"))
    try:
        yield made
    finally:
        made.runner.kill_all()
