"""The typed protocol between the log parser and the model: what each line says, in enums.

Every event names the line it came from (1-based number, byte offset of its start, its own
timestamp if it has one) and the ``MessageKind``: which message or trace event QEMU (or
libvirt) printed. The kind fixes the ``Dialect``, the family of QEMU builds that prints it,
and for register messages the ``Status`` and whether QEMU tolerated the difference, so nothing
downstream re-reads the text. Events are named tuples: immutable, and cheap to make and to
send between processes, since a dense log has one per line.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import enum
from collections.abc import Mapping
from typing import Final, NamedTuple

from parsers.regids import Accel


class Status(enum.StrEnum):
    """How a register compares between the incoming stream and the destination."""

    MISSING = "missing"  # expected by the destination, not in the stream
    EXTRA = "extra"  # in the stream, unknown on the destination
    MATCHED = "matched"  # in both


class Dialect(enum.StrEnum):
    """The family of QEMU builds that prints a line: it decides what QEMU's silence means and
    which remedies exist there."""

    QEMU_11 = "11.1"  # upstream QEMU 11.1 and later: every difference named, built-in tolerances
    XMIG = "x-mig"  # builds carrying the proposed x-mig series (its properties and traces)
    LEGACY = "<=10"  # QEMU 10.x and older: counts at most
    COMMON = "common"  # printed alike by every version (vmstate traces, libvirt, KVM errors)


class FailureKind(enum.StrEnum):
    """What an error line says went wrong (the report's ``errors[].kind``)."""

    COUNT = "count"  # Invalid value N expecting positive value <= M
    FIELD = "field"  # Failed to load cpu:cpreg_vmstate_array_len
    DEVICE = "device"  # error while loading state for instance 0x0 of device 'cpu'
    LOAD = "load"  # load of migration failed: ...
    POST_LOAD = "post-load"  # post load hook failed / vmstate_load_state_fail cpu post-load
    TRACE = "trace"  # vmstate_load_field_error, vmstate_load_state_end ... end/-N
    REGISTER = "register"  # a register the destination's KVM refused (value, or unknown)
    STATE = "state"  # device state this QEMU cannot read (subsection, section, version)
    ASSERTION = "assertion"  # QEMU hit an assertion while loading
    PROPERTY = "property"  # an x-mig (or other array) property could not be applied
    PROCESS = "process"  # libvirt: the QEMU process ended badly


class MessageKind(enum.StrEnum):
    """Every line shape the parser knows. The values of register kinds are the message or trace
    event's own name (the report's ``evidence``)."""

    # Registers (QEMU 11.1)
    HANDLE_MISSING = "handle_cpreg_missing_in_incoming_stream"
    HANDLE_ONLY = "handle_cpreg_only_in_incoming_stream"
    TOLERATE_MISSING = "tolerate_cpreg_missing_in_incoming_stream"
    TOLERATE_ONLY = "tolerate_cpreg_only_in_incoming_stream"
    # Registers (x-mig series; kvm_arm_* under KVM only)
    XMIG_COMPARED = "cpu_post_load"
    XMIG_MISSING = "cpu_post_load_missing"
    XMIG_UNEXPECTED = "cpu_post_load_unexpected"
    XMIG_MISSING_AS_EXPECTED = "cpu_post_load_missing_as_expected"
    XMIG_KVM_MISSING = "kvm_arm_cpu_post_load_missing_reg"
    XMIG_KVM_UNEXPECTED = "kvm_arm_cpu_post_load"
    XMIG_HIDDEN = "kvm_arm_init_cpreg_list_skip_hidden_reg"
    # Registers from saved migration streams (no log line)
    STREAM = "stream"
    # Register counts
    COUNTS_11 = "cpu_post_load cpreg_vmstate_array_len"
    XMIG_COUNTS = "cpu_post_load_len"
    INVALID_VALUE = "Invalid value"
    # The load, in traces
    LOADVM_SETUP = "loadvm_state_setup"
    LOADVM_CLEANUP = "loadvm_state_cleanup"
    SECTION_START = "qemu_loadvm_state_section_startfull"
    STREAM_END = "qemu_loadvm_state_section 0"
    POST_MAIN_OK = "qemu_loadvm_state_post_main 0"
    POST_MAIN_FAILED = "qemu_loadvm_state_post_main"
    FIELD_ERROR = "vmstate_load_field_error"
    STATE_FAIL = "vmstate_load_state_fail"
    STATE_END_FAILED = "vmstate_load_state_end"
    SUBSECTION_BAD = "vmstate_subsection_load_bad"
    SUBSECTION_FAILED = "vmstate_subsection_load_bad (child)"
    # The load, in error lines
    FAILED_TO_LOAD = "Failed to load"
    DEVICE_ERROR = "error while loading state for instance"
    SECTION_ERROR = "error while loading state section id"
    LOAD_FAILED = "load of migration failed"
    LOAD_FAILED_CHAINED = "load of migration failed: ... post load hook failed for"
    UNKNOWN_SECTION = "Unknown savevm section or instance"
    UNKNOWN_SECTION_TYPE = "Unknown savevm section type"
    MISSING_FOOTER = "Missing section footer"
    UNSUPPORTED_VERSION = "savevm: unsupported version"
    VERSION_TOO_NEW = "incoming version_id is too new"
    VERSION_TOO_OLD = "incoming version_id is too old"
    MACHINE_MISMATCH = "Machine type received is"
    ASSERTION = "Assertion failed"
    # KVM refusing the CPU state on the destination
    KVM_SET_VALUE = "Could not set register (value)"
    KVM_SET_UNKNOWN = "Could not set register (unknown to KVM)"
    KVM_SET_ERROR = "Could not set register (error)"
    KVM_PUT_FAILED = "Failed to put registers after init"
    KVM_PSCI_UNSUPPORTED = "KVM in this kernel does not support PSCI version"
    # Properties
    CANT_APPLY_GLOBAL = "can't apply global"
    SET_TWICE = "may not be set more than once"
    UNEXPECTED_ERROR = "Unexpected error in"
    # The QEMU process
    LIBVIRT_START = "starting up libvirt"
    LIBVIRT_END = "shutting down, reason"
    COMMAND_LINE = "command line"
    # Anything else QEMU printed, and lines that looked known but were not understood
    QEMU_MESSAGE = "qemu message"
    PROBLEM = "problem"

    @property
    def dialect(self) -> Dialect:
        return _DIALECTS.get(self, Dialect.COMMON)


_DIALECTS: Final[Mapping[MessageKind, Dialect]] = {
    MessageKind.HANDLE_MISSING: Dialect.QEMU_11,
    MessageKind.HANDLE_ONLY: Dialect.QEMU_11,
    MessageKind.TOLERATE_MISSING: Dialect.QEMU_11,
    MessageKind.TOLERATE_ONLY: Dialect.QEMU_11,
    MessageKind.COUNTS_11: Dialect.QEMU_11,
    MessageKind.LOAD_FAILED_CHAINED: Dialect.QEMU_11,
    MessageKind.XMIG_COMPARED: Dialect.XMIG,
    MessageKind.XMIG_MISSING: Dialect.XMIG,
    MessageKind.XMIG_UNEXPECTED: Dialect.XMIG,
    MessageKind.XMIG_MISSING_AS_EXPECTED: Dialect.XMIG,
    MessageKind.XMIG_KVM_MISSING: Dialect.XMIG,
    MessageKind.XMIG_KVM_UNEXPECTED: Dialect.XMIG,
    MessageKind.XMIG_HIDDEN: Dialect.XMIG,
    MessageKind.XMIG_COUNTS: Dialect.XMIG,
    # 11.x chains these into the one LOAD_FAILED_CHAINED line; alone, they are older QEMU's.
    MessageKind.FAILED_TO_LOAD: Dialect.LEGACY,
    MessageKind.DEVICE_ERROR: Dialect.LEGACY,
}

# QEMU exits right after printing these: nothing later belongs to the same attempt.
ENDS_PROCESS: Final[frozenset[MessageKind]] = frozenset(
    {
        MessageKind.LOAD_FAILED,
        MessageKind.LOAD_FAILED_CHAINED,
        MessageKind.ASSERTION,
        MessageKind.KVM_PUT_FAILED,
        MessageKind.KVM_PSCI_UNSUPPORTED,
    }
)

# What each register message says: how the register compares, and whether QEMU let it pass.
REGISTER_KINDS: Final[Mapping[MessageKind, tuple[Status, bool]]] = {
    MessageKind.HANDLE_MISSING: (Status.MISSING, False),
    MessageKind.HANDLE_ONLY: (Status.EXTRA, False),
    MessageKind.TOLERATE_MISSING: (Status.MISSING, True),
    MessageKind.TOLERATE_ONLY: (Status.EXTRA, True),
    MessageKind.XMIG_COMPARED: (Status.MATCHED, False),
    MessageKind.XMIG_MISSING: (Status.MISSING, False),
    MessageKind.XMIG_UNEXPECTED: (Status.EXTRA, False),
    MessageKind.XMIG_MISSING_AS_EXPECTED: (Status.EXTRA, True),
    MessageKind.XMIG_KVM_MISSING: (Status.MISSING, False),
    MessageKind.XMIG_KVM_UNEXPECTED: (Status.EXTRA, False),
}


class ProcessStarted(NamedTuple):
    """A new QEMU process: libvirt's ``starting up`` header, or a QEMU command line."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    raw: str
    qemu_version: str | None
    libvirt_version: str | None


class CommandLineSeen(NamedTuple):
    """Options of the QEMU command line that decide the register list."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    machine: str | None
    cpu: str | None
    accel: str | None
    incoming: str | None
    binary: str | None


class ProcessEnded(NamedTuple):
    """libvirt's ``shutting down, reason=...``."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    raw: str
    reason: str


class IncomingStarted(NamedTuple):
    """The destination started loading an incoming stream."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed


class SectionStarted(NamedTuple):
    """``qemu_loadvm_state_section_startfull ID(NAME) INSTANCE VERSION``."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    section_id: int
    name: str
    instance: int
    version: int


class CpuCounts(NamedTuple):
    """Register counts of one CPU: in the stream and on the destination (None if not printed)."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    stream_count: int | None
    destination_count: int | None


class RegisterSeen(NamedTuple):
    """One register named by the log; its kind says how it compares (``REGISTER_KINDS``)."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    kvm_id: int
    reference: str  # the register text as QEMU printed it
    accel: Accel  # what the text's form implies

    @property
    def status(self) -> Status:
        return REGISTER_KINDS[self.kind][0]

    @property
    def tolerated(self) -> bool:
        return REGISTER_KINDS[self.kind][1]


class RegisterHidden(NamedTuple):
    """x-mig series: a register removed from this side's list by ``x-mig-hidden-regs``."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    kvm_id: int


class RegisterRefused(NamedTuple):
    """The destination's KVM refused a register of the incoming CPU state: a value it does not
    accept (``value`` and ``current`` known), or a register it does not know (both None)."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    raw: str
    kvm_id: int
    reference: str
    accel: Accel
    value: int | None
    current: int | None


class LoadFailed(NamedTuple):
    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    raw: str
    failure: FailureKind
    message: str  # the line without prefixes
    instance: int | None  # CPU instance when the line names one
    device: str | None
    # What the destination could not read, for state failures: a subsection ("cpu/fpmr"), a
    # section, versions ("23 > 22"), machine types; the PSCI version KVM refused.
    detail: str | None = None


class LoadCompleted(NamedTuple):
    """The whole stream was read (QEMU_VM_EOF section, or post_main 0)."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed


class LoadCleanedUp(NamedTuple):
    """``loadvm_state_cleanup``: the destination finished with this stream, well or not."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed


class PropertyRejected(NamedTuple):
    """``can't apply global DRIVER.PROP=VALUE: REASON`` or a bare array-property error."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    raw: str
    driver: str | None
    property: str
    value: str | None
    reason: str
    set_twice: bool  # "array size property X may not be set more than once"


class QemuMessage(NamedTuple):
    """Any other line QEMU printed about itself (warnings, errors not interpreted)."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    raw: str
    level: str  # "warning" | "error" | "info"
    message: str


class Problem(NamedTuple):
    """A line that looked like a known shape but could not be understood fully."""

    line: int
    offset: int
    kind: MessageKind
    time: str | None  # the line's own timestamp, as printed
    raw: str
    message: str


LogEvent = (
    ProcessStarted
    | CommandLineSeen
    | ProcessEnded
    | IncomingStarted
    | SectionStarted
    | CpuCounts
    | RegisterSeen
    | RegisterHidden
    | RegisterRefused
    | LoadFailed
    | LoadCompleted
    | LoadCleanedUp
    | PropertyRejected
    | QemuMessage
    | Problem
)

# Events that say nothing but what their message says (no raw line, no line-dependent field):
# those of a known message can be made again from it.
OF_THE_MESSAGE_ALONE: Final = frozenset(
    {
        RegisterSeen,
        RegisterHidden,
        CpuCounts,
        SectionStarted,
        IncomingStarted,
        LoadCompleted,
        LoadCleanedUp,
    }
)
# Events that say what their message says and carry the raw line too: those of a known message
# (all of its line but the time before it) are made again from it with the line's own raw text.
# Every attempt of a dense log ends on such a line (``load of migration failed``).
LineEvent = LoadFailed | QemuMessage | RegisterRefused | PropertyRejected | ProcessEnded | Problem
OF_THE_LINE: Final[frozenset[type[LineEvent]]] = frozenset(
    {LoadFailed, QemuMessage, RegisterRefused, PropertyRejected, ProcessEnded, Problem}
)
