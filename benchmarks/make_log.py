"""Deterministic generator of big, realistic QEMU destination logs, for benchmarks and tests.

A generated log is a series of incoming-migration attempts, one after another in one file as a
log that outlives several QEMU runs does. Every line is a real line of the corpus
(``../shared/corpus``), re-stamped, except the RAM page traffic (``ram_load_loop``) and its
iteration separators, which are written in the same format with new addresses. An attempt is

    setup → RAM iterations (the bulk of the file) → device sections → cpu section → outcome

where setup, the iteration separators and the pre-cpu device sections come from a corpus run of
the same QEMU version that traced RAM loading (``noisy``), and the cpu section and everything
after it from the attempt's own case: a failing case for a failure (its errors merged back into
the trace at the places QEMU prints them), a successful run for a success (the rest of the
devices, downtime checkpoints, cleanup). When the failing case did not trace RAM loading itself,
its cpu section follows another run's setup: the trace set then differs within the attempt.

The sidecar ``OUT.manifest.json`` lists the attempts, where they are and what a correct reader
must find in each (see ``Manifest``). Same arguments, same bytes.

    python benchmarks/make_log.py OUT --size 1G [--version 7.2|10.0|11.1|mixed] [--seed N]
        [--failures N] [--compress none|gz|xz|zst]
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import hashlib
import json
import lzma
import os
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, Protocol

CORPUS_ENV: Final = "REGINSPECT_CORPUS"
SCHEMA: Final = "reginspect.bench-log/1"
COMPRESSIONS: Final = ("none", "gz", "xz", "zst")

# The corpus runs were made on 2026-11-25; generated attempts start that day, 00:00:00 UTC.
EPOCH: Final = 1_795_564_800
# Share of attempts run with -msg timestamp=on (the corpus has both kinds).
TIMESTAMPED: Final = 0.75
# Lines of RAM traffic per iteration: the corpus shows 20 000 – 35 000 at 128 MiB guests.
ITERATION_LINES: Final = (15_000, 40_000)
# Largest batch of page lines formatted at once: big enough to amortise, small enough to trim.
CHUNK: Final = 4096
_MASK: Final = CHUNK - 1
PAGE: Final = 0x1000
# Main RAM grows in 128 MiB steps (the corpus guests' -m 128).
RAM_STEP_PAGES: Final = 32_768

Kind = Literal["trace", "msg"]
Outcome = Literal["fail", "ok"]


def corpus_dir() -> Path:
    env = os.environ.get(CORPUS_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "tests" / "corpus"


# -- sizes ------------------------------------------------------------------------------------

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``10M``, ``1G``, ``2g``, ``512k``, ``1048576``: binary units (1G = 1024**3 bytes)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 10M, 1G)")
    unit = " kmgt".index(match.group(2).lower() or " ")
    return int(float(match.group(1)) * 1024**unit)


# -- corpus -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    kind: Kind  # trace event, or an error_report message ("qemu-system-aarch64: ...")
    text: str  # without prefix and newline
    dt: int | None  # microseconds since the previous line, when the source was timestamped


@dataclass(frozen=True, eq=False)  # identity: cases are loaded once and used as cache keys
class Case:
    name: str
    version: str  # the destination's QEMU
    binary: str
    machine: str
    outcome: Outcome
    expected: dict[str, Any]
    lines: tuple[Line, ...]  # the destination's stderr and -D trace, merged, prefixes stripped
    cpu: int | None  # index of the line opening the first cpu section
    noisy: bool  # its RAM loading was traced (ram_load_loop) before the cpu section


_PID_STAMP = re.compile(r"(\d+)@(\d+)\.(\d{6}):")
_ISO_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z ")
_PROGRAM = re.compile(r"qemu-system-[\w-]+: ")
_CPU_SECTION = re.compile(r"qemu_loadvm_state_section_startfull \d+\(cpu\) ")


@cache
def _iso_seconds(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))


def _parse(text: str) -> list[tuple[Kind, str, int | None]]:
    """Lines with their prefix removed: kind, body, time in microseconds (None: not stamped)."""
    out: list[tuple[Kind, str, int | None]] = []
    raws = [raw for raw in text.splitlines() if raw.strip()]
    for i, raw in enumerate(raws):
        # Page lines are always regenerated: of a run of them keep only what shapes the new
        # ones (each block's first and last page) and the time the run ended.
        if "ram_load_loop " in raw and 0 < i < len(raws) - 1:
            block = raw.partition("ram_load_loop ")[2].partition(":")[0]
            before, after = raws[i - 1], raws[i + 1]
            if f"ram_load_loop {block}:" in before and f"ram_load_loop {block}:" in after:
                continue
        stamp: int | None = None
        body = raw
        if match := _PID_STAMP.match(raw):
            stamp = int(match.group(2)) * 1_000_000 + int(match.group(3))
            body = raw[match.end() :]
        elif match := _ISO_STAMP.match(raw):
            stamp = _iso_seconds(match.group(1)) * 1_000_000 + int(match.group(2))
            body = raw[match.end() :]
        out.append(("msg" if _PROGRAM.match(body) else "trace", body, stamp))
    return out


def _message_body(text: str) -> str:
    body = _PROGRAM.sub("", text, count=1)
    return body.removeprefix("warning: ")


def _merge(
    trace: list[tuple[Kind, str, int | None]], msgs: list[tuple[Kind, str, int | None]]
) -> list[tuple[Kind, str, int | None]]:
    """One stream from a -D trace file and the stderr beside it, in the order QEMU prints them
    (as the corpus runs that kept both on stderr show): start-up warnings first; the count and
    register lines where the cpu state is checked; ``error while loading state`` before the
    cleanup; ``load of migration failed`` last."""
    if all(stamp is not None for _, _, stamp in trace + msgs):
        return sorted(trace + msgs, key=lambda item: item[2] or 0)
    start: list[tuple[Kind, str, int | None]] = []
    at_cpu: list[tuple[Kind, str, int | None]] = []
    at_tail: list[tuple[Kind, str, int | None]] = []
    end: list[tuple[Kind, str, int | None]] = []
    for msg in msgs:
        body = _message_body(msg[1])
        if body.startswith("load of migration failed"):
            end.append(msg)
        elif body.startswith("error while loading state"):
            at_tail.append(msg)
        elif body.startswith(("Invalid value", "Failed to load", "handle_cpreg_", "tolerate_")):
            at_cpu.append(msg)
        else:
            start.append(msg)
    bodies = [body for _, body, _ in trace]
    cpu = next((i for i, body in enumerate(bodies) if _CPU_SECTION.match(body)), len(bodies))

    def first(prefix: str, default: int) -> int:
        return next((i for i in range(cpu, len(bodies)) if bodies[i].startswith(prefix)), default)

    tail = min(
        first("vmstate_downtime_checkpoint", len(bodies)),
        first("loadvm_state_cleanup", len(bodies)),
    )
    post_load = first("cpu_post_load ", -1)
    where = first("vmstate_load_field_error", post_load + 1 if post_load >= 0 else tail)
    where = min(where, tail)
    return start + trace[:where] + at_cpu + trace[where:tail] + at_tail + trace[tail:] + end


def _read(case_dir: Path, stored: str | None) -> str:
    if not stored:
        return ""
    path = case_dir / stored
    if not path.exists():
        return ""
    data = path.read_bytes()
    if path.suffix == ".xz":
        data = lzma.decompress(data)
    return data.decode("utf-8", "replace")


@cache
def load_case(name: str, corpus: Path | None = None) -> Case:
    case_dir = (corpus or corpus_dir()) / name
    expected_path = case_dir / "expected.json"
    if not expected_path.exists():
        raise ValueError(f"no corpus case {name!r} in {case_dir.parent}")
    expected: dict[str, Any] = json.loads(expected_path.read_text())
    logs = expected.get("logs") or {}
    stderr = _parse(_read(case_dir, logs.get("dst_stderr")))
    trace = _parse(_read(case_dir, logs.get("dst_trace")))
    merged = _merge(trace, stderr) if trace else stderr
    lines: list[Line] = []
    previous: int | None = None
    for kind, body, stamp in merged:
        dt = stamp - previous if stamp is not None and previous is not None else None
        lines.append(Line(kind, body, dt if dt is not None and dt >= 0 else None))
        previous = stamp if stamp is not None else previous
    cpu = next((i for i, line in enumerate(lines) if _CPU_SECTION.match(line.text)), None)
    # The cpu section opens with the section-type line just before its startfull line.
    if cpu and lines[cpu - 1].text.startswith("qemu_loadvm_state_section "):
        cpu -= 1
    dst = expected["dst"]
    return Case(
        name=name,
        version=str(dst["qemu"]),
        binary=str(dst.get("binary") or "qemu-system-aarch64"),
        machine=str(dst.get("machine") or "virt"),
        outcome="ok" if expected.get("outcome") == "ok" else "fail",
        expected=expected,
        lines=tuple(lines),
        cpu=cpu,
        noisy=cpu is not None
        and any(line.text.startswith("ram_load_loop ") for line in lines[:cpu]),
    )


@cache
def case_names(corpus: Path | None = None) -> tuple[str, ...]:
    root = corpus or corpus_dir()
    if not root.is_dir():
        raise ValueError(f"corpus not found at {root} (set {CORPUS_ENV})")
    return tuple(sorted(p.parent.name for p in root.glob("*/expected.json")))


@cache
def _usable(corpus: Path | None) -> tuple[Case, ...]:
    """Cases whose log shows the cpu section: the others cannot be wrapped as an attempt."""
    return tuple(c for c in (load_case(n, corpus) for n in case_names(corpus)) if c.cpu)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def versions(corpus: Path | None = None) -> list[str]:
    return sorted({c.version for c in _usable(corpus)}, key=_version_key)


def _setup_source(case: Case, corpus: Path | None) -> Case:
    """The run whose setup and RAM iterations wrap ``case``: itself when it traced RAM loading,
    else a noisy run of the same version, preferring the same binary, machine and a success."""
    if case.noisy:
        return case
    same = [c for c in _usable(corpus) if c.version == case.version and c.noisy]
    if not same:
        raise ValueError(f"no corpus run of QEMU {case.version} traces RAM loading")
    return min(
        same,
        key=lambda c: (
            c.binary != case.binary,
            c.machine != case.machine,
            c.outcome != "ok",
            c.name,
        ),
    )


def _success_source(version: str, binary: str, corpus: Path | None) -> Case | None:
    """The successful run of ``version`` whose cpu section and later devices a success uses."""
    ok = [
        c
        for c in _usable(corpus)
        if c.version == version and c.outcome == "ok" and c.binary == binary
    ]
    return min(ok, key=lambda c: (not c.noisy, c.machine != "virt", c.name), default=None)


# -- registers the log names ------------------------------------------------------------------

_HANDLE = re.compile(
    r"handle_cpreg_(only|missing)_in_incoming_stream: system register 0x([0-9a-fA-F]+) "
)
_POST_LOAD = re.compile(r"cpu_post_load cpreg_vmstate_array_len=(\d+) cpreg_array_len=(\d+)")
_INVALID = re.compile(r"Invalid value (\d+) expecting positive value <= (\d+)")


def key_to_id(key: int) -> int:
    """QEMU's 32-bit cpreg key (printed by 11.1 under TCG) → the KVM-style 64-bit id."""
    if key & 0x1000_0000:  # AArch64: 0x10000000 | 0x13 << 16 | encoding
        return 0x6030_0000_0000_0000 | (key & ~0x1000_0000)
    is64 = key & 0x8000  # AArch32: the 64-bit-access bit moves into the size field
    size = 0x0030_0000_0000_0000 if is64 else 0x0020_0000_0000_0000
    return 0x4000_0000_0000_0000 | size | (key & ~0x8000)


@dataclass(frozen=True)
class Findings:
    stream_count: int | None
    destination_count: int | None
    extra: list[str]
    missing: list[str]


def findings(case: Case, lines: Sequence[Line]) -> Findings:
    """What the log says: counts, and the answer key's ids the log names (11.1's handle_* lines).
    An id the log names but the answer key lacks is not reported: the key is the truth."""
    named: dict[str, set[str]] = {"only": set(), "missing": set()}
    counts: tuple[int, int] | None = None
    for line in lines:
        if match := _HANDLE.search(line.text):
            named[match.group(1)].add(f"0x{key_to_id(int(match.group(2), 16)):016x}")
        elif match := _POST_LOAD.search(line.text) or _INVALID.search(line.text):
            counts = counts or (int(match.group(1)), int(match.group(2)))
    expected = case.expected
    extra = [i for i in expected.get("only_in_stream", []) if i in named["only"]]
    missing = [i for i in expected.get("only_on_destination", []) if i in named["missing"]]
    return Findings(counts[0] if counts else None, counts[1] if counts else None, extra, missing)


# -- writing ----------------------------------------------------------------------------------


@cache
def _iso(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class Emitter:
    """Stamps lines with one QEMU process's prefixes, keeps the clock, counts lines and bytes,
    and hands text to ``sink`` in big pieces. ``sink=None`` only measures."""

    def __init__(
        self,
        sink: Callable[[bytes], None] | None,
        *,
        version: str,
        timestamps: bool,
        pid: int,
        clock: int,
        line: int = 0,
        offset: int = 0,
    ) -> None:
        self.sink = sink
        self.timestamps = timestamps
        self.pid = pid
        # QEMU ≥ 10.1 stamps traces like messages (ISO time); older ones as PID@SECONDS.MICROS:
        self.iso_traces = _version_key(version) >= (10, 1)
        self.sec, self.usec = divmod(clock, 1_000_000)
        self.line = line
        self.offset = offset
        self._parts: list[str] = []
        self._pending = 0

    @property
    def clock(self) -> int:
        return self.sec * 1_000_000 + self.usec

    def advance(self, dt: int) -> None:
        self.usec += dt
        if self.usec >= 1_000_000:
            self.sec += self.usec // 1_000_000
            self.usec %= 1_000_000

    def prefix(self, kind: Kind) -> str:
        if not self.timestamps:
            return ""
        if kind == "trace" and not self.iso_traces:
            return f"{self.pid}@{self.sec}.{self.usec:06d}:"
        return f"{_iso(self.sec)}.{self.usec:06d}Z "

    def emit(self, kind: Kind, text: str, dt: int) -> str:
        self.advance(dt)
        stamped = self.prefix(kind) + text
        self._add(stamped + "\n", 1, len(stamped.encode()) + 1)
        return stamped

    def _add(self, text: str, lines: int, size: int) -> None:
        self.line += lines
        self.offset += size
        if self.sink is None:
            return
        self._parts.append(text)
        self._pending += size
        if self._pending >= 1 << 22:
            self.flush()

    def flush(self) -> None:
        if self.sink is not None and self._parts:
            self.sink("".join(self._parts).encode())
        self._parts.clear()
        self._pending = 0

    def page_lines(
        self,
        block: str,
        addr: int,
        host: int,
        count: int,
        flags: Sequence[int],
        deltas: Sequence[int],
        phase: int,
        limit: int,
    ) -> int:
        """``count`` ram_load_loop lines for consecutive pages, or fewer if they would take the
        output past byte ``limit``: how many were written. The hot loop of the generator."""
        done = 0
        while done < count:
            n = min(CHUNK, count - done)
            start_sec, start_usec = self.sec, self.usec
            chunk = self._format(
                block, addr + done * PAGE, host + done * PAGE, n, flags, deltas, phase + done
            )
            text = "".join(chunk)
            if self.offset + len(text) > limit:
                # Rare (once an attempt): keep the lines that fit, and the clock of the last one.
                room = limit - self.offset
                kept = 0
                for line in chunk:
                    if len(line) > room:
                        break
                    room -= len(line)
                    kept += 1
                self.sec, self.usec = start_sec, start_usec
                for k in range(kept):
                    self.advance(deltas[(phase + done + k) & _MASK])
                if kept:
                    self._add("".join(chunk[:kept]), kept, sum(map(len, chunk[:kept])))
                return done + kept
            self._add(text, n, len(text))
            done += n
        return done

    def _format(
        self,
        block: str,
        addr: int,
        host: int,
        n: int,
        flags: Sequence[int],
        deltas: Sequence[int],
        phase: int,
    ) -> list[str]:
        body = f"ram_load_loop {block}: addr: 0x%x flags: 0x%x host: 0x%x\n"
        sec, usec = self.sec, self.usec
        out: list[str] = []
        append = out.append
        if not self.timestamps:
            for k in range(n):
                a = addr + k * PAGE
                append(body % (a, flags[(phase + k) & _MASK], host + k * PAGE))
            for k in range(n):
                usec += deltas[(phase + k) & _MASK]
        elif self.iso_traces:
            fmt = "%s.%06dZ " + body
            second = _iso(sec)
            for k in range(n):
                usec += deltas[(phase + k) & _MASK]
                if usec >= 1_000_000:
                    sec += usec // 1_000_000
                    usec %= 1_000_000
                    second = _iso(sec)
                a = addr + k * PAGE
                append(fmt % (second, usec, a, flags[(phase + k) & _MASK], host + k * PAGE))
        else:
            fmt = f"{self.pid}@%d.%06d:" + body
            for k in range(n):
                usec += deltas[(phase + k) & _MASK]
                if usec >= 1_000_000:
                    sec += usec // 1_000_000
                    usec %= 1_000_000
                a = addr + k * PAGE
                append(fmt % (sec, usec, a, flags[(phase + k) & _MASK], host + k * PAGE))
        self.sec, self.usec = sec + usec // 1_000_000, usec % 1_000_000
        return out


# -- one attempt ------------------------------------------------------------------------------

_LOOP = re.compile(
    r"ram_load_loop (\S+): addr: 0x([0-9a-f]+) flags: 0x([0-9a-f]+) host: 0x([0-9a-f]+)"
)
_ITERATION = re.compile(r"(seq iteration )(\d+)")
_IOC = re.compile(r"ioc=0x[0-9a-f]+")


@dataclass(frozen=True)
class RamBlock:
    name: str
    pages: int
    first_flags: int  # the first page's flags: no CONTINUE bit, as QEMU sends a block's name


@dataclass(frozen=True)
class Setup:
    """A noisy run's lines before its cpu section, cut around its RAM page traffic."""

    before: tuple[Line, ...]  # up to the header of the first iteration with page traffic
    header: tuple[Line, ...]  # separator lines that open an iteration
    trailer: tuple[Line, ...]  # separator lines that close one (``ram_load_complete``)
    after: tuple[Line, ...]  # the last iterations without traffic, timer … cpu_common
    first_iteration: int
    last_iteration: int
    blocks: tuple[RamBlock, ...]


@cache
def _setup(case: Case) -> Setup:
    assert case.cpu is not None
    lines = case.lines[: case.cpu]
    loops = [i for i, line in enumerate(lines) if line.text.startswith("ram_load_loop ")]
    completes = [i for i, line in enumerate(lines) if line.text.startswith("ram_load_complete")]
    first, last = loops[0], loops[-1]
    begin = max((i for i in completes if i < first), default=-1) + 1
    close = min((i for i in completes if i > last), default=last)
    header = tuple(line for line in lines[begin:first] if line.kind == "trace")
    trailer = tuple(lines[last + 1 : close + 1])
    blocks: dict[str, RamBlock] = {}
    for line in lines[first : last + 1]:
        if match := _LOOP.match(line.text):
            name, addr = match.group(1), int(match.group(2), 16)
            old = blocks.get(name)
            pages = max(addr // PAGE + 1, old.pages if old else 0)
            first_flags = old.first_flags if old else int(match.group(3), 16)
            blocks[name] = RamBlock(name, pages, first_flags)

    def iteration(index: int) -> int:
        match = _ITERATION.search(lines[index].text)
        return int(match.group(2)) if match else 0

    return Setup(
        before=lines[:begin],
        header=header,
        trailer=trailer,
        after=lines[close + 1 :],
        first_iteration=iteration(begin - 1) + 1 if begin else 1,
        last_iteration=iteration(close),
        blocks=tuple(blocks.values()),
    )


@dataclass
class AttemptInfo:
    """One attempt of the generated log. Lines are 1-based, offsets 0-based bytes."""

    index: int
    outcome: Outcome
    case: str  # the corpus case its cpu section and outcome come from
    setup_from: str  # the corpus case its setup and RAM iterations follow
    qemu: str
    binary: str
    timestamps: bool
    pid: int | None  # in the PID@ prefix of traces (QEMU ≤ 10.0 with timestamps), else null
    first_line: int
    last_line: int
    offset: int
    length: int
    first_text: str
    cpu_line: int  # the cpu section's qemu_loadvm_state_section_startfull line
    failure_line: int | None  # the corpus' failure_line, as stamped here
    failure_text: str | None
    ram_lines: int
    iterations: int
    guest_ram_mib: int
    stream_count: int | None  # what the log tells: 11.1's cpu_post_load, ≤10.0's Invalid value
    destination_count: int | None
    extra: list[str]  # KVM-style ids in the stream, unknown on the destination, the log names
    missing: list[str]  # ids the destination expects, the stream lacks, the log names


class _Attempt:
    """Plans and writes one attempt: ``case`` gives the cpu section and the outcome."""

    def __init__(self, case: Case, *, seed: str, timestamps: bool, corpus: Path | None) -> None:
        if case.cpu is None:
            raise ValueError(f"{case.name}: its log has no cpu section (run without traces)")
        self.case = case
        self.timestamps = timestamps
        self.source = _setup_source(case, corpus)
        self.setup = _setup(self.source)
        self.tail = case.lines[case.cpu :]
        # A case wrapped in another run's setup keeps its own start-up messages (deprecations).
        self.startup = (
            tuple(line for line in case.lines[: case.cpu] if line.kind == "msg")
            if self.source is not case
            else ()
        )
        self.rng = rng = random.Random(seed)
        self.pid = rng.randrange(1_000, 100_000)
        self.ioc = f"ioc=0x{rng.randrange(0x5500_0000_0000, 0x5700_0000_0000) & ~0xF:x}"
        # A busy guest sends more non-zero pages; a fresh, stopped one almost none.
        data_share = rng.uniform(0.0, 0.3)
        self.full_flags = [0x28 if rng.random() < data_share else 0x22 for _ in range(CHUNK)]
        self.dirty_flags = [0x28 if rng.random() < 0.9 else 0x22 for _ in range(CHUNK)]
        # ~3 µs a page as in the corpus, with an occasional stall of the incoming channel.
        self.deltas = [
            rng.randrange(50, 3000) if rng.random() < 1 / 512 else rng.randrange(2, 6)
            for _ in range(CHUNK)
        ]
        # Clock steps for lines whose corpus source had no timestamps.
        self.steps = [rng.randrange(2, 9) for _ in range(CHUNK)]

    def write(self, out: Emitter, ram_budget: int, index: int = 0) -> AttemptInfo:
        setup = self.setup
        first_line, offset = out.line + 1, out.offset
        count = 0
        first_text = ""

        def emit(line: Line, text: str | None = None) -> str:
            nonlocal count, first_text
            text = line.text if text is None else text
            if "ioc=" in text:
                text = _IOC.sub(self.ioc, text)
            dt = line.dt if line.dt is not None else self.steps[count & _MASK]
            stamped = out.emit(line.kind, text, dt)
            if not count:
                first_text = stamped
            count += 1
            return stamped

        for line in (*self.startup, *setup.before):
            emit(line)
        iteration, ram_lines, main_pages = self._ram(out, ram_budget, emit)
        shift = iteration - setup.last_iteration
        for line in setup.after:
            emit(
                line, _ITERATION.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + shift}", line.text)
            )

        cpu_line = 0
        failing = self.case.outcome == "fail"
        failure: tuple[int, str] | None = None
        first_error: tuple[int, str] | None = None
        expected_failure = _strip_stamp(self.case.expected.get("failure_line") or "")
        for i, line in enumerate(self.tail):
            stamped = emit(line)
            if i <= 1 and _CPU_SECTION.match(line.text):
                cpu_line = out.line
            if failing and failure is None and line.text == expected_failure:
                failure = out.line, stamped
            if failing and first_error is None and _is_error(line):
                first_error = out.line, stamped
        # Without an answer-key line in the log: its first error after the cpu section.
        failure = failure or first_error
        found = findings(self.case, self.tail)
        return AttemptInfo(
            index=index,
            outcome=self.case.outcome,
            case=self.case.name,
            setup_from=self.source.name,
            qemu=self.case.version,
            binary=self.case.binary,
            timestamps=self.timestamps,
            pid=self.pid if self.timestamps and not out.iso_traces else None,
            first_line=first_line,
            last_line=out.line,
            offset=offset,
            length=out.offset - offset,
            first_text=first_text,
            cpu_line=cpu_line,
            failure_line=failure[0] if failure else None,
            failure_text=failure[1] if failure else None,
            ram_lines=ram_lines,
            iterations=iteration - setup.first_iteration + 1,
            guest_ram_mib=main_pages * PAGE >> 20,
            stream_count=found.stream_count,
            destination_count=found.destination_count,
            extra=found.extra,
            missing=found.missing,
        )

    def _ram(
        self, out: Emitter, budget: int, emit: Callable[[Line, str | None], str]
    ) -> tuple[int, int, int]:
        """RAM traffic in about ``budget`` bytes: one pass over every block, then passes over
        runs of main RAM the guest dirtied meanwhile, cut into iterations of some tens of
        thousands of pages. Returns (last iteration number, page lines, main RAM pages)."""
        setup, rng = self.setup, self.rng
        limit = out.offset + max(0, budget)
        line_size = len(out.prefix("trace")) + 75
        main = max(setup.blocks, key=lambda b: b.pages)
        # Main RAM sized so that the first pass takes about half the budget (128 MiB steps).
        others = sum(b.pages for b in setup.blocks if b is not main)
        want = int(max(0, budget) * 0.55 / line_size) - others
        main_pages = max(main.pages, want // RAM_STEP_PAGES * RAM_STEP_PAGES)
        blocks = [
            RamBlock(b.name, main_pages, b.first_flags) if b is main else b for b in setup.blocks
        ]
        hosts = self._hosts(blocks)
        opening = sum(len(out.prefix("trace")) + len(line.text) + 1 for line in setup.header)
        closing = sum(len(out.prefix("trace")) + len(line.text) + 4 for line in setup.trailer)
        room = limit - closing  # page lines stop here, so the iteration can still close

        iteration = setup.first_iteration
        left = rng.randrange(*ITERATION_LINES)
        written = phase = 0
        for line in setup.header:
            emit(line, None)
        for block, page, pages, opens, dirty in self._runs(blocks, main_pages):
            while pages:
                if not left:
                    if out.offset + closing + opening + line_size > room:
                        break
                    for line in setup.trailer:
                        emit(line, _renumber(line.text, iteration))
                    iteration += 1
                    for line in setup.header:
                        emit(line, None)
                    left = rng.randrange(*ITERATION_LINES)
                if opens:
                    # A block's first page has no CONTINUE flag: QEMU sends the block's name.
                    n = 1
                    flags: Sequence[int] = _constant(0x8 if dirty else block.first_flags)
                else:
                    n = min(pages, left)
                    flags = self.dirty_flags if dirty else self.full_flags
                addr = page * PAGE
                wrote = out.page_lines(
                    block.name, addr, hosts[block.name] + addr, n, flags, self.deltas, phase, room
                )
                phase, written = phase + wrote, written + wrote
                page, pages, left, opens = page + wrote, pages - wrote, left - wrote, False
                if wrote < n:
                    break
            if pages:
                break
        for line in setup.trailer:
            emit(line, _renumber(line.text, iteration))
        return iteration, written, main_pages

    def _hosts(self, blocks: Sequence[RamBlock]) -> dict[str, int]:
        """Host addresses as mmap hands them out, top-down, 2 MiB aligned, one set a process."""
        top = 0x7F80_0000_0000 - self.rng.randrange(0, 0x4000) * 0x20_0000
        hosts: dict[str, int] = {}
        for block in blocks:
            size = -(-block.pages * PAGE // 0x20_0000) * 0x20_0000
            top -= size + 0x20_0000
            hosts[block.name] = top
        return hosts

    def _runs(
        self, blocks: Sequence[RamBlock], main_pages: int
    ) -> Iterator[tuple[RamBlock, int, int, bool, bool]]:
        """(block, first page, pages, opens the block, dirty pass): the full pass, then passes
        over runs of main RAM the guest dirtied meanwhile, in the order QEMU walks its bitmap."""
        for block in blocks:
            yield block, 0, block.pages, True, False
        main = max(blocks, key=lambda b: b.pages)
        rng = self.rng
        opens = True  # back to main RAM after the small blocks that ended the full pass
        while True:
            target = int(main_pages * rng.uniform(0.02, 0.25))
            runs: list[tuple[int, int]] = []
            total = 0
            while total < target:
                length = min(1 + int(rng.expovariate(1 / 24)), 2048)
                runs.append((rng.randrange(0, main_pages), length))
                total += length
            runs.sort()
            end = 0
            for start, length in runs:
                start = max(start, end)
                length = min(length, main_pages - start)
                if length > 0:
                    yield main, start, length, opens, True
                    opens = False
                    end = start + length


@cache
def _constant(value: int) -> list[int]:
    return [value] * CHUNK


def _is_error(line: Line) -> bool:
    return line.kind == "msg" and not _PROGRAM.sub("", line.text, count=1).startswith("warning: ")


def _renumber(text: str, iteration: int) -> str:
    return _ITERATION.sub(lambda m: m.group(1) + str(iteration), text)


def _strip_stamp(text: str) -> str:
    return _ISO_STAMP.sub("", text, count=1) if _ISO_STAMP.match(text) else text


def failure_block(
    case: str,
    *,
    seed: int = 0,
    ram_bytes: int = 256 * 1024,
    timestamps: bool = True,
    clock: int | None = None,
    corpus: Path | None = None,
) -> bytes:
    """One complete failing attempt of corpus ``case`` (setup, ``ram_bytes`` of RAM traffic, the
    case's cpu section and failure), as a process started at ``clock`` (µs since 1970) writes it.
    For appending to a log under watch."""
    loaded = load_case(case, corpus)
    if loaded.outcome != "fail":
        raise ValueError(f"{case}: not a failing case")
    parts: list[bytes] = []
    attempt = _Attempt(loaded, seed=f"{seed}/block/{case}", timestamps=timestamps, corpus=corpus)
    out = Emitter(
        parts.append,
        version=loaded.version,
        timestamps=timestamps,
        pid=attempt.pid,
        clock=EPOCH * 1_000_000 if clock is None else clock,
    )
    attempt.write(out, ram_bytes)
    out.flush()
    return b"".join(parts)


# -- the whole file ---------------------------------------------------------------------------


@dataclass
class Manifest:
    """``OUT.manifest.json``: what was generated, and what a correct reader finds in it."""

    schema: str
    file: str
    size: int  # bytes of the log (uncompressed)
    requested_size: int
    lines: int
    seed: int
    version: str  # 7.2 | 10.0 | 11.1 | mixed
    failures: int
    compress: str
    compressed_size: int | None
    sha256: str  # of the uncompressed log
    cases: list[str]
    attempts: list[AttemptInfo] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"


def _names_registers(case: Case) -> bool:
    found = findings(case, case.lines)
    return bool(found.extra or found.missing)


def _plan(
    version: str, failures: int, successes: int | None, rng: random.Random, corpus: Path | None
) -> list[Case]:
    """The attempts in file order: successes and failures interleaved, the last one a failure
    (naming registers when the version can) placed at the very end."""
    known = versions(corpus)
    chosen = known if version == "mixed" else [version]
    if version != "mixed" and version not in known:
        raise ValueError(f"no usable corpus case for QEMU {version} (have {', '.join(known)})")
    if failures < 1:
        raise ValueError("at least one failure is needed")
    usable = _usable(corpus)
    binary = "qemu-system-aarch64"
    failing = {
        v: sorted(
            (c for c in usable if c.version == v and c.outcome == "fail" and c.binary == binary),
            key=lambda c: c.name,
        )
        for v in chosen
    }
    for v, cases in failing.items():
        if not cases:
            raise ValueError(f"no failing corpus case for QEMU {v}")
        rng.shuffle(cases)
    # The file ends on the newest version: the failure a reader shows last.
    last_version = chosen[-1]
    naming = [c for c in failing[last_version] if _names_registers(c)]
    last = rng.choice(naming or failing[last_version])
    picks: list[Case] = []
    turn = {v: 0 for v in chosen}
    for i in range(failures - 1):
        v = chosen[i % len(chosen)]
        cases = failing[v]
        picks.append(cases[turn[v] % len(cases)])
        turn[v] += 1
    wins = [s for v in chosen if (s := _success_source(v, binary, corpus)) is not None]
    count = failures if successes is None else successes
    turn_ok = rng.randrange(len(wins)) if wins else 0
    oks = [wins[(turn_ok + i) % len(wins)] for i in range(count)] if wins else []
    body: list[Case] = []
    for i in range(max(len(picks), len(oks))):
        if i < len(oks):
            body.append(oks[i])
        if i < len(picks):
            body.append(picks[i])
    return [*body, last]


class _Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...
    def close(self) -> None: ...


def _open(path: Path, compress: str) -> tuple[_Writer, BinaryIO]:
    """(stream to write the log to, the file under it). Compressed outputs carry no time or
    name, so that the same log compresses to the same bytes."""
    raw: BinaryIO = path.open("wb")
    if compress == "none":
        return raw, raw
    if compress == "gz":
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6), raw
    if compress == "xz":
        return lzma.LZMAFile(raw, "wb", preset=1), raw
    if compress == "zst":
        import zstandard

        return zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False), raw
    raise ValueError(f"unknown compression {compress!r} (one of {', '.join(COMPRESSIONS)})")


def generate(
    path: Path,
    size: int,
    *,
    version: str = "mixed",
    seed: int = 0,
    failures: int = 3,
    successes: int | None = None,
    compress: str = "none",
    corpus: Path | None = None,
) -> Manifest:
    """Write a log of ``size`` bytes (±1%) to ``path`` and its manifest beside it."""
    if compress not in COMPRESSIONS:
        raise ValueError(f"unknown compression {compress!r} (one of {', '.join(COMPRESSIONS)})")
    rng = random.Random(f"reginspect-bench/{seed}/{version}")
    plan = _plan(version, failures, successes, rng, corpus)
    attempts = [
        _Attempt(
            case, seed=f"{seed}/{version}/{i}", timestamps=rng.random() < TIMESTAMPED, corpus=corpus
        )
        for i, case in enumerate(plan)
    ]

    # What each attempt takes without RAM traffic (a dry run), then who gets the rest.
    def fixed(attempt: _Attempt) -> int:
        probe = Emitter(
            None,
            version=attempt.case.version,
            timestamps=attempt.timestamps,
            pid=attempt.pid,
            clock=EPOCH * 1_000_000,
        )
        twin = _Attempt(attempt.case, seed="probe", timestamps=attempt.timestamps, corpus=corpus)
        twin.write(probe, 0)
        return probe.offset

    costs = [fixed(a) for a in attempts]
    # Drop successes, biggest first, until the fixed parts leave room for RAM traffic.
    while sum(costs) > 0.75 * size and any(a.case.outcome == "ok" for a in attempts):
        drop = max(
            (i for i, a in enumerate(attempts) if a.case.outcome == "ok"), key=lambda i: costs[i]
        )
        del attempts[drop], costs[drop]
    if sum(costs) > size:
        raise ValueError(
            f"{size} bytes cannot hold {failures} failing attempts: {sum(costs)} needed"
        )
    spare = size - sum(costs)
    # The last failure stays within the last few percent of the file.
    last_ram = max(0, min(spare, size // 100, size * 4 // 100 - costs[-1]))
    weights = [rng.uniform(0.5, 1.5) for _ in attempts[:-1]]
    budgets = [int((spare - last_ram) * w / sum(weights)) for w in weights]

    path.parent.mkdir(parents=True, exist_ok=True)
    stream, raw = _open(path, compress)
    digest = hashlib.sha256()

    def sink(data: bytes) -> None:
        digest.update(data)
        stream.write(data)

    infos: list[AttemptInfo] = []
    clock = EPOCH * 1_000_000 + rng.randrange(0, 6 * 3600 * 1_000_000)
    line = offset = 0
    with raw:
        for i, attempt in enumerate(attempts):
            out = Emitter(
                sink,
                version=attempt.case.version,
                timestamps=attempt.timestamps,
                pid=attempt.pid,
                clock=clock,
                line=line,
                offset=offset,
            )
            # The last attempt takes exactly what is left: earlier ones stop a line short.
            ram = budgets[i] if i < len(budgets) else size - offset - costs[i]
            infos.append(attempt.write(out, ram, index=i))
            out.flush()
            line, offset = out.line, out.offset
            clock = out.clock + rng.randrange(5, 900) * 1_000_000  # the next QEMU, a bit later
        if stream is not raw:
            stream.close()
    compressed = path.stat().st_size if compress != "none" else None
    manifest = Manifest(
        schema=SCHEMA,
        file=path.name,
        size=offset,
        requested_size=size,
        lines=line,
        seed=seed,
        version=version,
        failures=sum(1 for a in infos if a.outcome == "fail"),
        compress=compress,
        compressed_size=compressed,
        sha256=digest.hexdigest(),
        cases=sorted({a.case for a in infos} | {a.setup_from for a in infos}),
        attempts=infos,
    )
    Path(f"{path}.manifest.json").write_text(manifest.to_json())
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a big, realistic QEMU migration log.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", required=True, type=parse_size, help="e.g. 10M, 1G (binary)")
    parser.add_argument("--version", default="mixed", help="7.2, 10.0, 11.1 or mixed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failures", type=int, default=3)
    parser.add_argument("--successes", type=int, default=None, help="default: as many as failures")
    parser.add_argument("--compress", choices=COMPRESSIONS, default="none")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        manifest = generate(
            args.out,
            args.size,
            version=args.version,
            seed=args.seed,
            failures=args.failures,
            successes=args.successes,
            compress=args.compress,
        )
    except ValueError as error:
        print(f"make_log: {error}", file=sys.stderr)
        return 2
    took = time.perf_counter() - started
    print(
        f"{args.out}: {manifest.size} bytes, {manifest.lines} lines, "
        f"{len(manifest.attempts)} attempts ({manifest.failures} failing) in {took:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
