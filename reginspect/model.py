"""The migration model: sessions of attempts of CPUs of registers, built incrementally from events.

A ``Session`` holds one ``SourceBuilder`` per input (a log file, stdin). Each builder applies
parser events to its attempts in amortised constant time per event, so the TUI can feed it as a
log grows, and keeps registers compactly (ids and lines in arrays: a dense log has a million of
them). Every event that touches an attempt bumps the attempt's ``revision`` (one place:
``SourceBuilder._touch``), so views and caches know what changed. ``Session.attempts()`` gives
the merged view: the standard error and the ``-D`` trace file of one QEMU process, given
together, become one attempt, rebuilt only when a part's revision moves.

What an attempt's life looks like is one state table, ``TRANSITIONS``.
"""

from __future__ import annotations

import enum
import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator
from sys import intern
from typing import Any, Final, NamedTuple

from parsers.lazyre import LazyPattern
from parsers.logevents import (
    ENDS_PROCESS,
    REGISTER_KINDS,
    CommandLineSeen,
    CpuCounts,
    Dialect,
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
    Status,
)
from parsers.logparse import LogParser
from parsers.regids import Accel, accel_named

# What an attempt keeps of unbounded kinds of lines; beyond, they are only counted.
MAX_KEPT_LINES: Final = 1000
# The x-mig series' properties (x-mig-safe-missing-regs, x-mig-hidden-regs).
XMIG_PROPERTY_PREFIX: Final = "x-mig-"
# vCPUs an attempt keeps: QEMU's Arm machines have at most 512 (virt with GICv3), so more is a
# log that is not QEMU's; the registers of the rest are not kept.
MAX_CPUS: Final = 4096
# Register mentions a vCPU keeps in one attempt: QEMU prints each register at most once per
# list it walks, and an Arm vCPU has about a thousand at most (QEMU's cpreg list, KVM's register
# list); more is a log that is not QEMU's, and the rest are counted, not listed.
MAX_CPU_MENTIONS: Final = 16384

# Every revision is unique across the session's attempts: a merged attempt's revision is the
# largest of its parts', which moves whenever any part changes.
_revisions = itertools.count(1)


def next_revision() -> int:
    return next(_revisions)


class LineRef(NamedTuple):
    source: str
    line: int
    offset: int


class Phase(enum.StrEnum):
    """Where an attempt is in its life, as far as the log shows."""

    STARTED = "started"  # a QEMU process waits for an incoming stream; nothing read yet
    LOADING = "loading"  # the stream is being read (RAM and the other devices)
    CPU = "cpu"  # the CPU state is being read: counts, register messages
    LOADED = "loaded"  # QEMU read the whole stream
    GAVE_UP = "gave-up"  # QEMU stopped reading before the end, no error line (yet)
    FAILED = "failed"  # QEMU said the load failed, or refused to start
    RAN = "ran"  # libvirt: the process ran and ended normally after the migration


class Signal(enum.Enum):
    """What an event means for an attempt's life (numbered by hand: ``enum.auto`` costs a
    millisecond of start-up)."""

    LOADING = 1  # loading began, or a device section other than the CPU's
    CPU = 2  # the CPU section, its counts or its registers
    LOADED = 3  # the end of the stream
    CLEANUP = 4  # loadvm_state_cleanup
    FAILURE = 5  # an error line, a register the destination refuses
    ENDED_NORMALLY = 6  # libvirt: shutting down, reason=shutdown|destroyed|migrated
    ENDED_BADLY = 7  # libvirt: shutting down, reason=failed|crashed


_P, _S = Phase, Signal
# (phase, signal) -> next phase. A pair that is missing leaves the phase as it is.
TRANSITIONS: Final[dict[tuple[Phase, Signal], Phase]] = {
    (_P.STARTED, _S.LOADING): _P.LOADING,
    (_P.STARTED, _S.CPU): _P.CPU,
    (_P.LOADING, _S.CPU): _P.CPU,
    (_P.CPU, _S.LOADING): _P.LOADING,  # a device after the CPU: the CPU state loaded
    **{(phase, _S.LOADED): _P.LOADED for phase in (_P.STARTED, _P.LOADING, _P.CPU, _P.GAVE_UP)},
    **{(phase, _S.CLEANUP): _P.GAVE_UP for phase in (_P.STARTED, _P.LOADING, _P.CPU)},
    **{(phase, _S.FAILURE): _P.FAILED for phase in Phase if phase is not _P.RAN},
    **{(phase, _S.ENDED_BADLY): _P.FAILED for phase in Phase if phase is not _P.LOADED},
    **{(phase, _S.ENDED_NORMALLY): _P.RAN for phase in (_P.STARTED, _P.LOADING, _P.CPU, _P.LOADED)},
}

NORMAL_END_REASONS: Final = frozenset({"shutdown", "destroyed", "migrated", "saved"})
BAD_END_REASONS: Final = frozenset({"failed", "crashed"})


class Origin(enum.StrEnum):
    """Where what is known of a QEMU process comes from."""

    LIBVIRT = "libvirt"  # a libvirt domain log's header
    COMMAND_LINE = "command-line"  # its command line, in the log
    STREAM = "stream"  # a saved migration stream


class Naming(enum.StrEnum):
    """How far the log names the registers that differ."""

    NAMED = "named"  # QEMU 11.1+, the x-mig series or KVM traces print every difference
    COUNTS = "counts"  # QEMU <= 10.x: counts at most, never names
    STREAMS = "streams"  # from saved migration streams: everything, values included


# The compact store keeps enums as small codes: their positions in these tuples.
KINDS: Final = tuple(MessageKind)
ACCELS: Final = tuple(Accel)
STATUSES: Final = tuple(Status)
_KIND_CODE: Final = {kind: code for code, kind in enumerate(KINDS)}
_ACCEL_CODE: Final = {accel: code for code, accel in enumerate(ACCELS)}
_STATUS_CODE: Final = {status: code for code, status in enumerate(STATUSES)}
_MISSING_CODE: Final = _STATUS_CODE[Status.MISSING]
# Per register message kind: extra?, tolerated?, status code, kind code.
_REGISTER_CODES: Final = {
    kind: (status is Status.EXTRA, tolerated, _STATUS_CODE[status], _KIND_CODE[kind])
    for kind, (status, tolerated) in REGISTER_KINDS.items()
}


class RegisterNote(NamedTuple):
    """One mention of a register for one CPU, as the compact store gives it back."""

    kvm_id: int
    status: Status
    tolerated: bool
    kind: MessageKind
    accel: Accel
    reference: str
    line: LineRef


class CpuState:
    """One CPU of an attempt: its counts, and every register mention in arrival order (the
    result layer folds repeated mentions of one register into one)."""

    __slots__ = (
        "accels",
        "destination_count",
        "first_line",
        "from_section",
        "ids",
        "instance",
        "kinds",
        "last_destination_id",
        "last_destination_missing",
        "last_stream_id",
        "lines",
        "offsets",
        "references",
        "sources",
        "statuses",
        "stream_count",
        "unlisted",
        "values",
    )

    def __init__(
        self,
        instance: int,
        first_line: LineRef | None = None,
        stream_count: int | None = None,
        destination_count: int | None = None,
        from_section: bool = False,
    ) -> None:
        self.instance = instance
        self.first_line = first_line
        self.stream_count = stream_count
        self.destination_count = destination_count
        self.from_section = from_section  # numbered by QEMU's section trace, not by walk order
        # QEMU walks both sorted lists once per CPU: an id going back means the next CPU's walk.
        self.last_destination_id = -1
        self.last_destination_missing = False
        self.last_stream_id = -1
        # One entry per mention, in columns.
        self.ids: array[int] = array("Q")
        self.lines: array[int] = array("q")
        self.offsets: array[int] = array("q")
        self.statuses: array[int] = array("B")
        self.kinds: array[int] = array("B")
        self.accels: array[int] = array("B")
        self.sources: list[str] = []
        self.references: list[str] = []
        # Saved streams only: id -> (value in the stream, value on the destination).
        self.values: dict[int, tuple[int | None, int | None]] = {}
        self.unlisted = 0  # mentions beyond MAX_CPU_MENTIONS, counted only

    def note(
        self,
        kvm_id: int,
        status: Status,
        kind: MessageKind,
        accel: Accel,
        reference: str,
        source: str,
        line: int,
        offset: int,
    ) -> None:
        if len(self.ids) >= MAX_CPU_MENTIONS:
            self.unlisted += 1
            return
        self.ids.append(kvm_id)
        self.lines.append(line)
        self.offsets.append(offset)
        self.statuses.append(_STATUS_CODE[status])
        self.kinds.append(_KIND_CODE[kind])
        self.accels.append(_ACCEL_CODE[accel])
        self.sources.append(source)
        self.references.append(intern(reference))

    def notes(self) -> Iterator[RegisterNote]:
        for index, kvm_id in enumerate(self.ids):
            kind = KINDS[self.kinds[index]]
            tolerated = REGISTER_KINDS.get(kind, (Status.MATCHED, False))[1]
            yield RegisterNote(
                kvm_id,
                STATUSES[self.statuses[index]],
                tolerated,
                kind,
                ACCELS[self.accels[index]],
                self.references[index],
                self.line_ref(index),
            )

    def columns(self) -> tuple[Callable[[Any], None], ...]:
        """The append of each column, in ``note``'s order (for a caller that notes many)."""
        return (
            self.ids.append,
            self.lines.append,
            self.offsets.append,
            self.statuses.append,
            self.kinds.append,
            self.accels.append,
            self.sources.append,
            self.references.append,
        )

    def line_ref(self, index: int) -> LineRef:
        return LineRef(self.sources[index], self.lines[index], self.offsets[index])

    def extend(self, other: CpuState) -> None:
        """Add ``other``'s mentions after this CPU's own (merging two files of one QEMU)."""
        self.ids.extend(other.ids)
        self.lines.extend(other.lines)
        self.offsets.extend(other.offsets)
        self.statuses.extend(other.statuses)
        self.kinds.extend(other.kinds)
        self.accels.extend(other.accels)
        self.sources.extend(other.sources)
        self.references.extend(other.references)
        self.values.update(other.values)
        self.unlisted += other.unlisted

    def copy(self) -> CpuState:
        clone = CpuState(
            self.instance,
            self.first_line,
            self.stream_count,
            self.destination_count,
            self.from_section,
        )
        clone.extend(self)
        return clone

    @property
    def mentions(self) -> int:
        return len(self.ids)


class ProcessInfo:
    """One QEMU process, as libvirt's header or a command line describes it. Shared by the
    attempts of that process."""

    # Not a dataclass: importing dataclasses (and inspect with it) costs a sixth of the
    # start-up of a report on a small log.
    __slots__ = (
        "accel",
        "binary",
        "cpu",
        "end_reason",
        "hidden",
        "incoming",
        "libvirt_version",
        "line",
        "machine",
        "origin",
        "qemu_version",
        "time",
    )
    # Filled in as the log tells more (its command line, libvirt's end of it, hidden registers).
    cpu: str | None
    accel: str | None
    incoming: str | None
    binary: str | None
    end_reason: str | None
    hidden: set[int]

    def __init__(
        self,
        origin: Origin,
        line: LineRef,
        time: str | None = None,
        qemu_version: str | None = None,
        libvirt_version: str | None = None,
        *,
        machine: str | None = None,
    ) -> None:
        self.origin, self.line, self.time = origin, line, time
        self.qemu_version, self.libvirt_version, self.machine = (
            qemu_version,
            libvirt_version,
            machine,
        )
        self.cpu = self.accel = self.incoming = self.binary = self.end_reason = None
        self.hidden = set()


class ErrorLine(NamedTuple):
    source: str
    line: int
    offset: int
    text: str
    # Errors: what failed; warnings: their level (``warning``); problems: what is wrong.
    kind: FailureKind | str
    message: MessageKind = MessageKind.QEMU_MESSAGE
    detail: str | None = None  # what the destination could not read (state failures)


class PropertyProblem(NamedTuple):
    source: str
    line: int
    driver: str | None
    property: str
    value: str | None
    reason: str
    set_twice: bool


class RefusedRegister(NamedTuple):
    """A register the destination's KVM refused while putting the loaded CPU state."""

    kvm_id: int
    kind: MessageKind  # a value refused, or a register unknown to KVM
    reference: str
    value: int | None  # the value the stream carried, when KVM said it
    current: int | None  # what KVM holds instead
    line: LineRef


_VERSION = LazyPattern(r"(\d+)\.(\d+)")


def release(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of a QEMU version string such as ``10.1.50`` or ``11.1.3Debian …``."""
    match = _VERSION.match(version or "")
    return None if match is None else (int(match.group(1)), int(match.group(2)))


def version_dialect(version: str | None) -> Dialect | None:
    """What a QEMU version string tells of the messages that version prints."""
    known = release(version)
    if known is None:
        return None
    return Dialect.QEMU_11 if known >= (11, 1) else Dialect.LEGACY


class _UnkeptCpu(CpuState):
    """Where the register mentions of vCPUs beyond MAX_CPUS go: nowhere."""

    __slots__ = ()

    def note(self, *_: object) -> None:
        pass

    def columns(self) -> tuple[Callable[[Any], None], ...]:
        return (_discard,) * 8


def _discard(_: object) -> None:
    pass


class Attempt:
    """One incoming migration (or one QEMU start that never got that far)."""

    __slots__ = (
        "accels",
        "closed",
        "complete",
        "cpus",
        "current_cpu",
        "dialects",
        "dropped_lines",
        "errors",
        "first_line",
        "from_streams",
        "has_messages",
        "hidden",
        "highest_cpu",
        "index",
        "last_line",
        "parts",
        "phase",
        "problems",
        "process",
        "properties",
        "refused",
        "revision",
        "source",
        "source_process",
        "sources",
        "time",
        "unkept_cpu",
        "warnings",
        "with_streams",
    )

    def __init__(
        self,
        index: int,
        source: str,
        first_line: int,
        last_line: int,
        *,
        sources: list[str],
        revision: int = 0,
        phase: Phase = Phase.STARTED,
        closed: bool = False,
        from_streams: bool = False,
        with_streams: bool = False,
        complete: bool = False,
        parts: tuple[Attempt, ...] = (),
    ) -> None:
        self.index = index
        self.source = source
        self.first_line = first_line
        self.last_line = last_line
        self.sources = sources
        self.revision = revision
        self.phase = phase
        self.closed = closed  # nothing later belongs to it (QEMU gave up, or a new attempt began)
        self.from_streams = from_streams  # built from two saved register lists, not from a log
        self.with_streams = with_streams  # a log's attempt whose registers saved streams complete
        self.complete = complete  # its source was read to the end and is not followed any more
        self.parts = parts  # the attempts merged into this one
        self.cpus: dict[int, CpuState] = {}
        self.highest_cpu = -1  # max(cpus), kept as they come: numbering the next one is O(1)
        self.unkept_cpu: CpuState | None = None  # stands for every vCPU beyond MAX_CPUS
        self.errors: list[ErrorLine] = []
        self.properties: list[PropertyProblem] = []
        self.warnings: list[ErrorLine] = []
        self.problems: list[ErrorLine] = []
        self.dropped_lines = 0  # warnings and problems beyond MAX_KEPT_LINES
        self.refused: list[RefusedRegister] = []
        self.hidden: set[int] = set()
        self.process: ProcessInfo | None = None
        self.dialects: set[Dialect] = set()
        self.accels: dict[Accel, MessageKind] = {}  # what said so, first seen
        self.current_cpu: CpuState | None = None
        self.has_messages = False  # QEMU's own error/warning lines (standard error) are in view
        self.time: str | None = None  # the first timestamp seen
        self.source_process: ProcessInfo | None = None  # the source's, where a saved stream tells

    def __repr__(self) -> str:
        return (
            f"Attempt(#{self.index} {self.source}:{self.first_line}-{self.last_line} "
            f"{self.phase}, revision {self.revision})"
        )

    def cpu(self, instance: int, line: LineRef | None) -> CpuState:
        state = self.cpus.get(instance)
        if state is None:
            if len(self.cpus) >= MAX_CPUS:
                return self._unkept(line)
            state = CpuState(instance, first_line=line)
            self.cpus[instance] = state
            if instance > self.highest_cpu:
                self.highest_cpu = instance
        return state

    def _unkept(self, line: LineRef | None) -> CpuState:
        if self.unkept_cpu is None:
            self.unkept_cpu = _UnkeptCpu(self.highest_cpu + 1, first_line=line)
            self.past_a_cap(
                line or LineRef(self.source, self.last_line, 0),
                f"more than {MAX_CPUS} vCPUs in one attempt (QEMU's Arm machines have at "
                "most 512): the registers of the rest are not listed",
            )
        return self.unkept_cpu

    def past_a_cap(self, where: LineRef, what: str) -> None:
        """Say, once, on the line where it happened, that the log went past one of the model's
        bounds (MAX_CPUS, MAX_CPU_MENTIONS) and what is not listed."""
        self.problems.append(ErrorLine(where.source, where.line, where.offset, "", what))

    def past_the_mentions_cap(self, cpu: CpuState, where: LineRef) -> None:
        self.past_a_cap(
            where,
            f"vCPU {cpu.instance}: more than {MAX_CPU_MENTIONS} register lines in one attempt "
            "(an Arm vCPU has about a thousand registers at most): the rest are not listed",
        )

    def sorted_cpus(self) -> list[CpuState]:
        return [self.cpus[key] for key in sorted(self.cpus)]

    def advance(self, signal: Signal) -> None:
        self.phase = TRANSITIONS.get((self.phase, signal), self.phase)

    @property
    def naming(self) -> Naming:
        if self.from_streams or self.with_streams:
            return Naming.STREAMS
        if any(cpu.mentions for cpu in self.cpus.values()):
            return Naming.NAMED
        # QEMU 11.1 names each difference in a warning or error, never in a trace: only its
        # messages (standard error) can tell that no register differs. The x-mig series names
        # them in traces (its builds also print 11.x's chained load error).
        eleven = Dialect.QEMU_11 in self.dialects and Dialect.XMIG not in self.dialects
        if eleven and self.has_messages:
            return Naming.NAMED
        return Naming.COUNTS


class SourceBuilder:
    """Applies one input's events to its own attempts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parser = LogParser()
        self.attempts: list[Attempt] = []
        self.taken = 0  # attempts handed over by take_finished, no longer in ``attempts``
        self.process: ProcessInfo | None = None
        self.has_trace = False
        self.complete = False
        self.revision = 0  # the largest revision of its attempts
        self.unplaced = 0  # lines not understood before any attempt began
        self.first_unplaced: ErrorLine | None = None

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> int:
        events = self.parser.feed(data)
        self.apply_all(events)
        return len(events)

    def close(self) -> int:
        """The input ended: nothing more will come (a command's read, a closed pipe)."""
        events = self.parser.close()
        self.apply_all(events)
        self.complete = True
        for attempt in self.attempts:
            attempt.complete = True
            self._bump(attempt)
        return len(events)

    def apply_region(self, events: Iterable[LogEvent], lines: int, size: int) -> None:
        """Events parsed elsewhere (another process) from the next ``lines`` lines."""
        self.apply_all(events)
        self.parser.skip(lines, size)

    def apply_all(self, events: Iterable[LogEvent]) -> None:
        run: list[RegisterSeen] = []
        for event in events:
            if type(event) is RegisterSeen:
                run.append(event)
                continue
            if run:
                self._apply_registers(run)
                run = []
            self.apply(event)
        if run:
            self._apply_registers(run)

    def take_finished(self) -> list[Attempt]:
        """Hand over (and forget) the attempts nothing can change any more, for a reader that
        reports a log as it reads it once: each is then complete."""
        finished = self.attempts if self._current() is None else self.attempts[:-1]
        self.attempts = self.attempts[len(finished) :]
        self.taken += len(finished)
        for attempt in finished:
            attempt.complete = True
        return finished

    # -- attempts ------------------------------------------------------------------------------

    def _current(self) -> Attempt | None:
        if self.attempts and not self.attempts[-1].closed:
            return self.attempts[-1]
        return None

    def _close_current(self) -> None:
        current = self._current()
        if current is not None:
            current.closed = True
            self._bump(current)

    def _new_attempt(self, line: int) -> Attempt:
        self._close_current()
        index = self.taken + len(self.attempts)
        attempt = Attempt(index, self.name, line, line, sources=[self.name])
        if self.process is not None:
            self._give_process(attempt, self.process)
        self.attempts.append(attempt)
        return attempt

    def _give_process(self, attempt: Attempt, process: ProcessInfo) -> None:
        attempt.process = process
        attempt.hidden |= process.hidden
        if process.origin is Origin.LIBVIRT:
            attempt.has_messages = True  # libvirt's log holds QEMU's standard error
        dialect = version_dialect(process.qemu_version)
        if dialect is not None:
            attempt.dialects.add(dialect)
        accel = accel_named(process.accel)
        if accel is not None:
            attempt.accels.setdefault(accel, MessageKind.COMMAND_LINE)
        attempt.time = attempt.time or process.time

    def _attempt(self, line: int) -> Attempt:
        """The attempt later evidence belongs to: QEMU prints its errors after the cleanup
        trace, so only a cleanly finished attempt (closed at its cleanup) makes way for a new
        one."""
        current = self._current()
        return self._new_attempt(line) if current is None else current

    def _bump(self, attempt: Attempt) -> None:
        attempt.revision = next_revision()
        self.revision = attempt.revision

    def _touch(self, attempt: Attempt, event: LogEvent, signal: Signal | None = None) -> None:
        """The one place where an event changes an attempt: its lines, phase and revision."""
        if event.line > attempt.last_line:
            attempt.last_line = event.line
        if attempt.time is None:
            attempt.time = event.time
        if signal is not None:
            attempt.advance(signal)
        dialect = event.kind.dialect
        if dialect is not Dialect.COMMON:
            attempt.dialects.add(dialect)
        self._bump(attempt)

    def _cpu_for(self, attempt: Attempt, ref: LineRef) -> CpuState:
        if attempt.current_cpu is None:
            attempt.current_cpu = attempt.cpu(len(attempt.cpus), ref)
        return attempt.current_cpu

    def _next_implicit_cpu(self, attempt: Attempt, ref: LineRef) -> CpuState:
        attempt.current_cpu = attempt.cpu(attempt.highest_cpu + 1, ref)
        return attempt.current_cpu

    def apply(self, event: LogEvent) -> None:
        ref = LineRef(self.name, event.line, event.offset)
        current: Attempt | None
        match event:
            case RegisterSeen():
                self._apply_registers([event])
            case CpuCounts():
                current = self._attempt(event.line)
                cpu = self._cpu_for(current, ref)
                if cpu.stream_count is not None and not cpu.from_section:
                    cpu = self._next_implicit_cpu(current, ref)  # the next vCPU's counts
                cpu.stream_count = event.stream_count
                cpu.destination_count = event.destination_count
                self._touch(current, event, Signal.CPU)
            case SectionStarted():
                self.has_trace = True
                current = self._current()
                if current is None or current.phase in (Phase.GAVE_UP, Phase.LOADED):
                    current = self._new_attempt(event.line)
                if event.name == "cpu":
                    cpu = current.cpu(event.instance, ref)
                    cpu.from_section = True
                    current.current_cpu = cpu
                    self._touch(current, event, Signal.CPU)
                else:
                    current.current_cpu = None
                    self._touch(current, event, Signal.LOADING)
            case IncomingStarted():
                self.has_trace = True
                current = self._current()
                if current is None or current.phase is not Phase.STARTED:
                    current = self._new_attempt(event.line)
                self._touch(current, event, Signal.LOADING)
            case LoadCompleted():
                self.has_trace = True
                current = self._attempt(event.line)
                self._touch(current, event, Signal.LOADED)
            case LoadCleanedUp():
                self.has_trace = True
                current = self._current()
                if current is not None:
                    if current.phase is Phase.LOADED:
                        current.closed = True  # a clean finish: what follows is another attempt
                    self._touch(current, event, Signal.CLEANUP)
            case LoadFailed():
                self._apply_failure(event)
            case RegisterRefused():
                current = self._attempt(event.line)
                # KVM is told the state twice (the CPU's load, then the put after it): once each.
                if all(refused.kvm_id != event.kvm_id for refused in current.refused):
                    current.refused.append(
                        RefusedRegister(
                            event.kvm_id,
                            event.kind,
                            event.reference,
                            event.value,
                            event.current,
                            ref,
                        )
                    )
                current.accels.setdefault(event.accel, event.kind)
                self._error(current, event, event.raw, FailureKind.REGISTER)
                current.has_messages = True
                self._touch(current, event, Signal.FAILURE)
            case RegisterHidden():
                current = self._current()
                if self.process is None:
                    self.process = ProcessInfo(Origin.COMMAND_LINE, ref)
                self.process.hidden.add(event.kvm_id)
                if current is not None:
                    current.hidden.add(event.kvm_id)
                    current.accels.setdefault(Accel.KVM, event.kind)
                    self._touch(current, event)
            case PropertyRejected():
                current = self._attempt(event.line)
                current.has_messages = True
                current.properties.append(
                    PropertyProblem(
                        self.name,
                        event.line,
                        event.driver,
                        event.property,
                        event.value,
                        event.reason,
                        event.set_twice,
                    )
                )
                if event.property.startswith(XMIG_PROPERTY_PREFIX):
                    # Only builds carrying the x-mig series know these properties.
                    current.dialects.add(Dialect.XMIG)
                self._error(current, event, event.raw, FailureKind.PROPERTY)
                self._touch(current, event, Signal.FAILURE)
            case ProcessStarted():
                self._close_current()
                libvirt = event.kind is MessageKind.LIBVIRT_START
                self.process = ProcessInfo(
                    Origin.LIBVIRT if libvirt else Origin.COMMAND_LINE,
                    ref,
                    event.time,
                    event.qemu_version,
                    event.libvirt_version,
                )
            case CommandLineSeen():
                if self.process is None:
                    self.process = ProcessInfo(Origin.COMMAND_LINE, ref)
                process = self.process
                process.machine = event.machine or process.machine
                process.cpu = event.cpu or process.cpu
                process.accel = event.accel or process.accel
                process.incoming = event.incoming or process.incoming
                process.binary = event.binary or process.binary
                current = self._current()
                if event.incoming and current is None:
                    current = self._new_attempt(event.line)
                    self._touch(current, event)
                elif current is not None and current.process is process:
                    self._give_process(current, process)
                    self._touch(current, event)
            case ProcessEnded():
                self._apply_end(event)
            case QemuMessage():
                current = self._current()
                if current is not None:
                    current.has_messages = True
                    self._keep(current, current.warnings, event, event.level)
                    self._touch(current, event)
            case Problem():
                current = self._current()
                if current is not None:
                    self._keep(current, current.problems, event, event.message)
                    self._touch(current, event)
                else:
                    self.unplaced += 1
                    if self.first_unplaced is None:
                        self.first_unplaced = ErrorLine(
                            self.name, event.line, event.offset, event.raw, event.message
                        )

    def _keep(
        self, attempt: Attempt, kept: list[ErrorLine], event: QemuMessage | Problem, kind: str
    ) -> None:
        if len(kept) < MAX_KEPT_LINES:
            kept.append(ErrorLine(self.name, event.line, event.offset, event.raw, kind, event.kind))
        else:
            attempt.dropped_lines += 1

    def _error(
        self,
        attempt: Attempt,
        event: LoadFailed | RegisterRefused | PropertyRejected | ProcessEnded,
        raw: str,
        failure: FailureKind,
    ) -> None:
        last = attempt.errors[-1] if attempt.errors else None
        if last is not None and (last.source, last.line) == (self.name, event.line):
            return  # one line, two facts (11.x's chained error): listed once
        detail = event.detail if isinstance(event, LoadFailed) else None
        attempt.errors.append(
            ErrorLine(self.name, event.line, event.offset, raw, failure, event.kind, detail)
        )

    def _apply_registers(self, run: list[RegisterSeen]) -> None:
        """Consecutive register lines (a dense log is made of them): each is a mention of its
        CPU; the attempt is touched once for the run. Written for speed: a dense log has a
        million of them."""
        current = self._attempt(run[0].line)
        name = self.name
        cpu = self._cpu_for(current, LineRef(name, run[0].line, run[0].offset))
        columns = cpu.columns()
        room = MAX_CPU_MENTIONS - len(cpu.ids)
        fatal = False
        kinds: set[MessageKind] = set()
        for event in run:
            line, offset, kind, _, kvm_id, reference, accel = event
            extra, tolerated, status_code, kind_code = _REGISTER_CODES[kind]
            if kind not in kinds:
                kinds.add(kind)
                if accel is not Accel.UNKNOWN:
                    current.accels.setdefault(accel, kind)
                if kind in (MessageKind.XMIG_KVM_MISSING, MessageKind.XMIG_KVM_UNEXPECTED):
                    current.accels.setdefault(Accel.KVM, kind)
            # Without section traces a CPU ends where QEMU's walk of the sorted lists goes back.
            if extra:
                if kvm_id <= cpu.last_stream_id and not cpu.from_section:
                    cpu = self._next_implicit_cpu(current, LineRef(name, line, offset))
                    columns = cpu.columns()
                    room = MAX_CPU_MENTIONS - len(cpu.ids)
                cpu.last_stream_id = kvm_id
                # QEMU fails the load on a register of the stream it does not know.
                fatal = fatal or not tolerated
            else:
                missing = status_code == _MISSING_CODE
                if (
                    kvm_id < cpu.last_destination_id
                    or (
                        (missing and kvm_id == cpu.last_destination_id)
                        and cpu.last_destination_missing
                    )
                ) and not cpu.from_section:
                    cpu = self._next_implicit_cpu(current, LineRef(name, line, offset))
                    columns = cpu.columns()
                    room = MAX_CPU_MENTIONS - len(cpu.ids)
                cpu.last_destination_id = kvm_id
                cpu.last_destination_missing = missing
            if room <= 0:
                self._unlisted(current, cpu, LineRef(name, line, offset))
                continue
            room -= 1
            ids, lines, offsets, statuses, kind_codes, accels, sources, references = columns
            ids(kvm_id)
            lines(line)
            offsets(offset)
            statuses(status_code)
            kind_codes(kind_code)
            accels(_ACCEL_CODE[accel])
            sources(name)
            references(reference)
        last = run[-1]
        for kind in kinds:
            if kind.dialect is not Dialect.COMMON:
                current.dialects.add(kind.dialect)
        if current.time is None:
            current.time = run[0].time
        self._touch(current, last, Signal.FAILURE if fatal else Signal.CPU)

    @staticmethod
    def _unlisted(attempt: Attempt, cpu: CpuState, where: LineRef) -> None:
        if not cpu.unlisted and not isinstance(cpu, _UnkeptCpu):
            attempt.past_the_mentions_cap(cpu, where)
        cpu.unlisted += 1

    def _apply_failure(self, event: LoadFailed) -> None:
        current = self._attempt(event.line)
        if event.failure not in (FailureKind.TRACE, FailureKind.POST_LOAD):
            current.has_messages = True
        self._error(current, event, event.raw, event.failure)
        if event.instance is not None and event.device == "cpu":
            self._relabel_cpu(current, event.instance)
        if event.kind in ENDS_PROCESS:
            current.closed = True  # QEMU exits after this line
        self._touch(current, event, Signal.FAILURE)

    def _apply_end(self, event: ProcessEnded) -> None:
        process = self.process
        if process is not None:
            process.end_reason = event.reason
        current = self._current()
        if current is not None:
            if event.reason in BAD_END_REASONS:
                if current.phase is not Phase.LOADED:
                    self._error(current, event, event.raw, FailureKind.PROCESS)
                signal: Signal | None = Signal.ENDED_BADLY
            elif event.reason in NORMAL_END_REASONS:
                signal = Signal.ENDED_NORMALLY
            else:
                signal = None
            current.closed = True
            self._touch(current, event, signal)
        self.process = None

    def _relabel_cpu(self, attempt: Attempt, instance: int) -> None:
        """Without section traces CPUs are numbered in order; QEMU's error names the real one."""
        cpu = attempt.current_cpu
        if cpu is None:
            attempt.current_cpu = attempt.cpu(instance, None)
            return
        if cpu.from_section or cpu.instance == instance or instance in attempt.cpus:
            return
        if cpu is attempt.unkept_cpu:
            return
        del attempt.cpus[cpu.instance]
        cpu.instance = instance
        attempt.cpus[instance] = cpu
        attempt.highest_cpu = max(attempt.cpus)  # once, at the error that names the CPU


_PHASE_ORDER: Final = {
    Phase.STARTED: 0,
    Phase.LOADING: 1,
    Phase.CPU: 2,
    Phase.GAVE_UP: 3,
    Phase.LOADED: 4,
    Phase.RAN: 5,
    Phase.FAILED: 6,
}


def joined_attempt(
    primary: Attempt,
    other: Attempt,
    *,
    phase: Phase,
    closed: bool,
    complete: bool,
    with_streams: bool = False,
) -> Attempt:
    """An empty attempt standing for two: the primary's number and lines, the sources of both,
    and a revision that moves whenever either part changes. The caller fills in the rest."""
    return Attempt(
        primary.index,
        primary.source,
        primary.first_line,
        primary.last_line,
        sources=primary.sources + [s for s in other.sources if s not in primary.sources],
        revision=max(primary.revision, other.revision),
        phase=phase,
        closed=closed,
        complete=complete,
        with_streams=with_streams,
        parts=(primary, other),
    )


def merge_attempts(primary: Attempt, extra: Attempt) -> Attempt:
    """One QEMU process's trace file (primary) and standard error (extra) as one attempt."""
    merged = joined_attempt(
        primary,
        extra,
        phase=max(primary.phase, extra.phase, key=_PHASE_ORDER.__getitem__),
        closed=primary.closed and extra.closed,
        complete=primary.complete and extra.complete,
    )
    merged.errors = primary.errors + extra.errors
    merged.properties = primary.properties + extra.properties
    merged.warnings = primary.warnings + extra.warnings
    merged.problems = primary.problems + extra.problems
    merged.dropped_lines = primary.dropped_lines + extra.dropped_lines
    merged.refused = primary.refused + extra.refused
    merged.has_messages = primary.has_messages or extra.has_messages
    merged.hidden = primary.hidden | extra.hidden
    merged.process = primary.process or extra.process
    merged.dialects = primary.dialects | extra.dialects
    merged.accels = {**extra.accels, **primary.accels}
    merged.time = primary.time or extra.time
    for source in (primary, extra):
        for instance, cpu in source.cpus.items():
            target = merged.cpus.get(instance)
            if target is None:
                merged.cpus[instance] = cpu.copy()
                continue
            if target.stream_count is None:
                target.stream_count = cpu.stream_count
            if target.destination_count is None:
                target.destination_count = cpu.destination_count
            target.extend(cpu)
    return merged


class Session:
    """Every input of one run of reginspect, and the attempts found in them."""

    def __init__(self) -> None:
        self.builders: dict[str, SourceBuilder] = {}
        self.generation = 0  # bumped on every change, so views can tell when to look again
        self._merged: dict[tuple[int, int], tuple[Attempt, Attempt, Attempt]] = {}

    def source(self, name: str) -> SourceBuilder:
        builder = self.builders.get(name)
        if builder is None:
            builder = SourceBuilder(name)
            self.builders[name] = builder
        return builder

    def feed(self, name: str, data: bytes) -> int:
        count = self.source(name).feed(data)
        if count:
            self.generation += 1
        return count

    def apply_region(self, name: str, events: Iterable[LogEvent], lines: int, size: int) -> None:
        self.source(name).apply_region(events, lines, size)
        self.generation += 1

    def close(self, name: str) -> int:
        count = self.source(name).close()
        self.generation += 1
        return count

    def reset(self, name: str) -> None:
        """Forget a source (its file was truncated or replaced): it is read again from the start."""
        self.builders[name] = SourceBuilder(name)
        self.generation += 1

    @property
    def sources(self) -> list[str]:
        return list(self.builders)

    def attempts(self) -> list[Attempt]:
        """All attempts in source order; an errors-only source is merged into a traced one."""
        traced = [b for b in self.builders.values() if b.has_trace and b.attempts]
        result: list[Attempt] = []
        partners: dict[str, list[Attempt]] = {}
        for builder in self.builders.values():
            if builder.has_trace or not builder.attempts or not traced:
                continue
            target = next((t for t in traced if t.name != builder.name), None)
            if target is None:
                continue
            partners.setdefault(target.name, []).extend(builder.attempts)
        merged_away = {a.source for extras in partners.values() for a in extras}
        for builder in self.builders.values():
            if builder.name in merged_away:
                continue
            attempts = list(builder.attempts)
            extras = partners.get(builder.name, [])
            if extras:
                # Align the most recent attempts of both: files are appended to over time.
                offset = len(attempts) - len(extras)
                for index, extra in enumerate(extras):
                    position = offset + index
                    if 0 <= position < len(attempts):
                        attempts[position] = self._merge(attempts[position], extra)
                    else:
                        attempts.insert(0, extra)
            result.extend(attempts)
        for index, attempt in enumerate(result):
            attempt.index = index
        return result

    def _merge(self, primary: Attempt, extra: Attempt) -> Attempt:
        """The merged attempt, made again only when a part changed."""
        key = (id(primary), id(extra))
        cached = self._merged.get(key)
        revision = max(primary.revision, extra.revision)
        if (
            cached is not None
            and cached[0] is primary
            and cached[1] is extra
            and cached[2].revision == revision
        ):
            return cached[2]
        merged = merge_attempts(primary, extra)
        self._merged[key] = (primary, extra, merged)
        return merged

    def line_count(self) -> int:
        return sum(builder.parser.lines for builder in self.builders.values())
