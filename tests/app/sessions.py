"""Logs of whole sessions, composed from real corpus lines: what people keep for months.

``libvirt_session`` is a libvirt domain log of incoming migrations into QEMU 11.1.3: each QEMU
start has libvirt's header and command line (the shape of ``samples/libvirt-guest1.log``); the
successful ones ran for hours and were shut down, one failed with the real standard error of
corpus ``11.1-max-to-cortex-a57`` (88 extra registers). ``long_trace_log`` is a traced log made by
``benchmarks/make_log.py`` with that same failure moved between its successes.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection
from pathlib import Path

from benchmarks import make_log
from tests.conftest import CORPUS

FAILED_STDERR = CORPUS / "11.1-max-to-cortex-a57" / "dst.stderr"
FAILED_CASE = "11.1-max-to-cortex-a57"
FIRST_START = datetime.datetime(2026, 9, 1, 8, 0, 0, 102000, tzinfo=datetime.UTC)
QEMU_VERSION = "11.1.3Debian 1:11.1.3+ds-1"


def _libvirt_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "+0000"


def _qemu_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _start(moment: datetime.datetime, domain: int) -> str:
    stamp = _libvirt_time(moment)
    return (
        f"{stamp}: starting up libvirt version: 10.10.0, package: 1 (Debian), qemu version: "
        f"{QEMU_VERSION}, kernel: 6.12.48-arm64, hostname: host-b\n"
        "LC_ALL=C \\\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \\\n"
        f"HOME=/var/lib/libvirt/qemu/domain-{domain}-guest1 \\\n"
        "/usr/bin/qemu-system-aarch64 \\\n"
        "-name guest=guest1,debug-threads=on \\\n"
        "-S \\\n"
        "-machine virt-7.2,usb=off,gic-version=3,dump-guest-core=off \\\n"
        "-accel tcg \\\n"
        "-cpu cortex-a57 \\\n"
        "-m size=131072k \\\n"
        "-incoming defer \\\n"
        "-msg timestamp=on\n"
        f"{stamp}: Domain id={domain} is tainted: custom-argv\n"
        "char device redirected to /dev/pts/3 (label charserial0)\n"
    )


def libvirt_session(attempts: int = 30, failed: Collection[int] = (17,)) -> bytes:
    """``attempts`` QEMU starts with ``-incoming``; those numbered in ``failed`` fail, the others
    run 3-7 hours and are shut down (``reason=shutdown``)."""
    out: list[str] = []
    moment = FIRST_START
    for number in range(attempts):
        out.append(_start(moment, number + 1))
        if number in failed:
            loaded = moment + datetime.timedelta(seconds=6)
            stamp = _qemu_time(loaded)
            out.extend(f"{stamp} {line}\n" for line in FAILED_STDERR.read_text().splitlines())
            ended = loaded + datetime.timedelta(seconds=1)
            out.append(f"{_libvirt_time(ended)}: shutting down, reason=failed\n")
        else:
            ended = moment + datetime.timedelta(hours=3 + number % 5)
            out.append(
                f"{_qemu_time(ended)} qemu-system-aarch64: terminating on signal 15 from pid 1402"
                " (/usr/sbin/libvirtd)\n"
            )
            out.append(f"{_libvirt_time(ended)}: shutting down, reason=shutdown\n")
        moment = ended + datetime.timedelta(minutes=2)
    return "".join(out).encode()


_ISO_STAMP = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{6}Z")


def long_trace_log(path: Path, *, size: int, successes: int, failed: int) -> int:
    """A QEMU 11.1 traced log at ``path`` (about ``size`` bytes): ``successes`` successful
    attempts with the failure of corpus ``11.1-max-to-cortex-a57`` inserted as attempt number
    ``failed``. Returns the number of attempts."""
    manifest = make_log.generate(
        path, size, version="11.1", seed=16, failures=1, successes=successes
    )
    attempts = manifest.attempts
    content = path.read_bytes()
    # make_log ends its log on its failure: drop it, and put ours between the successes.
    kept = content[: attempts[-1].offset]
    cut = attempts[failed].offset
    stamps = _ISO_STAMP.findall(kept[:cut])
    clock = None
    if stamps:
        before = datetime.datetime.fromisoformat(stamps[-1].decode() + "+00:00")
        clock = int((before.timestamp() + 60) * 1_000_000)
    block = make_log.failure_block(
        FAILED_CASE, seed=16, ram_bytes=512 * 1024, timestamps=clock is not None, clock=clock
    )
    path.write_bytes(kept[:cut] + block + kept[cut:])
    Path(f"{path}.manifest.json").unlink()
    return len(attempts)
