"""The bad-input matrix of `report`: one clear sentence and the documented status, never a
traceback, and the valid parts of a file still reported."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES, answer_key

FAILED_LOG = (SAMPLES / "10.0-neoverse-n1-to-cortex-a76.dst.stderr").read_bytes()
NAMED_LOG = (SAMPLES / "11.1-max-to-cortex-a57.dst.stderr").read_bytes()
NAMED_EXTRA = len(answer_key("11.1-max-to-cortex-a57")["only_in_stream"])  # what it names


def run_report(run_cli: Any, *paths: str) -> tuple[int, str, str]:
    status, out, err = run_cli("report", "--format", "json", *paths)
    assert "Traceback" not in err
    return int(status), out, err


def extra_count(out: str) -> int:
    data = json.loads(out)
    return sum(cpu["extra_count"] for a in data["attempts"] for cpu in a["cpus"])


def test_missing_path(run_cli: Any, tmp_path: Path) -> None:
    status, out, err = run_report(run_cli, str(tmp_path / "nope.log"))
    assert (status, out) == (2, "")
    assert "no such file" in err


def test_directory(run_cli: Any, tmp_path: Path) -> None:
    status, _, err = run_report(run_cli, str(tmp_path))
    assert status == 2
    assert "is a directory" in err


def test_empty_file(run_cli: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    status, _, err = run_report(run_cli, str(empty))
    assert status == 2
    assert "is empty" in err


def test_binary_file_without_migration(run_cli: Any, tmp_path: Path) -> None:
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 4096)
    status, _, err = run_report(run_cli, str(binary))
    assert status == 2
    assert "no migration attempt" in err


def test_register_lines_not_understood_are_named_when_no_attempt_is_found(
    run_cli: Any, tmp_path: Path
) -> None:
    log = tmp_path / "odd.log"
    odd = b"qemu-system-aarch64: tolerate_cpreg_only_in_incoming_stream\n"
    log.write_bytes(b"unrelated\n" + odd * 2)
    status, _, err = run_report(run_cli, str(log))
    assert status == 2
    assert "no migration attempt in it (2 line(s) looked like QEMU's register lines" in err
    assert f"the first, {log}:2: " in err
    assert err.count("\n") == 1  # one sentence


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda log: b"\x00" * 100 + log.replace(b"\n", b"\x00\n", 3), id="nul-bytes"),
        pytest.param(lambda log: b"\xff\xfe garbage \xc3\x28\n" + log, id="invalid-utf8"),
        pytest.param(lambda log: log.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda log: b"x" * (50 << 20) + b"\n" + log, id="50MB-line"),
        pytest.param(lambda log: log.rstrip(b"\n"), id="no-final-newline"),
    ],
)
def test_damaged_logs_still_report_their_valid_parts(
    run_cli: Any, tmp_path: Path, damage: Any
) -> None:
    log = tmp_path / "damaged.log"
    log.write_bytes(damage(NAMED_LOG))
    status, out, _ = run_report(run_cli, str(log))
    assert status == 1
    assert extra_count(out) == NAMED_EXTRA


def test_log_cut_in_the_middle_of_a_line(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "cut.log"
    log.write_bytes(NAMED_LOG[: NAMED_LOG.index(b"0x1013c083") + 4])
    status, out, _ = run_report(run_cli, str(log))
    assert status == 1
    assert 0 < extra_count(out) < NAMED_EXTRA


def test_ten_thousand_attempts(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    log.write_bytes(FAILED_LOG * 10_000)
    status, out, _ = run_report(run_cli, str(log))
    assert status == 1
    attempts = json.loads(out)["attempts"]
    assert len(attempts) == 10_000
    assert {a["outcome"] for a in attempts} == {"failed"}


def test_fifo(run_cli: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as sink:
            sink.write(NAMED_LOG)

    thread = threading.Thread(target=writer)
    thread.start()
    status, out, _ = run_report(run_cli, str(fifo))
    thread.join()
    assert status == 1
    assert extra_count(out) == NAMED_EXTRA


def test_same_file_twice_is_read_once(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(NAMED_LOG)
    status, out, _ = run_report(run_cli, str(log), str(log))
    data = json.loads(out)
    assert status == 1
    assert len(data["attempts"]) == 1
    assert "given twice" in data["problems"][0]


@pytest.mark.parametrize("codec", ["xz", "gzip", "bzip2", "zstd"])
def test_damaged_compressed_file_reports_what_was_read(
    run_cli: Any, tmp_path: Path, codec: str
) -> None:
    """Cut short or corrupted in the middle: the attempts before the damage, one problem line,
    never a traceback, whatever the codec."""
    import bz2
    import gzip
    import lzma

    import zstandard

    compressors: dict[str, Callable[[bytes], bytes]] = {
        "xz": lzma.compress,
        "gzip": gzip.compress,
        "bzip2": bz2.compress,
        "zstd": zstandard.ZstdCompressor().compress,
    }
    compress = compressors[codec]
    # Noise after the attempts: the damage lands past the codec's first block.
    noise = b"".join(
        b"%d@1.%d:ram_load_loop section 3 %d\n" % (i, i * 7, i) for i in range(300_000)
    )
    for damage in ("cut", "corrupted"):
        packed = bytearray(compress(NAMED_LOG * 3 + noise))
        if damage == "cut":
            packed = packed[: len(packed) * 2 // 3]
        else:
            middle = len(packed) * 2 // 3
            packed[middle : middle + 64] = bytes(64)
        log = tmp_path / f"{damage}.log.{codec}"
        log.write_bytes(packed)
        status, out, err = run_report(run_cli, str(log))
        assert "Traceback" not in err
        assert status == 1, (damage, err)
        data = json.loads(out)
        assert len(data["attempts"]) == 3  # every attempt before the damage
        assert "damaged or cut short" in data["problems"][0], (damage, data["problems"])
    # Damaged before anything could be decoded: the damage is what the user is told.
    log = tmp_path / f"header.log.{codec}"
    log.write_bytes(bytes(compress(NAMED_LOG))[:12])
    status, out, err = run_report(run_cli, str(log))
    assert (status, out) == (2, "")
    assert "damaged or cut short" in err
    assert "Traceback" not in err


def test_unreadable_file(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root in CI, for whom chmod 000 still reads: deny through os.access instead.
    log = tmp_path / "secret.log"
    log.write_bytes(NAMED_LOG)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: path != str(log) and real_access(path, mode)
    )
    status, out, err = run_report(run_cli, str(log))
    assert (status, out) == (2, "")
    assert "permission denied" in err


def test_stdin_closed_at_once() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "reginspect", "report", "-"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "standard input is empty" in done.stderr
    assert "Traceback" not in done.stderr


def test_stdin_pipe(run_cli: Any) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "reginspect", "report", "--format", "json", "-"],
        input=NAMED_LOG,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert extra_count(done.stdout.decode()) == NAMED_EXTRA
