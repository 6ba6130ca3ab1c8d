"""Every line shape QEMU 7.2 … 11.x, the x-mig series, KVM and libvirt print about an incoming
migration, as pure functions from one ``Line`` to typed events.

To teach the parser a new shape: add its ``MessageKind`` in ``parsers.logevents`` and a ``Shape``
here (the byte string that finds its lines in a big log, the word its message starts with, and
the function that reads it). Nothing else changes: the model acts on event types, not texts.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import functools
from collections.abc import Callable, Iterable
from typing import Final, NamedTuple

from parsers.lazyre import LazyPattern
from parsers.logevents import (
    CommandLineSeen,
    CpuCounts,
    FailureKind,
    IncomingStarted,
    LoadCleanedUp,
    LoadCompleted,
    LoadFailed,
    LogEvent,
    MessageKind,
    Problem,
    ProcessEnded,
    ProcessStarted,
    PropertyRejected,
    QemuMessage,
    RegisterHidden,
    RegisterRefused,
    RegisterSeen,
    SectionStarted,
)
from parsers.regforms import find_references, parse_reference
from parsers.regids import Accel, RegisterIdError

# No CPU has this many registers: a larger count is damage, not data.
MAX_REGISTERS: Final = 1 << 20
# A line longer than this is cut for matching: nothing QEMU prints about registers is that long.
MAX_LINE: Final = 64 * 1024


class Line(NamedTuple):
    """One log line as the shapes see it: where it is, its text, and its prefixes removed."""

    number: int  # 1-based
    offset: int  # byte offset of its start in the whole input
    raw: str  # decoded (invalid UTF-8 as \\xNN), end of line removed
    body: str  # the message, without time, program, level or journald prefixes
    time: str | None
    program: str | None  # qemu-system-aarch64, qemu-kvm, …: an error_report line
    level: str | None  # warning, error, info


# -- prefixes -----------------------------------------------------------------------------------

_ANSI = LazyPattern(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_ISO_TIME = LazyPattern(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?):?\s+")
_JOURNAL = LazyPattern(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: ")
_TRACE_PID = LazyPattern(r"(\d+)@(\d+\.\d+):")
_PROGRAM = LazyPattern(r"(?:\S*/)?(qemu-(?:system-[\w-]+|kvm)(?:\.\w+)?|kvm): ")
_LEVEL = LazyPattern(r"(warning|error|info): ")


def decode_line(data: bytes) -> str:
    """Bytes of one line as text: invalid UTF-8 is kept visible as ``\\xNN``, CR removed."""
    if len(data) > MAX_LINE:
        data = data[:MAX_LINE]
    return data.decode("utf-8", "backslashreplace").rstrip("\r")


# The prefixes almost every line has, in their usual order, in one match: an ISO time, the
# trace backend's PID@seconds, the program, the level. Anything else takes the general way.
_USUAL_PREFIX = LazyPattern(
    r"(?:(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?):?\s+)?"
    r"(?:\d+@(\d+\.\d+):)?"
    r"(?:(?:\S*/)?(qemu-(?:system-[\w-]+|kvm)(?:\.\w+)?|kvm): (?:(warning|error|info): )?)?"
)


def read_line(number: int, offset: int, data: bytes) -> Line:
    """A line's bytes as a ``Line``: decoded, prefixes of QEMU, the trace backend, libvirt and
    journald removed."""
    raw = decode_line(data)
    if "\x1b" not in raw:
        usual = _USUAL_PREFIX.match(raw)
        assert usual is not None  # every part is optional
        rest = raw[usual.end() :]
        # A second time (libvirt's then QEMU's), journald's or nothing known: the general way.
        if (usual.end() and not rest[:1].isdigit()) or (not usual.end() and rest[:1].islower()):
            time, pid_time, program, level = usual.groups()
            return Line(number, offset, raw, rest.strip(), time or pid_time, program, level)
    time = program = level = None
    body = _ANSI.sub("", raw).lstrip() if "\x1b" in raw else raw.lstrip()
    for _ in range(4):
        match = _ISO_TIME.match(body)
        if match:
            time = match.group(1)
        else:
            match = _JOURNAL.match(body)
        if match:
            body = body[match.end() :]
            continue
        match = _TRACE_PID.match(body)
        if match:
            time = match.group(2)
            body = body[match.end() :]
            continue
        break
    match = _PROGRAM.match(body)
    if match:
        program = match.group(1)
        body = body[match.end() :]
        match = _LEVEL.match(body)
        if match:
            level = match.group(1)
            body = body[match.end() :]
    return Line(number, offset, raw, body.strip(), time, program, level)


# -- registers ----------------------------------------------------------------------------------


# A log names the same few hundred registers again in every attempt (behind prefixes that keep
# the parser's cache of whole lines from knowing them).
@functools.lru_cache(maxsize=1 << 10)
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


def _hex_reference(digits: str) -> tuple[int, Accel] | None:
    """A bare hex number: a 64-bit KVM-style id, or QEMU's 32-bit key."""
    try:
        ref = parse_reference(f"0x{int(digits, 16):x}")
    except RegisterIdError:
        return None
    return ref.kvm_id, ref.accel


def _problem(line: Line, message: str) -> list[LogEvent]:
    return [Problem(line.number, line.offset, MessageKind.PROBLEM, line.time, line.raw, message)]


def _not_understood(line: Line, text: str, what: str = "register") -> list[LogEvent]:
    """A register reference that names no register, with why (asked again only here: the
    failing path is rare)."""
    try:
        parse_reference(text.strip())
        why = "no register id in it"
    except RegisterIdError as error:
        why = str(error).rstrip(".")
    return _problem(line, f"{what} {text!r} not understood: {why}")


_HANDLE = LazyPattern(
    r"(handle|tolerate)_cpreg_(missing|only)_in_incoming_stream\b:?\s*(.*?)"
    r"(?: (?:expected by the destination|in the incoming stream|is in incoming stream)\b.*)?$"
)
_HANDLE_KINDS: Final = {
    ("handle", "missing"): MessageKind.HANDLE_MISSING,
    ("handle", "only"): MessageKind.HANDLE_ONLY,
    ("tolerate", "missing"): MessageKind.TOLERATE_MISSING,
    ("tolerate", "only"): MessageKind.TOLERATE_ONLY,
}
_HEX = LazyPattern(r"0x([0-9a-fA-F]{1,32})")


def _qemu_11_register(line: Line) -> list[LogEvent] | None:
    match = _HANDLE.match(line.body)
    if not match:
        return None
    kind = _HANDLE_KINDS[match.group(1), match.group(2)]
    text = match.group(3)
    found = _reference(text)
    if found is None:
        hex_match = _HEX.search(text)
        found_hex = _hex_reference(hex_match.group(1)) if hex_match else None
        if hex_match is None or found_hex is None:
            return _not_understood(line, text)
        found = (found_hex[0], hex_match.group(0), found_hex[1])
    kvm_id, reference, accel = found
    return [RegisterSeen(line.number, line.offset, kind, line.time, kvm_id, reference, accel)]


_XMIG_REG = LazyPattern(
    r"(cpu_post_load_missing_as_expected|cpu_post_load_missing|cpu_post_load_unexpected|"
    r"cpu_post_load)\b.*?(?:index|regidx)=0x([0-9a-fA-F]+)"
)


def _xmig_register(line: Line) -> list[LogEvent] | None:
    match = _XMIG_REG.match(line.body)
    if not match:
        return None
    found = _hex_reference(match.group(2))
    if found is None:
        return _problem(line, f"register index 0x{match.group(2)} is not an Arm register")
    kind = MessageKind(match.group(1))
    return [
        RegisterSeen(
            line.number, line.offset, kind, line.time, found[0], f"0x{match.group(2)}", found[1]
        )
    ]


_KVM_MISSING = LazyPattern(
    r"kvm_arm_cpu_post_load_missing_reg\s+Missing register in input stream: (.*)"
)
_KVM_UNEXPECTED = LazyPattern(
    r"kvm_arm_cpu_post_load:? Unexpected register in input stream: -?\d+ 0x([0-9a-fA-F]+)\s*(.*)"
)
_HIDDEN = LazyPattern(r"kvm_arm_init_cpreg_list_skip_hidden_reg\s+hidden 0x([0-9a-fA-F]+)")


def _xmig_kvm(line: Line) -> list[LogEvent] | None:
    body = line.body
    match = _KVM_MISSING.match(body)
    if match:
        found = _reference(match.group(1))
        if found is None:
            return _not_understood(line, match.group(1))
        kind = MessageKind.XMIG_KVM_MISSING
        return [
            RegisterSeen(line.number, line.offset, kind, line.time, found[0], found[1], Accel.KVM)
        ]
    match = _KVM_UNEXPECTED.match(body)
    if match:
        found_hex = _hex_reference(match.group(1))
        if found_hex is None:
            return _not_understood(line, f"0x{match.group(1)}")
        reference = match.group(2) or f"0x{match.group(1)}"
        kind = MessageKind.XMIG_KVM_UNEXPECTED
        return [
            RegisterSeen(
                line.number, line.offset, kind, line.time, found_hex[0], reference, Accel.KVM
            )
        ]
    match = _HIDDEN.match(body)
    if match:
        found_hex = _hex_reference(match.group(1))
        if found_hex is None:
            return _not_understood(line, f"0x{match.group(1)}", "hidden register")
        return [
            RegisterHidden(
                line.number, line.offset, MessageKind.XMIG_HIDDEN, line.time, found_hex[0]
            )
        ]
    return [] if body.startswith("kvm_arm_init_cpreg") else None


# -- counts -------------------------------------------------------------------------------------

_KV = LazyPattern(r"(\w+)=(-?\d+)")
_INVALID_VALUE = LazyPattern(r"Invalid value (-?\d+) expecting positive value <= (-?\d+)")


def _counts_event(line: Line, kind: MessageKind, stream: int | None, dest: int | None) -> LogEvent:
    if any(count is not None and not 0 <= count <= MAX_REGISTERS for count in (stream, dest)):
        return _problem(line, "register counts out of range")[0]
    return CpuCounts(line.number, line.offset, kind, line.time, stream, dest)


def _trace_counts(line: Line) -> list[LogEvent] | None:
    """11.1's ``cpu_post_load cpreg_vmstate_array_len=N cpreg_array_len=M`` and the x-mig
    series' ``cpu_post_load_len cpreg_array_len=M cpreg_vmstate_array_len=N``."""
    body = line.body
    if body.startswith("cpu_post_load "):
        kind = MessageKind.COUNTS_11
    elif body.startswith("cpu_post_load_len "):
        kind = MessageKind.XMIG_COUNTS
    else:
        return None
    if "cpreg" not in body:
        return None
    values = {key: int(value) for key, value in _KV.findall(body)}
    stream = values.get("cpreg_vmstate_array_len")
    return [_counts_event(line, kind, stream, values.get("cpreg_array_len"))]


def _invalid_value(line: Line) -> list[LogEvent] | None:
    match = _INVALID_VALUE.search(line.body)
    if not match:
        return None
    failed = LoadFailed(
        line.number,
        line.offset,
        MessageKind.INVALID_VALUE,
        line.time,
        line.raw,
        FailureKind.COUNT,
        line.body,
        None,
        "cpu",
    )
    stream, destination = int(match.group(1)), int(match.group(2))
    return [failed, _counts_event(line, MessageKind.INVALID_VALUE, stream, destination)]


# -- the load, in traces ------------------------------------------------------------------------

_SECTION_START = LazyPattern(r"qemu_loadvm_state_section_startfull (\d+)\((.*)\) (\d+) (\d+)")
_SECTION = LazyPattern(r"qemu_loadvm_state_section (\d+)\s*$")
_POST_MAIN = LazyPattern(r"qemu_loadvm_state_post_main (-?\d+)")
_FIELD_ERROR = LazyPattern(
    r"vmstate_load_field_error field \"([^\"]*)\" load failed, ret = (-?\d+)"
)
_STATE_FAIL = LazyPattern(r"vmstate_load_state_fail (\S+)\s*(.*)")
_STATE_END_FAIL = LazyPattern(r"vmstate_load_state_end (\S+) end/(-\d+)")


def _failed(
    line: Line,
    kind: MessageKind,
    failure: FailureKind,
    instance: int | None = None,
    device: str | None = None,
    detail: str | None = None,
) -> list[LogEvent]:
    number, offset, time, raw, body = line.number, line.offset, line.time, line.raw, line.body
    return [LoadFailed(number, offset, kind, time, raw, failure, body, instance, device, detail)]


def _loadvm(line: Line) -> list[LogEvent] | None:
    body = line.body
    if body.startswith("loadvm_state_setup"):
        return [IncomingStarted(line.number, line.offset, MessageKind.LOADVM_SETUP, line.time)]
    if body.startswith("loadvm_state_cleanup"):
        return [LoadCleanedUp(line.number, line.offset, MessageKind.LOADVM_CLEANUP, line.time)]
    if not body.startswith("qemu_loadvm_state_"):
        return None
    match = _SECTION_START.match(body)
    if match:
        section_id, name = int(match.group(1)), match.group(2)
        instance, version = int(match.group(3)), int(match.group(4))
        kind = MessageKind.SECTION_START
        return [
            SectionStarted(
                line.number, line.offset, kind, line.time, section_id, name, instance, version
            )
        ]
    match = _SECTION.match(body)
    if match:
        if match.group(1) == "0":  # QEMU_VM_EOF: the whole stream was read
            return [LoadCompleted(line.number, line.offset, MessageKind.STREAM_END, line.time)]
        return []
    match = _POST_MAIN.match(body)
    if match:
        if int(match.group(1)) == 0:
            return [LoadCompleted(line.number, line.offset, MessageKind.POST_MAIN_OK, line.time)]
        return _failed(line, MessageKind.POST_MAIN_FAILED, FailureKind.TRACE)
    return []


def _vmstate_failure(line: Line) -> list[LogEvent] | None:
    body = line.body
    if _FIELD_ERROR.match(body):
        return _failed(line, MessageKind.FIELD_ERROR, FailureKind.TRACE)
    match = _STATE_FAIL.match(body)
    if match:
        failure = FailureKind.POST_LOAD if "post" in match.group(2) else FailureKind.TRACE
        device = match.group(1).split("/")[0]
        return _failed(line, MessageKind.STATE_FAIL, failure, device=device)
    match = _STATE_END_FAIL.match(body)
    if match:
        device = match.group(1).split("/")[0]
        return _failed(line, MessageKind.STATE_END_FAILED, FailureKind.TRACE, device=device)
    return None


# -- the load, in error lines -------------------------------------------------------------------

_FAILED_TO_LOAD = LazyPattern(r"Failed to load (\S+)")
_INSTANCE = LazyPattern(
    r"error while loading state for instance 0x([0-9a-fA-F]+) of device '([^']*)'"
)
_SECTION_ERROR = LazyPattern(r"error while loading state section id (\d+)\(([^)]*)\)")
_LOAD_FAILED = LazyPattern(r"load of migration failed: (.*?)(?:: (.*))?$")
_ASSERTION = LazyPattern(r"Assertion .* failed")
_MIGRATION_WORDS = ("vmstate", "migration", "savevm", "loadvm")


def _load_errors(line: Line) -> list[LogEvent] | None:
    body = line.body
    match = _LOAD_FAILED.match(body)
    if match:
        instance = _INSTANCE.search(body)
        number = int(instance.group(1), 16) if instance else None
        device = instance.group(2) if instance else None
        # 11.x chains every error into this one line, after the errno's text: a device state it
        # cannot read is named there, as its own event before the load's end.
        cause = _state_cause(match.group(2)) if match.group(2) else None
        found: list[LogEvent] = []
        if cause is not None:
            kind, detail, section = cause
            found += _failed(line, kind, FailureKind.STATE, number, device or section, detail)
        chained = match.group(2) is not None and "post load hook failed for:" in body
        kind = MessageKind.LOAD_FAILED_CHAINED if chained else MessageKind.LOAD_FAILED
        return found + _failed(line, kind, FailureKind.LOAD, number, device)
    match = _INSTANCE.match(body)
    if match:
        number, device = int(match.group(1), 16), match.group(2)
        return _failed(line, MessageKind.DEVICE_ERROR, FailureKind.DEVICE, number, device)
    match = _SECTION_ERROR.match(body)
    if match:
        device = match.group(2)
        return _failed(line, MessageKind.SECTION_ERROR, FailureKind.DEVICE, device=device)
    match = _FAILED_TO_LOAD.match(body)
    if match:
        device = match.group(1).split(":")[0]
        return _failed(line, MessageKind.FAILED_TO_LOAD, FailureKind.FIELD, device=device)
    return None


# What a destination cannot read in the stream's device state: the same causes printed on their
# own lines (QEMU <= 10.x) or chained into "load of migration failed: …" (11.x). Each gives the
# kind, a detail for people, and the section (device) concerned.
_STATE_CAUSES: Final = (
    (
        LazyPattern(r"VM subsection '([^']*)' in '([^']*)' does not exist"),
        MessageKind.SUBSECTION_BAD,
        lambda m: (m.group(1), m.group(2)),
    ),
    (
        LazyPattern(r"Unknown (?:savevm )?section or instance '([^']*)' (\d+)"),
        MessageKind.UNKNOWN_SECTION,
        lambda m: (f"{m.group(1)} instance {m.group(2)}", m.group(1)),
    ),
    (
        LazyPattern(r"Unknown (?:savevm )?section type (\d+)"),
        MessageKind.UNKNOWN_SECTION_TYPE,
        lambda m: (f"section type {m.group(1)}", None),
    ),
    (
        LazyPattern(r"unsupported version (\d+) for '([^']*)' v(\d+)"),
        MessageKind.UNSUPPORTED_VERSION,
        lambda m: (
            f"{m.group(2)}: version {m.group(1)} in the stream, {m.group(3)} here",
            m.group(2),
        ),
    ),
    (
        LazyPattern(r"(\S+): incoming version_id (\d+) is too new for local version_id (\d+)"),
        MessageKind.VERSION_TOO_NEW,
        lambda m: (
            f"{m.group(1)}: version {m.group(2)} in the stream, {m.group(3)} here",
            m.group(1),
        ),
    ),
    (
        LazyPattern(
            r"(\S+): incoming version_id (\d+) is too old for local minimum version_id +(\d+)"
        ),
        MessageKind.VERSION_TOO_OLD,
        lambda m: (
            f"{m.group(1)}: version {m.group(2)} in the stream, {m.group(3)} at least here",
            m.group(1),
        ),
    ),
    (
        LazyPattern(r"Missing section footer for (\S+)|Section footer error, section_id: (\d+)"),
        MessageKind.MISSING_FOOTER,
        lambda m: (m.group(1) or f"section {m.group(2)}", m.group(1)),
    ),
    (
        LazyPattern(r"Machine type received is '([^']*)' and local is '([^']*)'"),
        MessageKind.MACHINE_MISMATCH,
        lambda m: (f"{m.group(1)} in the stream, {m.group(2)} here", "configuration"),
    ),
)


def _state_cause(text: str) -> tuple[MessageKind, str, str | None] | None:
    for pattern, kind, describe in _STATE_CAUSES:
        match = pattern.search(text)
        if match:
            detail, section = describe(match)
            return kind, detail, section
    return None


def _state_error(line: Line) -> list[LogEvent] | None:
    """A device state QEMU 10.x and older cannot read, on a line of its own."""
    cause = _state_cause(line.body)
    if cause is None:
        return None
    kind, detail, section = cause
    return _failed(line, kind, FailureKind.STATE, device=section, detail=detail)


_SUBSECTION = LazyPattern(r"vmstate_subsection_load_bad (\S+): (\S*)/(\S*)")


def _subsection(line: Line) -> list[LogEvent] | None:
    """``vmstate_subsection_load_bad PARENT: SUB/WHY``: only ``(lookup)`` (a subsection this
    QEMU does not know) and ``(child)`` (its load failed) are failures; ``(prefix)`` and
    ``(short)`` mark the normal end of a device's subsections."""
    match = _SUBSECTION.match(line.body)
    if not match:
        return None
    parent, sub, why = match.groups()
    device = parent.split("/")[0]
    if why == "(lookup)":
        return _failed(line, MessageKind.SUBSECTION_BAD, FailureKind.STATE, None, device, sub)
    if why == "(child)":
        return _failed(line, MessageKind.SUBSECTION_FAILED, FailureKind.TRACE, None, device, sub)
    return []


# -- KVM refusing the CPU state (10.2 and later name the register) -----------------------------

_SET_VALUE = LazyPattern(
    r"Could not set register (.+?) to ([0-9a-fA-F]{1,16})(?: \(is ([0-9a-fA-F]{1,16})\))?$"
)
_SET_ERROR = LazyPattern(r"Could not set register (.+): ([^:]+)$")
_BARE_HEX = LazyPattern(r"[0-9a-fA-F]{9,16}")
_PUT_FAILED = LazyPattern(r"(?:Failed to put registers|Restoring resisters) (after \w+)")
_PSCI = LazyPattern(r"KVM in this kernel does not support PSCI version (\d+\.\d+)")


def _kvm_register(line: Line) -> list[LogEvent] | None:
    body = line.body
    value = current = None
    match = _SET_VALUE.match(body)
    if match:
        name, value_text, current_text = match.groups()
        value = int(value_text, 16)
        current = None if current_text is None else int(current_text, 16)
        kind = MessageKind.KVM_SET_VALUE
    else:
        match = _SET_ERROR.match(body)
        if not match:
            return None
        name, why = match.groups()
        kind = MessageKind.KVM_SET_UNKNOWN if why == "unknown to KVM" else MessageKind.KVM_SET_ERROR
    found = _reference(name)
    if found is None and _BARE_HEX.fullmatch(name):  # QEMU prints unknown groups as bare hex
        found_hex = _hex_reference(name)
        found = None if found_hex is None else (found_hex[0], name, Accel.KVM)
    if found is None:
        return _not_understood(line, name)
    kvm_id, reference, _ = found
    return [
        RegisterRefused(
            line.number,
            line.offset,
            kind,
            line.time,
            line.raw,
            kvm_id,
            reference,
            Accel.KVM,
            value,
            current,
        )
    ]


def _kvm_put(line: Line) -> list[LogEvent] | None:
    match = _PUT_FAILED.match(line.body)
    if match:
        return _failed(
            line, MessageKind.KVM_PUT_FAILED, FailureKind.REGISTER, detail=match.group(1)
        )
    match = _PSCI.match(line.body)
    if match:
        kind = MessageKind.KVM_PSCI_UNSUPPORTED
        return _failed(line, kind, FailureKind.REGISTER, detail=match.group(1))
    return None


def _assertion(line: Line) -> list[LogEvent] | None:
    body = line.body
    if _ASSERTION.search(body) and any(word in body for word in _MIGRATION_WORDS):
        return _failed(line, MessageKind.ASSERTION, FailureKind.ASSERTION)
    return None


# -- properties ---------------------------------------------------------------------------------

_CANT_APPLY = LazyPattern(r"can't apply global ([\w.-]+?)\.([\w-]+)=(.*?): (.*)$")
_SET_TWICE = LazyPattern(r"array size property ([\w-]+) may not be set more than once")
_UNEXPECTED_ERROR = LazyPattern(r"Unexpected error in \S+ at \S+")


def _property(line: Line) -> list[LogEvent] | None:
    body = line.body
    # The rejection's driver, property, value, reason and whether it was set twice.
    rejected: tuple[str | None, str, str | None, str, bool]
    match = _CANT_APPLY.search(body)
    if match:
        driver, name, value, reason = match.groups()
        kind = MessageKind.CANT_APPLY_GLOBAL
        rejected = (driver, name, value.strip(), reason, _SET_TWICE.search(reason) is not None)
    elif match := _SET_TWICE.search(body):  # the bare array-property error
        kind = MessageKind.SET_TWICE
        rejected = (None, match.group(1), None, body, True)
    elif _UNEXPECTED_ERROR.match(body):
        kind = MessageKind.UNEXPECTED_ERROR
        return [QemuMessage(line.number, line.offset, kind, line.time, line.raw, "error", body)]
    else:
        return None
    return [PropertyRejected(line.number, line.offset, kind, line.time, line.raw, *rejected)]


# -- the QEMU process ---------------------------------------------------------------------------

# The header of each start in a libvirt domain log; the QEMU command line follows it, one option
# a line ending in " \\".
LIBVIRT_HEADER: Final = b"starting up libvirt"
_LIBVIRT_START = LazyPattern(
    r"starting up libvirt version: ([^,]+),(?: package: .*?,)? qemu version: (.*?)"
    r"(?:, kernel: .*|, hostname: .*)?$"
)
_LIBVIRT_END = LazyPattern(r"shutting down, reason=(\S+)")
_QEMU_BINARY = LazyPattern(r"(?:^|[\s/])(qemu-(?:system-[\w-]+|kvm))(?=\s|$)")
_OPTION = LazyPattern(r"(?:^|\s)-(machine|M|cpu|accel|incoming|enable-kvm)(?:\s+(\S+))?")
_ACCEL_IN_MACHINE = LazyPattern(r"accel=(\w+)")


def _libvirt(line: Line) -> list[LogEvent] | None:
    match = _LIBVIRT_START.search(line.body)
    if match:
        libvirt_version, qemu_version = match.group(1).strip(), match.group(2).strip()
        kind = MessageKind.LIBVIRT_START
        return [
            ProcessStarted(
                line.number, line.offset, kind, line.time, line.raw, qemu_version, libvirt_version
            )
        ]
    match = _LIBVIRT_END.search(line.body)
    if match and line.program is None:
        kind = MessageKind.LIBVIRT_END
        return [ProcessEnded(line.number, line.offset, kind, line.time, line.raw, match.group(1))]
    return None


def command_line_options(number: int, offset: int, text: str) -> CommandLineSeen | None:
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
        accel_in_machine = _ACCEL_IN_MACHINE.search(machine)
        accel = accel_in_machine.group(1) if accel_in_machine else None
    if "enable-kvm" in options and accel is None:
        accel = "kvm"
    return CommandLineSeen(
        number,
        offset,
        MessageKind.COMMAND_LINE,
        None,
        machine=machine.split(",")[0] if machine else None,
        cpu=options.get("cpu", "").split(",")[0] or None,
        accel=accel.split(",")[0] if accel else None,
        incoming=options.get("incoming"),
        binary=binary_match.group(1) if binary_match else None,
    )


def _command_line(line: Line) -> list[LogEvent] | None:
    """A QEMU command line typed into a shell transcript or logged by a wrapper."""
    body = line.body
    if line.program is not None or not _QEMU_BINARY.search(body) or not _OPTION.search(body):
        return None
    seen = command_line_options(line.number, line.offset, body)
    if seen is None:
        return None
    kind = MessageKind.COMMAND_LINE
    return [ProcessStarted(line.number, line.offset, kind, line.time, line.raw, None, None), seen]


# -- the table ----------------------------------------------------------------------------------

Reader = Callable[[Line], "list[LogEvent] | None"]


class Shape(NamedTuple):
    """A family of lines: ``needle`` finds them in a big log (one fast byte search, so it is
    shared where it can be: ``qemu-`` finds every error_report line); ``words`` are the first
    words of their messages (none: tried on every line); ``read`` makes the events, or None when
    the line is not one of them."""

    needle: bytes
    words: tuple[str, ...]
    read: Reader


SHAPES: Final[tuple[Shape, ...]] = (
    Shape(b"_cpreg_", ("handle_cpreg_", "tolerate_cpreg_"), _qemu_11_register),
    Shape(b"cpu_post_load", ("cpu_post_load_", "cpu_post_load"), _xmig_register),
    Shape(b"cpu_post_load", ("cpu_post_load", "cpu_post_load_len"), _trace_counts),
    Shape(b"_cpreg_", ("kvm_arm_",), _xmig_kvm),
    Shape(b"qemu-", ("Invalid",), _invalid_value),
    Shape(b"loadvm_state_", ("loadvm_state_", "qemu_loadvm_state_"), _loadvm),
    Shape(b"vmstate_load_state_fail", ("vmstate_load_state_fail",), _vmstate_failure),
    Shape(b"vmstate_load_field_error", ("vmstate_load_field_error",), _vmstate_failure),
    Shape(b" end/-", ("vmstate_load_state_end",), _vmstate_failure),
    Shape(b"qemu-", ("load", "error", "Failed"), _load_errors),
    Shape(b"qemu-", ("Unknown", "savevm", "Missing", "Machine"), _state_error),
    Shape(b"vmstate_subsection_load_bad", ("vmstate_subsection_load_bad",), _subsection),
    Shape(b"qemu-", ("Could",), _kvm_register),
    Shape(b"qemu-", ("Failed", "Restoring", "KVM"), _kvm_put),
    Shape(b"x-mig-", ("can't", "array", "Unexpected"), _property),
    Shape(b"qemu-", ("can't", "array", "Unexpected"), _property),
    Shape(LIBVIRT_HEADER, ("starting",), _libvirt),
    Shape(b"shutting down, reason", ("shutting",), _libvirt),
    Shape(b"qemu-", (), _assertion),
    Shape(b"qemu-", (), _state_error),
    Shape(b"qemu-", (), _command_line),
)


def _needles(shapes: Iterable[Shape]) -> tuple[bytes, ...]:
    """One needle per family; a needle holding another is redundant (the shorter finds it)."""
    unique = sorted({shape.needle for shape in shapes}, key=len)
    kept: list[bytes] = []
    for needle in unique:
        if not any(shorter in needle for shorter in kept):
            kept.append(needle)
    return tuple(sorted(kept, key=len, reverse=True))  # long needles search fastest: first


# Every line that can matter contains one of these.
NEEDLES: Final = _needles(SHAPES)


def _by_word(shapes: Iterable[Shape]) -> dict[str, tuple[Reader, ...]]:
    table: dict[str, list[Reader]] = {}
    for shape in shapes:
        for word in shape.words:
            readers = table.setdefault(word, [])
            if shape.read not in readers:
                readers.append(shape.read)
    return {word: tuple(readers) for word, readers in table.items()}


_BY_WORD: Final = _by_word(SHAPES)
_EVERYWHERE: Final = tuple(dict.fromkeys(shape.read for shape in SHAPES if not shape.words))
_WORD_END = LazyPattern(r"[\s:(]")


def _readers_for(body: str) -> tuple[Reader, ...]:
    end = _WORD_END.search(body)
    word = body[: end.start()] if end else body
    readers = _BY_WORD.get(word)
    if readers is None:
        # Words that end inside a longer name (handle_cpreg_missing_…, kvm_arm_…).
        for prefix in ("handle_cpreg_", "tolerate_cpreg_", "cpu_post_load_", "kvm_arm_"):
            if word.startswith(prefix):
                return _BY_WORD[prefix]
        if word.startswith("loadvm_state_"):
            return _BY_WORD["loadvm_state_"]
        if word.startswith("qemu_loadvm_state_"):
            return _BY_WORD["qemu_loadvm_state_"]
        return ()
    return readers


# Where a known message starts when something precedes it that is no prefix we know (damage, a
# wrapper's own decoration): the message is read from there.
_MESSAGE_START = LazyPattern(
    r"handle_cpreg_|tolerate_cpreg_|cpu_post_load|kvm_arm_|(?:qemu_)?loadvm_state_|vmstate_load_"
    r"|load of migration failed|error while loading state|Failed to load |Invalid value "
    r"|can't apply global|array size property|starting up libvirt|shutting down, reason="
)


def parse_line(line: Line) -> list[LogEvent]:
    """The events of one line: those of the first shape that reads it, else, for any other line
    QEMU printed about itself, a ``QemuMessage``. Never raises."""
    readers = _readers_for(line.body)
    if not readers:
        start = _MESSAGE_START.search(line.body)
        if start is not None and start.start() > 0:
            line = line._replace(body=line.body[start.start() :])
            readers = _readers_for(line.body)
    for read in readers + _EVERYWHERE:
        events = read(line)
        if events is not None:
            return events
    if line.program is not None:
        message = QemuMessage(
            line.number,
            line.offset,
            MessageKind.QEMU_MESSAGE,
            line.time,
            line.raw,
            line.level or "error",
            line.body,
        )
        return [message]
    return []
