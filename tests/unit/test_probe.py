"""`probe` without QEMU: argument building, and a fake QEMU that speaks QMP for every path
through the conversation (file: and exec: saving, refusals, failures, death, hangs), with the
process group always reaped and the private directory always removed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reginspect.errors import UserError
from reginspect.probe import check_command, migration_uri, option_name, probe_command
from tests.unit.test_stream import build_stream

MIDR, TCR2 = 0x603000000013C000, 0x603000000013C103

# A QEMU stand-in: serves QMP on the -qmp socket probe adds, and behaves as -fake-mode says.
FAKE_QMP = r"""
import json, os, shlex, socket, sys, time

args = sys.argv[1:]
def opt(name, default=None):
    return args[args.index(name) + 1] if name in args else default

if opt("-fake-pid"):
    open(opt("-fake-pid"), "w").write(str(os.getpid()))
mode = opt("-fake-mode", "ok")
major, minor = (int(part) for part in opt("-fake-version", "7.2").split("."))
record = opt("-fake-record")
if record:
    open(record, "w").write(json.dumps(args))
print("fake qemu: starting", file=sys.stderr, flush=True)
if mode == "exit":
    print("qemu-system-aarch64: -M nope: unsupported machine type", file=sys.stderr)
    sys.exit(1)
path = opt("-qmp").split(",")[0].removeprefix("unix:")
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(1)
connection, _ = server.accept()
version = {"qemu": {"major": major, "minor": minor, "micro": 5}, "package": "fake"}

def send(message):
    connection.sendall(json.dumps(message).encode() + b"\r\n")

def messages():
    # QMP clients need not end a message with a newline: decode the byte stream as it comes.
    decoder, pending = json.JSONDecoder(), ""
    while chunk := connection.recv(65536):
        pending += chunk.decode()
        while pending.strip():
            try:
                message, end = decoder.raw_decode(pending.lstrip())
            except ValueError:
                break
            pending = pending.lstrip()[end:]
            yield message

def save(uri):
    target = uri[5:] if uri.startswith("file:") else shlex.split(uri[5:])[-1]
    data = open(opt("-fake-stream"), "rb").read()
    if mode != "slow-cat":
        open(target, "wb").write(data)
        return
    # Like `cat` of exec:, a child that is still writing when QEMU says "completed".
    half = len(data) // 2
    open(target, "wb").write(data[:half])
    if os.fork() == 0:
        time.sleep(0.4)
        open(target, "ab").write(data[half:])
        os._exit(0)

send({"QMP": {"version": version, "capabilities": []}})
for message in messages():
    command = message["execute"]
    reply = {"return": {}}
    if command == "query-version":
        reply = {"return": version}
    elif command == "migrate":
        uri = message["arguments"]["uri"]
        open(opt("-fake-uris"), "a").write(uri + "\n")
        if mode == "hang":
            time.sleep(60)
        if mode == "die":
            print("qemu-system-aarch64: fatal: died while saving", file=sys.stderr, flush=True)
            os._exit(3)
        if mode == "refuse" or (mode == "refuse-file" and uri.startswith("file:")):
            desc = "State blocked by non-migratable device 'fake'"
            reply = {"error": {"class": "GenericError", "desc": desc}}
        else:
            save(uri)
    elif command == "query-migrate":
        if mode == "fail":
            reply = {"return": {"status": "failed", "error-desc": "Unable to write to file"}}
        else:
            reply = {"return": {"status": "completed"}}
    if "id" in message:
        reply["id"] = message["id"]
    send(reply)
    if command == "quit":
        sys.exit(0)
"""


def fake_qemu(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-qemu"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


class Fake:
    """The fake QMP QEMU of one test, with the files it reports through."""

    def __init__(self, tmp_path: Path) -> None:
        self.binary = tmp_path / "fake-qemu-system-aarch64"
        self.binary.write_text(f"#!{sys.executable}\n{FAKE_QMP}")
        self.binary.chmod(self.binary.stat().st_mode | stat.S_IXUSR)
        self.stream = tmp_path / "stream.mig"
        self.stream.write_bytes(build_stream([(0, [MIDR, TCR2], [0x411FD070, 8])]))
        self.uris = tmp_path / "uris"
        self.args = tmp_path / "args.json"
        self.pid = tmp_path / "pid"

    def command(self, mode: str = "ok", version: str = "7.2", *extra: str) -> list[str]:
        return [
            str(self.binary),
            "-M",
            "virt",
            *extra,
            "-fake-mode",
            mode,
            "-fake-version",
            version,
            "-fake-stream",
            str(self.stream),
            "-fake-uris",
            str(self.uris),
            "-fake-record",
            str(self.args),
            "-fake-pid",
            str(self.pid),
        ]

    def used_uris(self) -> list[str]:
        return self.uris.read_text().splitlines() if self.uris.exists() else []

    def alive(self) -> bool:
        return self.pid.exists() and pid_alive(int(self.pid.read_text()))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(autouse=True)
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Probes of this test make their private directories here, where no other probe does."""
    root = tmp_path / "t"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))  # for probes in a child process
    return root


def probe_dirs(root: Path) -> list[str]:
    return [path.name for path in root.iterdir() if path.name.startswith("reginspect-probe-")]


@pytest.fixture
def fake(tmp_path: Path, temp_root: Path) -> Iterator[Fake]:
    made = Fake(tmp_path)
    yield made
    assert not made.alive(), "the fake QEMU outlived the probe"
    assert probe_dirs(temp_root) == [], "the private directory was left behind"


def test_the_private_directory_leaves_room_for_the_socket(temp_root: Path) -> None:
    from reginspect.probe import private_directory

    made = private_directory()
    assert made.parent == temp_root
    made.rmdir()
    deep = temp_root / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    tempfile.tempdir = str(deep)  # undone by the monkeypatch of temp_root
    made = private_directory()
    assert made.parent == Path("/tmp")
    assert len(str(made / "qmp.sock")) < 104
    made.rmdir()


# -- the command line --------------------------------------------------------------------------


def test_command_is_paused_and_gets_a_private_qmp_socket() -> None:
    argv = probe_command(["qemu-system-aarch64", "-M", "virt"], "/tmp/x/qmp.sock")
    assert argv == [
        "qemu-system-aarch64",
        "-M",
        "virt",
        "-S",
        "-qmp",
        "unix:/tmp/x/qmp.sock,server=on,wait=off",
    ]


@pytest.mark.parametrize("paused", ["-S", "--S"])
def test_a_paused_command_is_not_paused_twice(paused: str) -> None:
    argv = probe_command(["q", "-M", "virt", paused], "s")
    assert argv.count("-S") + argv.count("--S") == 1


def test_the_users_own_qmp_stays_and_ours_is_added() -> None:
    argv = probe_command(["q", "-qmp", "unix:/run/mine.sock,server=on,wait=off"], "s")
    assert argv.count("-qmp") == 2
    assert "unix:/run/mine.sock,server=on,wait=off" in argv


def test_option_names() -> None:
    assert [option_name(a) for a in ["-S", "--S", "-incoming=x", "virt", "-", "--"]] == [
        "S",
        "S",
        "incoming",
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["-incoming", "unix:/tmp/m.sock"], "-incoming makes QEMU wait"),
        (["--incoming", "defer"], "-incoming makes QEMU wait"),
        (["-daemonize"], "-daemonize detaches QEMU"),
    ],
)
def test_command_lines_a_probe_cannot_run(extra: list[str], said: str) -> None:
    with pytest.raises(UserError, match=said):
        check_command(["qemu-system-aarch64", "-M", "virt", *extra])


def test_the_uri_is_file_from_8_2_and_exec_before() -> None:
    path = Path("/tmp/reginspect-probe-x/stream.mig")
    assert migration_uri(path, (7, 2)) == "exec:cat > /tmp/reginspect-probe-x/stream.mig"
    assert migration_uri(path, (8, 1)).startswith("exec:")
    assert migration_uri(path, (8, 2)) == "file:/tmp/reginspect-probe-x/stream.mig"
    assert migration_uri(path, (11, 1)) == "file:/tmp/reginspect-probe-x/stream.mig"
    assert migration_uri(path, (11, 1), file_uri=False).startswith("exec:")
    # file: would read ",offset=..." after a comma; the shell needs the quotes.
    odd = Path("/tmp/a,b c/stream.mig")
    assert migration_uri(odd, (11, 1)) == "exec:cat > '/tmp/a,b c/stream.mig'"


# -- failures before QMP -------------------------------------------------------------------------


def test_missing_binary(run_cli: Any) -> None:
    status, out, err = run_cli("probe", "--", "qemu-system-nonexistent", "-M", "virt")
    assert (status, out) == (2, "")
    assert err.startswith("reginspect: probe: qemu-system-nonexistent: not found")
    assert err.count("\n") == 1


def test_no_command(run_cli: Any) -> None:
    status, _, err = run_cli("probe")
    assert status == 2
    assert "command line after --" in err


def test_a_bad_timeout(run_cli: Any) -> None:
    status, _, err = run_cli("probe", "--timeout", "0", "--", "qemu-system-aarch64")
    assert status == 2
    assert "--timeout must be a positive number" in err


def test_qemu_exiting_early_shows_its_stderr(run_cli: Any, fake: Fake) -> None:
    status, out, err = run_cli("probe", "--timeout", "10", "--", *fake.command("exit"))
    assert (status, out) == (2, "")
    assert "QEMU exited with status 1 before its stream was saved" in err
    assert "fake qemu: starting | qemu-system-aarch64: -M nope: unsupported machine type" in err


def test_qemu_killed_by_a_signal(run_cli: Any, tmp_path: Path) -> None:
    binary = fake_qemu(tmp_path, "kill -SYS $$")
    status, _, err = run_cli("probe", "--", binary)
    assert status == 2
    assert "QEMU was killed by SIGSYS (a -sandbox rule;" in err


def test_qemu_output_is_made_inert(run_cli: Any, tmp_path: Path) -> None:
    binary = fake_qemu(tmp_path, r"printf 'bad \033[2J\a thing\n' >&2; exit 1")
    status, _, err = run_cli("probe", "--", binary)
    assert status == 2
    assert "bad \\x1b[2J\\x07 thing" in err
    assert "\x1b" not in err


def test_timeout_before_qmp_kills_and_reaps_the_process(run_cli: Any, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    binary = fake_qemu(tmp_path, f"echo $$ > {marker}; exec sleep 60")
    started = time.monotonic()
    status, _, err = run_cli("probe", "--timeout", "1", "--", binary)
    assert status == 2
    assert "did not save its stream within 1 s (raise --timeout); its output: " in err
    assert time.monotonic() - started < 10
    if marker.exists():  # a loaded machine may not even have started the script in 1 s
        assert not pid_alive(int(marker.read_text()))


# -- the QMP conversation ------------------------------------------------------------------------


def test_qemu_7_2_saves_through_exec_and_the_list_is_printed(run_cli: Any, fake: Fake) -> None:
    status, out, err = run_cli("probe", "--", *fake.command("ok", "7.2"))
    assert (status, err) == (0, "")
    (uri,) = fake.used_uris()
    assert uri.startswith("exec:cat > /")
    args = json.loads(fake.args.read_text())
    assert args[-3:] == ["-S", "-qmp", args[-1]]
    lines = out.splitlines()
    assert lines[0].startswith("QEMU 7.2.5 (fake), machine virt-10.0: 1 CPU(s), 2 registers each")
    assert lines[1:] == [
        "  0x603000000013c000  MIDR_EL1  0x411fd070",
        "  0x603000000013c103  TCR2_EL1  0x8",
    ]


def test_qemu_from_8_2_saves_to_a_file_directly(run_cli: Any, fake: Fake) -> None:
    status, out, _ = run_cli("probe", "--json", "--", *fake.command("ok", "9.2"))
    assert status == 0
    (uri,) = fake.used_uris()
    assert uri.startswith("file:/")
    assert uri.endswith("/stream.mig")
    items = json.loads(out)
    assert [(i["cpu"], i["id"], i["name"], i["value"]) for i in items] == [
        (0, "0x603000000013c000", "MIDR_EL1", "0x411fd070"),
        (0, "0x603000000013c103", "TCR2_EL1", "0x8"),
    ]
    assert {"aliases", "kind", "encoding", "fields", "known", "qemu_key", "note"} <= set(items[0])


def test_a_refused_file_uri_falls_back_to_exec(run_cli: Any, fake: Fake) -> None:
    status, _, _ = run_cli("probe", "--", *fake.command("refuse-file", "10.0"))
    assert status == 0
    assert [uri.split(":")[0] for uri in fake.used_uris()] == ["file", "exec"]


def test_the_json_is_a_register_list_compare_reads(
    run_cli: Any, fake: Fake, tmp_path: Path
) -> None:
    status, out, _ = run_cli("probe", "--json", "--", *fake.command())
    assert status == 0
    listed = tmp_path / "probe.json"
    listed.write_text(out)
    status, out, err = run_cli("compare", str(fake.stream), str(listed))
    assert (status, err) == (0, ""), out
    assert "0 extra, 0 missing" in out


def test_exec_waits_for_cat_to_finish_writing(run_cli: Any, fake: Fake) -> None:
    status, out, err = run_cli("probe", "--", *fake.command("slow-cat"))
    assert (status, err) == (0, "")
    assert "MIDR_EL1" in out


def test_a_refused_migration_is_one_sentence(run_cli: Any, fake: Fake) -> None:
    status, out, err = run_cli("probe", "--", *fake.command("refuse"))
    assert (status, out) == (2, "")
    assert err.startswith(
        "reginspect: probe: QEMU could not save its migration stream: "
        "State blocked by non-migratable device 'fake'"
    )
    assert err.count("\n") == 1


def test_a_failed_migration_gives_qemus_reason(run_cli: Any, fake: Fake) -> None:
    status, _, err = run_cli("probe", "--", *fake.command("fail"))
    assert status == 2
    assert "the migration failed: Unable to write to file" in err


def test_qemu_dying_during_the_conversation(run_cli: Any, fake: Fake) -> None:
    status, _, err = run_cli("probe", "--", *fake.command("die"))
    assert status == 2
    assert "QEMU exited with status 3 before its stream was saved" in err
    assert "fatal: died while saving" in err
    assert "Traceback" not in err


def test_qemu_hanging_during_the_conversation_times_out(run_cli: Any, fake: Fake) -> None:
    started = time.monotonic()
    status, _, err = run_cli("probe", "--timeout", "2", "--", *fake.command("hang"))
    assert status == 2
    assert (
        "did not save its stream within 2 s (raise --timeout); its output: fake qemu: starting"
        in err
    )
    assert time.monotonic() - started < 10


def test_a_stream_without_arm_cpus(run_cli: Any, fake: Fake) -> None:
    fake.stream.write_bytes(build_stream(arm=False))
    status, _, err = run_cli("probe", "--", *fake.command())
    assert status == 2
    assert "holds no Arm CPU register list" in err


def test_a_damaged_stream(run_cli: Any, fake: Fake) -> None:
    fake.stream.write_bytes(b"not a stream")
    status, _, err = run_cli("probe", "--", *fake.command("ok", "9.0"))
    assert status == 2
    assert "the stream QEMU saved cannot be read" in err


# -- signals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "ctrl_c"),
    [
        (signal.SIGINT, signal.SIG_DFL),
        (signal.SIGTERM, signal.SIG_DFL),
        # A shell's background job starts with Ctrl-C ignored; SIGTERM still ends the probe.
        (signal.SIGTERM, signal.SIG_IGN),
    ],
)
def test_a_signal_reaps_qemu_and_removes_the_private_directory(
    tmp_path: Path, temp_root: Path, signum: int, ctrl_c: signal.Handlers
) -> None:
    marker = tmp_path / "pid"
    binary = fake_qemu(tmp_path, f"echo $$ > {marker}; exec sleep 60")
    command = [sys.executable, "-m", "reginspect", "probe", "--timeout", "30", "--", binary]
    # Whatever the test run itself was started with (a background job ignores Ctrl-C).
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, ctrl_c),
    )
    deadline = time.monotonic() + 15
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < deadline, "the fake QEMU never started"
        time.sleep(0.05)
    process.send_signal(signum)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130
    assert err == "reginspect: interrupted.\n"
    assert not pid_alive(int(marker.read_text()))
    assert probe_dirs(temp_root) == []
