"""Typed, frozen events produced by :mod:`parsers.logparse` from QEMU (and libvirt) log lines.

Every event carries where it came from: the 1-based line number, the byte offset of the line's
start, and the raw line (decoded, invalid UTF-8 shown as ``\\xNN``), so a viewer can show the
evidence behind every conclusion.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from parsers.regids import Accel


class Status(enum.StrEnum):
    """How a register compares between the incoming stream and the destination."""

    MISSING = "missing"  # expected by the destination, not in the stream
    EXTRA = "extra"  # in the stream, unknown on the destination
    MATCHED = "matched"  # in both


class FailureKind(enum.StrEnum):
    COUNT = "count"  # Invalid value N expecting positive value <= M
    FIELD = "field"  # Failed to load cpu:cpreg_vmstate_array_len
    DEVICE = "device"  # error while loading state for instance 0x0 of device 'cpu'
    LOAD = "load"  # load of migration failed: ...
    POST_LOAD = "post-load"  # post load hook failed / vmstate_load_state_fail cpu post-load
    TRACE = "trace"  # vmstate_load_field_error, vmstate_load_state_end ... end/-N
    REGISTER = "register"  # a register in the stream unknown here (QEMU 11.1, KVM, x-mig)
    ASSERTION = "assertion"  # QEMU hit an assertion while loading
    PROPERTY = "property"  # an x-mig (or other array) property could not be applied
    ABORT = "abort"  # Unexpected error in ...; the process aborted


@dataclass(frozen=True, slots=True)
class Event:
    line: int
    offset: int
    raw: str


@dataclass(frozen=True, slots=True)
class IncomingStarted(Event):
    """The destination started loading an incoming stream (``marker`` names the evidence)."""

    marker: str


@dataclass(frozen=True, slots=True)
class SectionStarted(Event):
    """``qemu_loadvm_state_section_startfull ID(NAME) INSTANCE VERSION``."""

    section_id: int
    name: str
    instance: int
    version: int


@dataclass(frozen=True, slots=True)
class CpuCounts(Event):
    """Register counts of one CPU: in the stream and on the destination (None if not printed)."""

    stream_count: int | None
    destination_count: int | None


@dataclass(frozen=True, slots=True)
class RegisterSeen(Event):
    """One register named by the log, with how it compares."""

    kvm_id: int
    status: Status
    reference: str  # the register text as QEMU printed it
    accel: Accel
    tolerated: bool  # QEMU accepted the difference (built-in tolerance or x-mig-safe-missing-regs)
    evidence: str  # the message or trace event that named it


@dataclass(frozen=True, slots=True)
class RegisterHidden(Event):
    """x-mig series: a register removed from this side's list by ``x-mig-hidden-regs``."""

    kvm_id: int


@dataclass(frozen=True, slots=True)
class LoadFailed(Event):
    kind: FailureKind
    message: str  # the line without prefixes
    instance: int | None  # CPU instance when the line names one
    device: str | None


@dataclass(frozen=True, slots=True)
class LoadCompleted(Event):
    """The whole stream was read (QEMU_VM_EOF section, post_main 0, or the bottom half ran)."""

    marker: str


@dataclass(frozen=True, slots=True)
class LoadCleanedUp(Event):
    """``loadvm_state_cleanup``: the destination finished with this stream, well or not."""


@dataclass(frozen=True, slots=True)
class PropertyRejected(Event):
    """``can't apply global DRIVER.PROP=VALUE: REASON`` or a bare array-property error."""

    driver: str | None
    property: str
    value: str | None
    reason: str
    set_twice: bool  # "array size property X may not be set more than once"


@dataclass(frozen=True, slots=True)
class ProcessStarted(Event):
    """A new QEMU process: libvirt's ``starting up`` header, or a QEMU command line."""

    origin: str  # "libvirt" | "command-line"
    time: str | None
    qemu_version: str | None
    libvirt_version: str | None


@dataclass(frozen=True, slots=True)
class CommandLineSeen(Event):
    """Options of the QEMU command line that decide the register list."""

    machine: str | None
    cpu: str | None
    accel: str | None
    incoming: str | None
    binary: str | None


@dataclass(frozen=True, slots=True)
class ProcessEnded(Event):
    """libvirt's ``shutting down, reason=...``."""

    reason: str


@dataclass(frozen=True, slots=True)
class QemuMessage(Event):
    """Any other line QEMU printed about itself (warnings, errors we do not interpret)."""

    level: str  # "warning" | "error" | "info"
    message: str


@dataclass(frozen=True, slots=True)
class Problem(Event):
    """A line that looked like a known shape but could not be understood fully."""

    message: str


LogEvent = (
    IncomingStarted
    | SectionStarted
    | CpuCounts
    | RegisterSeen
    | RegisterHidden
    | LoadFailed
    | LoadCompleted
    | LoadCleanedUp
    | PropertyRejected
    | ProcessStarted
    | CommandLineSeen
    | ProcessEnded
    | QemuMessage
    | Problem
)
