"""Sans-I/O parser of QEMU migration logs: ``feed(bytes)`` in any chunking, ``close()``, events out.

It never raises on input. Lines are found in two stages so that gigabyte trace logs stay cheap:
``candidate_lines`` picks, with C-speed byte searches, the few lines that can matter (most of a
big log is ``ram_load_loop`` noise); only those are decoded and matched against the line shapes
of QEMU 7.2 … 11.x, the proposed x-mig series, KVM and libvirt. Other lines are only counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from parsers.bytesearch import LineFinder, count_newlines, line_starts
from parsers.logevents import (
    CommandLineSeen,
    CpuCounts,
    FailureKind,
    IncomingStarted,
    LoadCleanedUp,
    LoadCompleted,
    LoadFailed,
    LogEvent,
    Problem,
    ProcessEnded,
    ProcessStarted,
    PropertyRejected,
    QemuMessage,
    RegisterHidden,
    RegisterSeen,
    SectionStarted,
    Status,
)
from parsers.regids import Accel, RegisterIdError, find_references, parse_reference

# The header of each start in a libvirt domain log; the QEMU command line follows it, one option a
# line ending in " \\".
LIBVIRT_HEADER: Final = b"starting up libvirt"
# Every line that can matter contains one of these. Each costs one pass over the input and long
# needles search faster: add one only for a line no other needle catches.
NEEDLES: Final[tuple[bytes, ...]] = (
    b"qemu-",  # error_report lines: qemu-system-*: and qemu-kvm:
    b"loadvm_state_",  # loadvm_state_setup/cleanup and the qemu_loadvm_state_* traces
    b"cpu_post_load",  # 11.1 counts, x-mig series traces, kvm_arm_cpu_post_load*
    b"_cpreg_",  # tolerate_cpreg_*, handle_cpreg_*, kvm_arm_init_cpreg_list_*
    b"vmstate_load_state_fail",
    b"vmstate_load_field_error",
    b" end/-",  # vmstate_load_state_end DEV end/-N (QEMU <= 10.x)
    LIBVIRT_HEADER,
    b"shutting down, reason",
    b"x-mig-",
)

# No CPU has this many registers: a larger count is damage, not data.
MAX_REGISTERS: Final = 1 << 20
# A line longer than this is cut for matching: nothing QEMU prints about registers is that long.
MAX_LINE: Final = 64 * 1024
# libvirt writes the QEMU command line after its header, one option a line ending in " \".
MAX_COMMAND_LINE_LINES: Final = 400

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?):?\s+")
_JOURNAL = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: ")
_TRACE_PID = re.compile(r"(\d+)@(\d+\.\d+):")
_PROGRAM = re.compile(r"(?:\S*/)?(qemu-(?:system-[\w-]+|kvm)(?:\.\w+)?|kvm): ")
_LEVEL = re.compile(r"(warning|error|info): ")

_KV = re.compile(r"(\w+)=(-?\d+)")
_HEX = re.compile(r"0x([0-9a-fA-F]{1,32})")

_SECTION_START = re.compile(r"qemu_loadvm_state_section_startfull (\d+)\((.*)\) (\d+) (\d+)")
_SECTION = re.compile(r"qemu_loadvm_state_section (\d+)\s*$")
_POST_MAIN = re.compile(r"qemu_loadvm_state_post_main (-?\d+)")
_FIELD_ERROR = re.compile(r"vmstate_load_field_error field \"([^\"]*)\" load failed, ret = (-?\d+)")
_STATE_FAIL = re.compile(r"vmstate_load_state_fail (\S+)\s*(.*)")
_STATE_END_FAIL = re.compile(r"vmstate_load_state_end (\S+) end/(-\d+)")
_XMIG_REG = re.compile(
    r"(cpu_post_load_missing_as_expected|cpu_post_load_missing|cpu_post_load_unexpected|"
    r"cpu_post_load)\b.*?(?:index|regidx)=0x([0-9a-fA-F]+)"
)
_KVM_MISSING = re.compile(
    r"kvm_arm_cpu_post_load_missing_reg\s+Missing register in input stream: (.*)"
)
_KVM_UNEXPECTED = re.compile(
    r"kvm_arm_cpu_post_load:? Unexpected register in input stream: -?\d+ 0x([0-9a-fA-F]+)\s*(.*)"
)
_HIDDEN = re.compile(r"kvm_arm_init_cpreg_list_skip_hidden_reg\s+hidden 0x([0-9a-fA-F]+)")
_TOLERATE = re.compile(r"tolerate_cpreg_(missing|only)_in_incoming_stream\b:?\s*(.*)")
_HANDLE = re.compile(
    r"handle_cpreg_(missing|only)_in_incoming_stream: (.*?) "
    r"(?:expected by the destination|in the incoming stream but unknown)"
)
_INVALID_VALUE = re.compile(r"Invalid value (-?\d+) expecting positive value <= (-?\d+)")
_FAILED_TO_LOAD = re.compile(r"Failed to load (\S+)")
_INSTANCE = re.compile(
    r"error while loading state for instance 0x([0-9a-fA-F]+) of device '([^']*)'"
)
_SECTION_ERROR = re.compile(r"error while loading state section id (\d+)\(([^)]*)\)")
_LOAD_FAILED = re.compile(r"load of migration failed: (.*)")
_ASSERTION = re.compile(r"Assertion .* failed")
_CANT_APPLY = re.compile(r"can't apply global ([\w.-]+?)\.([\w-]+)=(.*?): (.*)$")
_SET_TWICE = re.compile(r"array size property ([\w-]+) may not be set more than once")
_UNEXPECTED_ERROR = re.compile(r"Unexpected error in \S+ at \S+")
_LIBVIRT_START = re.compile(
    r"starting up libvirt version: ([^,]+),(?: package: .*?,)? qemu version: (.*?)"
    r"(?:, kernel: .*|, hostname: .*)?$"
)
_LIBVIRT_END = re.compile(r"shutting down, reason=(\S+)")
_QEMU_BINARY = re.compile(r"(?:^|[\s/])(qemu-(?:system-[\w-]+|kvm))(?=\s|$)")
_OPTION = re.compile(r"(?:^|\s)-(machine|M|cpu|accel|incoming|enable-kvm)(?:\s+(\S+))?")

_MIGRATION_WORDS = ("vmstate", "migration", "savevm", "loadvm")


def joins_next_line(line: bytes) -> bool:
    """Whether the parser reads ``line`` together with the next one: a libvirt header and the
    command-line lines after it. Whoever cuts a log into pieces must not cut after it."""
    line = line.rstrip(b"\r\n")
    return line.endswith(b"\\") or LIBVIRT_HEADER in line


@dataclass(frozen=True, slots=True)
class Candidate:
    line: int  # 1-based
    offset: int  # byte offset of the line start in the whole input
    data: bytes  # the line without its end-of-line


def candidate_lines(
    buf: bytes,
    first_line: int,
    first_offset: int,
    start: int = 0,
    end: int | None = None,
    needles: tuple[bytes, ...] = NEEDLES,
    finder: LineFinder | None = None,
) -> tuple[list[Candidate], int]:
    """The lines of ``buf[start:end]`` (complete lines only) that contain a needle, in order,
    and the number of newlines there. ``first_line`` and ``first_offset`` are the line number
    and input offset of ``buf[start]``.

    Pure and cheap: one C-level search per needle (or ``finder``'s, built for ``needles``), then
    one newline count over the bytes, in pieces between the hits.
    """
    end = len(buf) if end is None else end
    found: list[Candidate] = []
    line = first_line
    previous = start
    if finder is None:
        starts = line_starts(buf, needles, start, end)
    else:
        starts = finder.line_starts(buf, start, end)
    for line_start in starts:
        line += count_newlines(buf, previous, line_start)
        previous = line_start
        line_end = buf.find(b"\n", line_start, end)
        if line_end == -1:
            line_end = end
        found.append(Candidate(line, first_offset + line_start - start, buf[line_start:line_end]))
    newlines = line - first_line + count_newlines(buf, previous, end)
    return found, newlines


@dataclass(slots=True)
class Prefix:
    time: str | None = None
    program: str | None = None
    level: str | None = None


def decode_line(data: bytes) -> str:
    """Bytes of one line as text: invalid UTF-8 is kept visible as ``\\xNN``, CR removed."""
    if len(data) > MAX_LINE:
        data = data[:MAX_LINE]
    return data.decode("utf-8", "backslashreplace").rstrip("\r")


def strip_prefixes(text: str) -> tuple[str, Prefix]:
    """Remove the prefixes QEMU, the trace backend, libvirt and journald put before a message."""
    prefix = Prefix()
    body = _ANSI.sub("", text).lstrip()
    for _ in range(4):
        match = _ISO_TIME.match(body) or _JOURNAL.match(body)
        if match:
            if match.re is _ISO_TIME:
                prefix.time = match.group(1)
            body = body[match.end() :]
            continue
        match = _TRACE_PID.match(body)
        if match:
            prefix.time = match.group(2)
            body = body[match.end() :]
            continue
        break
    match = _PROGRAM.match(body)
    if match:
        prefix.program = match.group(1)
        body = body[match.end() :]
    match = _LEVEL.match(body)
    if match:
        prefix.level = match.group(1)
        body = body[match.end() :]
    return body.strip(), prefix


def _reference(text: str) -> tuple[int, str, Accel] | None:
    """The one register a message names, in whatever form it uses."""
    text = text.strip()
    try:
        ref = parse_reference(text)
    except RegisterIdError:
        found = find_references(text)
        if not found:
            return None
        ref = found[0][2]
    return ref.kvm_id, ref.text, ref.accel


def _id_from_hex(digits: str) -> tuple[int, Accel] | None:
    """A bare hex number: a 64-bit KVM-style id, or QEMU's 32-bit key."""
    value = int(digits, 16)
    try:
        ref = parse_reference(f"0x{value:x}")
    except RegisterIdError:
        return None
    return ref.kvm_id, ref.accel


class LogParser:
    """Incremental parser: ``feed`` bytes in any chunking, then ``close``; both return events."""

    def __init__(self, start_offset: int = 0, finder: LineFinder | None = None) -> None:
        """``start_offset``: where the first byte fed sits in the whole input (for regions);
        ``finder``: a faster search for the lines holding one of ``NEEDLES`` (default: memmem)."""
        self._finder = finder
        self._pending = b""  # the start of the current incomplete line (at most MAX_LINE bytes)
        self._pending_dropped = 0  # bytes of an overlong pending line not kept
        self._pending_offset = start_offset  # byte offset where the pending line starts
        self._command_line: list[str] | None = None  # libvirt command-line block being read
        self._command_line_start: tuple[int, int, str] = (0, 0, "")
        self.lines = 0  # complete lines seen
        self.bytes = 0
        self.candidate_count = 0
        self.problems: list[Problem] = []

    def feed(self, data: bytes) -> list[LogEvent]:
        self.bytes += len(data)
        events: list[LogEvent] = []
        first_newline = data.find(b"\n")
        if first_newline == -1:
            self._keep_pending(data)
            return events
        start = 0
        offset = self._pending_offset
        if self._pending or self._pending_dropped:
            self._keep_pending(data[:first_newline])
            self._finish_line(self._pending, self._pending_offset, events)
            offset = self._pending_offset + len(self._pending) + self._pending_dropped + 1
            self._pending, self._pending_dropped = b"", 0
            start = first_newline + 1
        last_newline = data.rfind(b"\n")
        if last_newline >= start:
            self._scan(data, start, last_newline + 1, offset, events)
            offset += last_newline + 1 - start
        self._pending_offset = offset
        self._keep_pending(data[last_newline + 1 :])
        return events

    def skip(self, lines: int, size: int) -> None:
        """Account for ``lines`` whole lines (``size`` bytes) parsed elsewhere, e.g. in another
        process: what is fed next starts after them."""
        self.lines += lines
        self.bytes += size
        self._pending_offset += size

    def close(self) -> list[LogEvent]:
        events: list[LogEvent] = []
        if self._pending or self._pending_dropped:
            self._finish_line(self._pending, self._pending_offset, events)
            self._pending_offset += len(self._pending) + self._pending_dropped
            self._pending, self._pending_dropped = b"", 0
        self._flush_command_line(events)
        return events

    def _keep_pending(self, data: bytes) -> None:
        room = MAX_LINE - len(self._pending)
        if len(data) > room:
            self._pending += data[:room]
            self._pending_dropped += len(data) - room
        else:
            self._pending += data

    def _finish_line(self, data: bytes, offset: int, events: list[LogEvent]) -> None:
        """One complete line that was assembled across chunks."""
        self.lines += 1
        if self._command_line is not None or any(needle in data for needle in NEEDLES):
            self.candidate_count += 1
            self._parse(Candidate(self.lines, offset, data), events)

    def _scan(self, buf: bytes, start: int, stop: int, offset: int, events: list[LogEvent]) -> None:
        """Complete lines ``buf[start:stop]``, ``buf[start]`` being byte ``offset`` of the input:
        parse the candidates only."""
        position = start
        line = self.lines
        # A libvirt command-line block carries no needle: read it line by line (it is short).
        while self._command_line is not None and position < stop:
            end = buf.find(b"\n", position, stop)
            line += 1
            self._parse(Candidate(line, offset + position - start, buf[position:end]), events)
            position = end + 1
        base_line = line
        candidates, newlines = candidate_lines(
            buf, line + 1, offset + position - start, position, stop, finder=self._finder
        )
        index = 0
        while index < len(candidates):
            candidate = candidates[index]
            index += 1
            self.candidate_count += 1
            self._parse(candidate, events)
            if self._command_line is None:
                continue
            block_at = candidate.offset - offset + start + len(candidate.data) + 1
            block_line = candidate.line
            while self._command_line is not None and block_at < stop:
                end = buf.find(b"\n", block_at, stop)
                block_line += 1
                self._parse(
                    Candidate(block_line, offset + block_at - start, buf[block_at:end]), events
                )
                block_at = end + 1
            while index < len(candidates) and candidates[index].line <= block_line:
                index += 1
        self.lines = base_line + newlines

    def _parse(self, candidate: Candidate, events: list[LogEvent]) -> None:
        raw = decode_line(candidate.data)
        body, prefix = strip_prefixes(raw)
        line, offset, emit = candidate.line, candidate.offset, events.append
        if self._command_line is not None and self._collect_command_line(raw, events):
            return
        for handler in _HANDLERS:
            if handler(self, line, offset, raw, body, prefix, emit):
                return
        if prefix.program is not None:
            emit(QemuMessage(line, offset, raw, prefix.level or "error", body))

    def problem(self, line: int, offset: int, raw: str, message: str, emit: Emit) -> None:
        found = Problem(line, offset, raw, message)
        self.problems.append(found)
        emit(found)

    # -- libvirt command line ------------------------------------------------------------------

    def open_command_line(self, line: int, offset: int, raw: str, emit: Emit) -> None:
        events: list[LogEvent] = []
        self._flush_command_line(events)
        for event in events:
            emit(event)
        self._command_line = []
        self._command_line_start = (line, offset, raw)

    def _collect_command_line(self, raw: str, events: list[LogEvent]) -> bool:
        """Add one line to the open command-line block; False when the block has ended."""
        assert self._command_line is not None
        stripped = raw.rstrip()
        looks_like_option = stripped.endswith("\\") or stripped.startswith("-") or "=" in stripped
        if not looks_like_option or len(self._command_line) >= MAX_COMMAND_LINE_LINES:
            self._flush_command_line(events)
            return False
        self._command_line.append(stripped.rstrip("\\").strip())
        if not stripped.endswith("\\"):
            self._flush_command_line(events)
        return True

    def _flush_command_line(self, events: list[LogEvent]) -> None:
        if self._command_line is None:
            return
        text = " ".join(self._command_line)
        self._command_line = None
        line, offset, raw = self._command_line_start
        seen = command_line_options(line, offset, raw, text)
        if seen is not None:
            events.append(seen)


def command_line_options(line: int, offset: int, raw: str, text: str) -> CommandLineSeen | None:
    """The options of a QEMU command line that shape the CPU register list."""
    binary_match = _QEMU_BINARY.search(text)
    options: dict[str, str] = {}
    for match in _OPTION.finditer(text):
        options.setdefault(match.group(1), match.group(2) or "")
    if binary_match is None and not options:
        return None
    machine = options.get("machine") or options.get("M")
    accel = options.get("accel")
    if machine and accel is None:
        accel_in_machine = re.search(r"accel=(\w+)", machine)
        accel = accel_in_machine.group(1) if accel_in_machine else None
    if "enable-kvm" in options and accel is None:
        accel = "kvm"
    return CommandLineSeen(
        line,
        offset,
        raw,
        machine=machine.split(",")[0] if machine else None,
        cpu=options.get("cpu", "").split(",")[0] or None,
        accel=accel.split(",")[0] if accel else None,
        incoming=options.get("incoming"),
        binary=binary_match.group(1) if binary_match else None,
    )


# -- line handlers: each returns True when it recognised the line -------------------------------

Emit = Callable[[LogEvent], None]
Handler = Callable[[LogParser, int, int, str, str, Prefix, Emit], bool]


def _counts(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    if not body.startswith(("cpu_post_load ", "cpu_post_load_len ")) or "cpreg" not in body:
        match = _INVALID_VALUE.search(body)
        if not match:
            return False
        emit(LoadFailed(line, offset, raw, FailureKind.COUNT, body, None, "cpu"))
        stream: int | None = int(match.group(1))
        destination: int | None = int(match.group(2))
    else:
        values = {key: int(value) for key, value in _KV.findall(body)}
        stream = values.get("cpreg_vmstate_array_len")
        destination = values.get("cpreg_array_len")
    if any(
        count is not None and not 0 <= count <= MAX_REGISTERS for count in (stream, destination)
    ):
        parser.problem(line, offset, raw, "register counts out of range", emit)
        return True
    emit(CpuCounts(line, offset, raw, stream, destination))
    return True


def _xmig_register(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    match = _XMIG_REG.match(body)
    if not match:
        return False
    found = _id_from_hex(match.group(2))
    if found is None:
        parser.problem(
            line, offset, raw, f"register index 0x{match.group(2)} is not an Arm register", emit
        )
        return True
    kvm_id, accel = found
    event = match.group(1)
    status, tolerated = {
        "cpu_post_load": (Status.MATCHED, False),
        "cpu_post_load_missing": (Status.MISSING, False),
        "cpu_post_load_unexpected": (Status.EXTRA, False),
        "cpu_post_load_missing_as_expected": (Status.EXTRA, True),
    }[event]
    emit(
        RegisterSeen(
            line, offset, raw, kvm_id, status, f"0x{match.group(2)}", accel, tolerated, event
        )
    )
    return True


def _kvm_register(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    match = _KVM_MISSING.search(body)
    if match:
        found = _reference(match.group(1))
        if found is None:
            parser.problem(line, offset, raw, f"register {match.group(1)!r} not understood", emit)
            return True
        emit(
            RegisterSeen(
                line,
                offset,
                raw,
                found[0],
                Status.MISSING,
                found[1],
                Accel.KVM,
                False,
                "kvm_arm_cpu_post_load_missing_reg",
            )
        )
        return True
    match = _KVM_UNEXPECTED.search(body)
    if match:
        found_hex = _id_from_hex(match.group(1))
        if found_hex is None:
            parser.problem(line, offset, raw, f"register 0x{match.group(1)} not understood", emit)
            return True
        emit(
            RegisterSeen(
                line,
                offset,
                raw,
                found_hex[0],
                Status.EXTRA,
                match.group(2) or f"0x{match.group(1)}",
                Accel.KVM,
                False,
                "kvm_arm_cpu_post_load",
            )
        )
        return True
    match = _HIDDEN.search(body)
    if match:
        found_hex = _id_from_hex(match.group(1))
        if found_hex is not None:
            emit(RegisterHidden(line, offset, raw, found_hex[0]))
        return True
    return body.startswith("kvm_arm_init_cpreg")


def _handle_register(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    match = _HANDLE.search(body)
    tolerated = False
    if match:
        kind, text = match.group(1), match.group(2)
        source_event = f"handle_cpreg_{kind}_in_incoming_stream"
    else:
        match = _TOLERATE.match(body)
        if not match:
            return False
        kind, text = match.group(1), match.group(2)
        tolerated = True
        source_event = f"tolerate_cpreg_{kind}_in_incoming_stream"
    found = _reference(text)
    if found is None:
        hex_match = _HEX.search(text)
        found_hex = _id_from_hex(hex_match.group(1)) if hex_match else None
        if found_hex is None:
            parser.problem(line, offset, raw, f"register {text!r} not understood", emit)
            return True
        found = (found_hex[0], hex_match.group(0) if hex_match else text, found_hex[1])
    status = Status.MISSING if kind == "missing" else Status.EXTRA
    emit(
        RegisterSeen(
            line, offset, raw, found[0], status, found[1], found[2], tolerated, source_event
        )
    )
    return True


def _loadvm(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    if body.startswith("loadvm_state_setup"):
        emit(IncomingStarted(line, offset, raw, "loadvm_state_setup"))
        return True
    if body.startswith("loadvm_state_cleanup"):
        emit(LoadCleanedUp(line, offset, raw))
        return True
    if not body.startswith("qemu_loadvm_state_"):
        return False
    match = _SECTION_START.match(body)
    if match:
        emit(
            SectionStarted(
                line,
                offset,
                raw,
                int(match.group(1)),
                match.group(2),
                int(match.group(3)),
                int(match.group(4)),
            )
        )
        return True
    match = _SECTION.match(body)
    if match:
        if match.group(1) == "0":  # QEMU_VM_EOF: the whole stream was read
            emit(LoadCompleted(line, offset, raw, "end of stream"))
        return True
    match = _POST_MAIN.match(body)
    if match:
        if int(match.group(1)) == 0:
            emit(LoadCompleted(line, offset, raw, "post_main 0"))
        else:
            emit(LoadFailed(line, offset, raw, FailureKind.TRACE, body, None, None))
        return True
    return True


def _vmstate_failure(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    match = _FIELD_ERROR.match(body)
    if match:
        emit(LoadFailed(line, offset, raw, FailureKind.TRACE, body, None, None))
        return True
    match = _STATE_FAIL.match(body)
    if match:
        kind = FailureKind.POST_LOAD if "post" in match.group(2) else FailureKind.TRACE
        emit(LoadFailed(line, offset, raw, kind, body, None, match.group(1).split("/")[0]))
        return True
    match = _STATE_END_FAIL.match(body)
    if match:
        emit(
            LoadFailed(
                line, offset, raw, FailureKind.TRACE, body, None, match.group(1).split("/")[0]
            )
        )
        return True
    return False


def _error_lines(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    match = _LOAD_FAILED.match(body)
    if match:
        instance = _INSTANCE.search(body)
        emit(
            LoadFailed(
                line,
                offset,
                raw,
                FailureKind.LOAD,
                body,
                int(instance.group(1), 16) if instance else None,
                instance.group(2) if instance else None,
            )
        )
        return True
    match = _INSTANCE.match(body)
    if match:
        emit(
            LoadFailed(
                line, offset, raw, FailureKind.DEVICE, body, int(match.group(1), 16), match.group(2)
            )
        )
        return True
    match = _SECTION_ERROR.match(body)
    if match:
        emit(LoadFailed(line, offset, raw, FailureKind.DEVICE, body, None, match.group(2)))
        return True
    match = _FAILED_TO_LOAD.match(body)
    if match:
        device = match.group(1).split(":")[0]
        emit(LoadFailed(line, offset, raw, FailureKind.FIELD, body, None, device))
        return True
    if _ASSERTION.search(body) and any(word in body for word in _MIGRATION_WORDS):
        emit(LoadFailed(line, offset, raw, FailureKind.ASSERTION, body, None, None))
        return True
    return False


def _property(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    match = _CANT_APPLY.search(body)
    if match:
        twice = _SET_TWICE.search(match.group(4))
        emit(
            PropertyRejected(
                line,
                offset,
                raw,
                match.group(1),
                match.group(2),
                match.group(3).strip(),
                match.group(4),
                twice is not None,
            )
        )
        return True
    match = _SET_TWICE.search(body)
    if match:
        emit(PropertyRejected(line, offset, raw, None, match.group(1), None, body, True))
        return True
    if _UNEXPECTED_ERROR.match(body):
        emit(QemuMessage(line, offset, raw, "error", body))
        return True
    return False


def _libvirt(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    match = _LIBVIRT_START.search(body)
    if match:
        parser.open_command_line(line, offset, raw, emit)
        emit(
            ProcessStarted(
                line, offset, raw, "libvirt", p.time, match.group(2).strip(), match.group(1).strip()
            )
        )
        return True
    match = _LIBVIRT_END.search(body)
    if match and p.program is None:
        emit(ProcessEnded(line, offset, raw, match.group(1)))
        return True
    return False


def _command_line(
    parser: LogParser, line: int, offset: int, raw: str, body: str, p: Prefix, emit: Emit
) -> bool:
    """A QEMU command line typed into a shell transcript or logged by a wrapper."""
    if p.program is not None or not _QEMU_BINARY.search(body) or not _OPTION.search(body):
        return False
    seen = command_line_options(line, offset, raw, body)
    if seen is None:
        return False
    emit(ProcessStarted(line, offset, raw, "command-line", p.time, None, None))
    emit(seen)
    return True


_HANDLERS: tuple[Handler, ...] = (
    _handle_register,
    _xmig_register,
    _counts,
    _kvm_register,
    _loadvm,
    _vmstate_failure,
    _error_lines,
    _property,
    _libvirt,
    _command_line,
)


def parse_bytes(data: bytes) -> list[LogEvent]:
    """Parse a whole log at once (tests and small inputs)."""
    parser = LogParser()
    return parser.feed(data) + parser.close()
