"""What reginspect concluded, as frozen objects: the one thing ``report``, ``suggest``,
``compare`` and the TUI render (``reginspect.analyze`` makes them from the model).

They are typed named tuples: immutable, and several times cheaper to make than frozen
dataclasses (a dense log makes a million register results, and start-up pays for each class).

A summary is cheap (the outcome, the counts, the register id sets the suggestions need); a
result adds every CPU's registers with names, the errors and the advice. Both carry the
attempt's revision.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import enum
from collections.abc import Sequence
from typing import Final, NamedTuple

from parsers.catalogue import RegisterInfo
from parsers.logevents import Dialect, MessageKind, Status
from parsers.regids import Accel, format_id
from reginspect.model import (
    ErrorLine,
    LineRef,
    Naming,
    Origin,
    Phase,
    PropertyProblem,
    RefusedRegister,
)


class Outcome(enum.StrEnum):
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    IN_PROGRESS = "in-progress"
    UNKNOWN = "unknown"


STATUS_ORDER: Final = (Status.EXTRA, Status.MISSING, Status.MATCHED)
STATUS_RANK: Final = {Status.MATCHED: 0, Status.MISSING: 1, Status.EXTRA: 1}


def values_differ(status: Status, stream_value: int | None, destination_value: int | None) -> bool:
    """A register in both lists whose two known values are not equal."""
    return (
        status is Status.MATCHED
        and stream_value is not None
        and destination_value is not None
        and stream_value != destination_value
    )


class RegisterResult(NamedTuple):
    """One register of one CPU (or of every CPU, merged), with its name and the lines behind it."""

    kvm_id: int
    info: RegisterInfo  # the catalogue's description, shared by every mention of the register
    status: Status
    tolerated: bool
    kind: MessageKind  # the message or trace event that named it
    reference: str  # the register as that message printed it
    lines: tuple[LineRef, ...]
    cpus: tuple[int, ...]
    stream_value: int | None = None
    destination_value: int | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def id_text(self) -> str:
        return format_id(self.kvm_id)

    @property
    def value_differs(self) -> bool:
        return values_differ(self.status, self.stream_value, self.destination_value)

    @property
    def first_line(self) -> int | None:
        return self.lines[0].line if self.lines else None


class CpuResult(NamedTuple):
    instance: int
    stream_count: int | None
    destination_count: int | None
    registers: tuple[RegisterResult, ...]  # ascending ids
    first_line: LineRef | None

    def count(self, status: Status) -> int:
        return sum(1 for register in self.registers if register.status is status)

    def by_status(self, status: Status) -> tuple[RegisterResult, ...]:
        return tuple(register for register in self.registers if register.status is status)


class QemuProcess(NamedTuple):
    """The QEMU process an attempt ran in, as libvirt or the command line told."""

    origin: Origin
    line: LineRef
    time: str | None
    version: str | None
    libvirt_version: str | None
    machine: str | None
    cpu: str | None
    accel: str | None
    incoming: str | None
    binary: str | None
    end_reason: str | None


class RegisterSets(NamedTuple):
    """Every CPU's registers of one attempt (ids, all CPUs) by what they mean for a fix."""

    fatal: frozenset[int]  # in the stream, unknown on the destination: the load fails on them
    extra_allowed_by_property: frozenset[int]  # let through by x-mig-safe-missing-regs
    extra_tolerated: frozenset[int]  # let through by QEMU's own tolerances (11.1)
    missing: frozenset[int]  # expected by the destination, not in the stream
    missing_tolerated: frozenset[int]  # the same, tolerated by QEMU on purpose (11.1)
    matched: frozenset[int]
    value_differs: frozenset[int]
    # Saved streams only: the source's value of each register the stream carried, and the
    # destination configuration's value of each register it has.
    stream_values: tuple[tuple[int, int], ...] = ()
    destination_values: tuple[tuple[int, int], ...] = ()

    @property
    def extra(self) -> frozenset[int]:
        return self.fatal | self.extra_allowed_by_property | self.extra_tolerated

    @property
    def all_missing(self) -> frozenset[int]:
        return self.missing | self.missing_tolerated

    @property
    def tolerated(self) -> frozenset[int]:
        return self.extra_allowed_by_property | self.extra_tolerated | self.missing_tolerated

    @property
    def differing(self) -> frozenset[int]:
        return self.extra | self.all_missing

    def stream_value(self, kvm_id: int) -> int | None:
        return dict(self.stream_values).get(kvm_id)

    def destination_value(self, kvm_id: int) -> int | None:
        return dict(self.destination_values).get(kvm_id)


class CpuSummary(NamedTuple):
    instance: int
    stream_count: int | None
    destination_count: int | None
    counts: tuple[tuple[Status, int], ...]  # registers per status

    def count(self, status: Status) -> int:
        return dict(self.counts).get(status, 0)


class AttemptSummary(NamedTuple):
    """An attempt at a glance: enough for a navigator, the exit status and the suggestions."""

    # The attempt's number. It hides tuple.index, which nothing of a summary needs.
    index: int  # type: ignore[assignment]
    source: str
    sources: tuple[str, ...]
    revision: int
    outcome: Outcome
    outcome_detail: str  # why that outcome, in a few words
    naming: Naming
    phase: Phase
    dialects: frozenset[Dialect]
    accel: Accel
    accel_evidence: MessageKind | None  # what told the accelerator
    first_line: int
    last_line: int
    time: str | None  # the process's start, else the first timestamp
    process: QemuProcess | None
    registers: RegisterSets
    counts: tuple[tuple[Status, int], ...]  # registers per status, every CPU merged
    cpus: tuple[CpuSummary, ...]
    count_differs: bool  # printed counts differ though no register is named
    properties: tuple[PropertyProblem, ...]
    hidden: frozenset[int]
    refused: tuple[RefusedRegister, ...]
    error_count: int
    # The source's QEMU, where something tells (a saved stream names its machine type).
    source_process: QemuProcess | None = None
    # Device state the destination could not read (an unknown subsection such as cpu/fpmr):
    # a failure that is no register difference.
    unreadable: tuple[str, ...] = ()
    # The PSCI version the destination's QEMU asked its KVM for at start-up (kvm-psci-version)
    # and the kernel does not offer: QEMU stopped before loading anything.
    psci_unsupported: str | None = None

    def count(self, status: Status) -> int:
        return dict(self.counts).get(status, 0)

    @property
    def has_differences(self) -> bool:
        sets = self.registers
        return bool(sets.differing or sets.value_differs or self.count_differs)

    @property
    def clean(self) -> bool:
        """Succeeded, and nothing differs: what exit status 0 means."""
        return self.outcome is Outcome.SUCCEEDED and not self.has_differences


class AttemptResult(NamedTuple):
    """Everything about one attempt: the summary, every CPU's registers, errors and advice."""

    summary: AttemptSummary
    cpus: tuple[CpuResult, ...]
    errors: tuple[ErrorLine, ...]
    warnings: tuple[ErrorLine, ...]
    problems: tuple[ErrorLine, ...]
    advice: tuple[str, ...]

    def registers(self, cpu: int | None = None) -> tuple[RegisterResult, ...]:
        """One CPU's registers, or (cpu None) every CPU's merged by id."""
        if cpu is not None:
            return next((view.registers for view in self.cpus if view.instance == cpu), ())
        if len(self.cpus) == 1:
            return self.cpus[0].registers
        return _merge_cpus(self.cpus)

    def count(self, status: Status, cpu: int | None = None) -> int:
        if cpu is None:
            return self.summary.count(status)
        return sum(1 for register in self.registers(cpu) if register.status is status)

    def error_spots(self) -> list[LineRef]:
        """The lines to step through for the failure: errors and the registers that caused it."""
        spots = {(e.source, e.line): LineRef(e.source, e.line, e.offset) for e in self.errors}
        for register in self.registers():
            if register.status is Status.EXTRA and not register.tolerated:
                for spot in register.lines:
                    spots.setdefault((spot.source, spot.line), spot)
        return sorted(spots.values(), key=lambda spot: (spot.source, spot.line))


def _merge_cpus(cpus: Sequence[CpuResult]) -> tuple[RegisterResult, ...]:
    merged: dict[int, RegisterResult] = {}
    for view in cpus:
        for register in view.registers:
            seen = merged.get(register.kvm_id)
            if seen is None:
                merged[register.kvm_id] = register
                continue
            keep = register if STATUS_RANK[register.status] > STATUS_RANK[seen.status] else seen
            lines = tuple(dict.fromkeys(seen.lines + register.lines))[:MAX_LINES]
            merged[register.kvm_id] = RegisterResult(
                keep.kvm_id,
                keep.info,
                keep.status,
                seen.tolerated or register.tolerated,
                keep.kind,
                keep.reference,
                tuple(sorted(lines, key=lambda spot: (spot.source, spot.line))),
                tuple(sorted({*seen.cpus, *register.cpus})),
                keep.stream_value,
                keep.destination_value,
            )
    return tuple(sorted(merged.values(), key=lambda register: register.kvm_id))


MAX_LINES: Final = 64  # lines kept per register: its first few tell where it is


class Form(enum.StrEnum):
    """The forms a fix is given in (the report's ``forms`` keys)."""

    COMMAND_LINE = "command_line"
    LIBVIRT = "libvirt"
    COMPAT = "compat"  # a change to the machine type's compat in hw/arm/virt.c (x-mig builds)
    TOLERANCE = "tolerance"  # C lines registering cpreg migration tolerances (QEMU >= 11.1)

    @property
    def heading(self) -> str:
        """The form's heading wherever a fix is shown to a person."""
        return _FORM_TITLES[self]


_FORM_TITLES: Final = {
    Form.COMMAND_LINE: "command line",
    Form.LIBVIRT: "libvirt XML",
    Form.COMPAT: "machine type compat (hw/arm/virt.c)",
    Form.TOLERANCE: "tolerance lines (QEMU >= 11.1 source)",
}


class Route(enum.StrEnum):
    """Which QEMU a fix is for."""

    XMIG = "x-mig"  # builds carrying the x-mig series: its two array properties
    UPSTREAM = "upstream"  # upstream QEMU >= 11.1 and backports: tolerances in code
    ANY = "any"  # any QEMU: the same configuration on both ends, traces that name registers


class End(enum.StrEnum):
    """Which end of a migration a fix is set on."""

    SOURCE = "source"
    DESTINATION = "destination"
    EVERY_HOST = "source and destination"  # a plan's fix for hosts that migrate both ways


class Suggestion(NamedTuple):
    """One fix: a property value for one side, or a remedy that needs no property."""

    property: str
    side: End
    ids: tuple[int, ...]
    value: str
    forms: tuple[tuple[Form, str], ...]  # only the forms that apply, the one to use first
    reason: str
    applies_to: str  # "x-mig series" | "stock qemu" (route's older, coarser word)
    route: Route = Route.ANY
    qemu: str = "any QEMU"  # the QEMU (and accelerator, machine type) it holds for
    # Registers whose value the guest would lose (not migrated), with the source's value.
    loses: tuple[tuple[int, int], ...] = ()

    def form(self, form: Form) -> str | None:
        return dict(self.forms).get(form)

    def covers(self, kvm_id: int) -> bool:
        return kvm_id in self.ids


class Report(NamedTuple):
    """Everything a run of reginspect found: what ``report`` prints and the TUI shows."""

    sources: tuple[str, ...]
    summaries: tuple[AttemptSummary, ...]
    attempts: Sequence[AttemptResult]  # in the order of the summaries; may be made lazily
    suggestions: tuple[Suggestion, ...]
    problems: tuple[str, ...] = ()

    @property
    def exit_status(self) -> int:
        """0 when every attempt succeeded with no difference, else 1."""
        return 0 if all(summary.clean for summary in self.summaries) else 1


def display_time(text: str | None) -> str | None:
    """A log's timestamp for people, to the second and in UTC where the log says its zone:
    ISO times as QEMU and libvirt print them, and the trace backend's epoch seconds."""
    if text is None:
        return None
    import datetime  # only to show times: not at start-up

    try:
        if text.replace(".", "", 1).isdigit():
            moment = datetime.datetime.fromtimestamp(float(text), datetime.UTC)
        else:
            moment = datetime.datetime.fromisoformat(text)
    except (OverflowError, OSError, ValueError):
        return text
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
