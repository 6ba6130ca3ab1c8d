"""The migration model: sessions of attempts of CPUs of registers, built incrementally from events.

A ``Session`` holds one ``SourceBuilder`` per input (a log file, stdin, a stream pair). Each
builder applies parser events to its attempts in amortised constant time per event, so the TUI
can feed it as a log grows. ``Session.attempts()`` gives the merged view: the standard error and
the ``-D`` trace file of one QEMU process, given together, become one attempt.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

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
from parsers.logparse import LogParser
from parsers.regids import Accel


class Outcome(enum.StrEnum):
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    IN_PROGRESS = "in-progress"
    UNKNOWN = "unknown"


class Naming(enum.StrEnum):
    """How far the log names the registers that differ."""

    NAMED = "named"  # QEMU 11.1+, the x-mig series or KVM traces print every difference
    COUNTS = "counts"  # QEMU <= 10.x: counts at most, never names
    STREAMS = "streams"  # from saved migration streams: everything, values included


@dataclass(slots=True)
class LineRef:
    source: str
    line: int
    offset: int


def values_differ(status: Status, stream_value: int | None, destination_value: int | None) -> bool:
    """A register in both lists whose two known values are not equal."""
    return (
        status is Status.MATCHED
        and stream_value is not None
        and destination_value is not None
        and stream_value != destination_value
    )


@dataclass(slots=True)
class RegisterEntry:
    kvm_id: int
    status: Status
    tolerated: bool
    raw: str  # the register as the evidence printed it
    accel: Accel
    evidence: str  # the message or trace event that named it
    lines: list[LineRef] = field(default_factory=list)
    stream_value: int | None = None
    destination_value: int | None = None

    @property
    def value_differs(self) -> bool:
        return values_differ(self.status, self.stream_value, self.destination_value)


_STATUS_RANK = {Status.MATCHED: 0, Status.MISSING: 1, Status.EXTRA: 1}


@dataclass(slots=True)
class CpuState:
    instance: int
    first_line: LineRef | None = None
    stream_count: int | None = None
    destination_count: int | None = None
    registers: dict[int, RegisterEntry] = field(default_factory=dict)
    # Last id seen in the destination's walk (matched, missing) and the stream's (extra): QEMU
    # walks both sorted lists once per CPU, so an id going back means the next CPU's walk.
    last_destination_id: int = -1
    last_stream_id: int = -1
    from_section: bool = False

    def by_status(self, status: Status) -> list[RegisterEntry]:
        return sorted(
            (entry for entry in self.registers.values() if entry.status is status),
            key=lambda entry: entry.kvm_id,
        )

    def count(self, status: Status) -> int:
        return sum(1 for entry in self.registers.values() if entry.status is status)

    def add(self, event: RegisterSeen, source: str) -> None:
        entry = self.registers.get(event.kvm_id)
        ref = LineRef(source, event.line, event.offset)
        if entry is None:
            self.registers[event.kvm_id] = RegisterEntry(
                event.kvm_id,
                event.status,
                event.tolerated,
                event.reference,
                event.accel,
                event.evidence,
                [ref],
            )
            return
        if _STATUS_RANK[event.status] > _STATUS_RANK[entry.status]:
            # x-mig traces print a destination register before saying it is missing.
            entry.status, entry.raw, entry.evidence = event.status, event.reference, event.evidence
        entry.tolerated = entry.tolerated or event.tolerated
        if len(entry.lines) < 64 and entry.lines[-1].line != event.line:
            entry.lines.append(ref)


@dataclass(slots=True)
class ProcessInfo:
    origin: str  # "libvirt" | "command-line"
    line: LineRef
    time: str | None = None
    qemu_version: str | None = None
    libvirt_version: str | None = None
    machine: str | None = None
    cpu: str | None = None
    accel: str | None = None
    incoming: str | None = None
    binary: str | None = None
    hidden: set[int] = field(default_factory=set)
    end_reason: str | None = None


@dataclass(slots=True)
class ErrorLine:
    source: str
    line: int
    offset: int
    text: str
    kind: str


@dataclass(slots=True)
class PropertyProblem:
    source: str
    line: int
    driver: str | None
    property: str
    value: str | None
    reason: str
    set_twice: bool


@dataclass(slots=True)
class Attempt:
    index: int
    source: str
    first_line: int
    last_line: int
    explicit: bool = False  # the log shows the load itself (traces), not only error lines
    started: bool = False  # loading of the stream was seen (setup, sections)
    completed: bool = False
    cleaned_up: bool = False
    closed: bool = False  # nothing later belongs to it (QEMU gave up, or a new attempt began)
    failed: bool = False
    cpus: dict[int, CpuState] = field(default_factory=dict)
    errors: list[ErrorLine] = field(default_factory=list)
    properties: list[PropertyProblem] = field(default_factory=list)
    warnings: list[ErrorLine] = field(default_factory=list)
    problems: list[ErrorLine] = field(default_factory=list)
    hidden: set[int] = field(default_factory=set)
    process: ProcessInfo | None = None
    styles: set[str] = field(
        default_factory=set
    )  # evidence of the QEMU flavour: "11.1", "x-mig", "kvm", "<=10"
    sources: list[str] = field(default_factory=list)
    current_cpu: CpuState | None = None
    has_messages: bool = False  # QEMU's own error/warning lines (standard error) are in view

    @property
    def naming(self) -> Naming:
        if "streams" in self.styles:
            return Naming.STREAMS
        if any(cpu.registers for cpu in self.cpus.values()):
            return Naming.NAMED
        # QEMU 11.1 names each difference in an error or warning, never in a trace: only its
        # messages (standard error) can tell that no register differs.
        if self.styles & {"11.1", "x-mig", "kvm"} and self.has_messages:
            return Naming.NAMED
        return Naming.COUNTS

    @property
    def outcome(self) -> Outcome:
        if self.failed or self.has_fatal_register:
            return Outcome.FAILED
        if self.completed:
            return Outcome.SUCCEEDED
        if "streams" in self.styles:
            return Outcome.UNKNOWN  # saved streams show both lists, not whether QEMU loads them
        if self.cleaned_up:
            return Outcome.FAILED  # the destination gave up before the end of the stream
        if self.process is not None and self.process.end_reason is not None:
            return Outcome.UNKNOWN
        if self.started or self.cpus:
            return Outcome.IN_PROGRESS
        return Outcome.UNKNOWN

    @property
    def has_fatal_register(self) -> bool:
        if "streams" in self.styles:
            return False
        return any(
            entry.status is Status.EXTRA and not entry.tolerated
            for cpu in self.cpus.values()
            for entry in cpu.registers.values()
        )

    def has_differences(self) -> bool:
        return any(
            entry.status is not Status.MATCHED or entry.value_differs
            for cpu in self.cpus.values()
            for entry in cpu.registers.values()
        ) or any(
            cpu.stream_count is not None
            and cpu.destination_count is not None
            and cpu.stream_count != cpu.destination_count
            for cpu in self.cpus.values()
        )

    def cpu(self, instance: int, line: LineRef | None) -> CpuState:
        state = self.cpus.get(instance)
        if state is None:
            state = CpuState(instance, first_line=line)
            self.cpus[instance] = state
        return state

    def sorted_cpus(self) -> list[CpuState]:
        return [self.cpus[key] for key in sorted(self.cpus)]


_TRACE_EVENTS = (IncomingStarted, SectionStarted, LoadCompleted, LoadCleanedUp)


class SourceBuilder:
    """Applies one input's events to its own attempts."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parser = LogParser()
        self.attempts: list[Attempt] = []
        self.process: ProcessInfo | None = None
        self.has_trace = False
        self.events = 0
        self.closed = False

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> int:
        events = self.parser.feed(data)
        self.apply_all(events)
        return len(events)

    def close(self) -> int:
        events = self.parser.close()
        self.apply_all(events)
        self.closed = True
        return len(events)

    def apply_region(self, events: Iterable[LogEvent], lines: int, size: int) -> None:
        """Events parsed elsewhere (another process) from the next ``lines`` lines."""
        self.apply_all(events)
        self.parser.skip(lines, size)

    def apply_all(self, events: Iterable[LogEvent]) -> None:
        for event in events:
            self.apply(event)

    # -- attempts ------------------------------------------------------------------------------

    def _current(self) -> Attempt | None:
        if self.attempts and not self.attempts[-1].closed:
            return self.attempts[-1]
        return None

    def _new_attempt(self, line: int) -> Attempt:
        current = self._current()
        if current is not None:
            current.closed = True
        attempt = Attempt(len(self.attempts), self.name, line, line, sources=[self.name])
        if self.process is not None:
            attempt.process = self.process
            attempt.hidden |= self.process.hidden
        self.attempts.append(attempt)
        return attempt

    def _attempt(self, line: int) -> Attempt:
        """The attempt later evidence belongs to: QEMU prints its errors after the cleanup
        trace, so only a cleanly finished attempt makes way for a new one."""
        current = self._current()
        if current is None or (current.cleaned_up and current.completed):
            return self._new_attempt(line)
        return current

    def _touch(self, attempt: Attempt, line: int) -> None:
        attempt.last_line = max(attempt.last_line, line)

    def _cpu_for(self, attempt: Attempt, ref: LineRef) -> CpuState:
        if attempt.current_cpu is None:
            attempt.current_cpu = attempt.cpu(len(attempt.cpus), ref)
        return attempt.current_cpu

    def _next_implicit_cpu(self, attempt: Attempt, ref: LineRef) -> CpuState:
        instance = max(attempt.cpus, default=-1) + 1
        attempt.current_cpu = attempt.cpu(instance, ref)
        return attempt.current_cpu

    def apply(self, event: LogEvent) -> None:
        self.events += 1
        ref = LineRef(self.name, event.line, event.offset)
        if isinstance(event, _TRACE_EVENTS):
            self.has_trace = True
        match event:
            case ProcessStarted():
                current = self._current()
                if current is not None:
                    current.closed = True
                self.process = ProcessInfo(
                    event.origin, ref, event.time, event.qemu_version, event.libvirt_version
                )
            case CommandLineSeen():
                if self.process is None:
                    self.process = ProcessInfo("command-line", ref)
                process = self.process
                process.machine = event.machine or process.machine
                process.cpu = event.cpu or process.cpu
                process.accel = event.accel or process.accel
                process.incoming = event.incoming or process.incoming
                process.binary = event.binary or process.binary
                if event.incoming and self._current() is None:
                    self._new_attempt(event.line)
            case ProcessEnded():
                if self.process is not None:
                    self.process.end_reason = event.reason
                current = self._current()
                if current is not None:
                    self._touch(current, event.line)
                    if event.reason in {"crashed", "failed"} and not current.completed:
                        current.failed = True
                        current.errors.append(
                            ErrorLine(self.name, event.line, event.offset, event.raw, "process")
                        )
                    current.closed = True
                self.process = None
            case IncomingStarted():
                current = self._current()
                if current is None or current.started or current.cleaned_up:
                    current = self._new_attempt(event.line)
                current.started = current.explicit = True
                self._touch(current, event.line)
            case SectionStarted():
                current = self._current()
                if current is None or current.cleaned_up:
                    current = self._new_attempt(event.line)
                current.started = current.explicit = True
                self._touch(current, event.line)
                if event.name == "cpu":
                    cpu = current.cpu(event.instance, ref)
                    cpu.from_section = True
                    current.current_cpu = cpu
                else:
                    current.current_cpu = None
            case CpuCounts():
                current = self._attempt(event.line)
                self._touch(current, event.line)
                cpu = self._cpu_for(current, ref)
                if cpu.stream_count is not None and not cpu.from_section:
                    cpu = self._next_implicit_cpu(current, ref)  # the next vCPU's counts
                cpu.stream_count = event.stream_count
                cpu.destination_count = event.destination_count
                if event.raw.find("cpu_post_load cpreg_vmstate_array_len") != -1:
                    current.styles.add("11.1")
                elif "cpu_post_load_len" in event.raw:
                    current.styles.add("x-mig")
            case RegisterSeen():
                self._apply_register(event, ref)
            case RegisterHidden():
                current = self._current()
                if current is not None:
                    current.hidden.add(event.kvm_id)
                if self.process is None:
                    self.process = ProcessInfo("command-line", ref)
                self.process.hidden.add(event.kvm_id)
            case LoadFailed():
                self._apply_failure(event, ref)
            case LoadCompleted():
                current = self._attempt(event.line)
                current.completed = True
                self._touch(current, event.line)
            case LoadCleanedUp():
                current = self._current()
                if current is not None:
                    current.cleaned_up = True
                    self._touch(current, event.line)
            case PropertyRejected():
                current = self._attempt(event.line)
                current.failed = True
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
                current.errors.append(
                    ErrorLine(self.name, event.line, event.offset, event.raw, "property")
                )
                self._touch(current, event.line)
            case QemuMessage():
                current = self._current()
                if current is not None:
                    current.has_messages = True
                if current is not None and len(current.warnings) < 1000:
                    current.warnings.append(
                        ErrorLine(self.name, event.line, event.offset, event.raw, event.level)
                    )
            case Problem():
                current = self._current()
                if current is not None and len(current.problems) < 1000:
                    current.problems.append(
                        ErrorLine(self.name, event.line, event.offset, event.raw, event.message)
                    )

    def _apply_register(self, event: RegisterSeen, ref: LineRef) -> None:
        current = self._attempt(event.line)
        self._touch(current, event.line)
        if event.evidence.startswith(("handle_cpreg", "tolerate_cpreg")):
            current.styles.add("11.1")
        elif event.evidence.startswith("kvm_arm"):
            current.styles.add("kvm")
        else:
            current.styles.add("x-mig")
        cpu = self._cpu_for(current, ref)
        if event.status is Status.EXTRA:
            if event.kvm_id <= cpu.last_stream_id and not cpu.from_section:
                cpu = self._next_implicit_cpu(current, ref)
            cpu.last_stream_id = event.kvm_id
        else:
            backwards = event.kvm_id < cpu.last_destination_id or (
                event.status is Status.MISSING
                and event.kvm_id == cpu.last_destination_id
                and event.kvm_id in cpu.registers
                and cpu.registers[event.kvm_id].status is Status.MISSING
            )
            if backwards and not cpu.from_section:
                cpu = self._next_implicit_cpu(current, ref)
            cpu.last_destination_id = event.kvm_id
        cpu.add(event, self.name)

    def _apply_failure(self, event: LoadFailed, ref: LineRef) -> None:
        current = self._attempt(event.line)
        self._touch(current, event.line)
        current.failed = True
        if event.kind is not FailureKind.TRACE and event.kind is not FailureKind.POST_LOAD:
            current.has_messages = True
        current.errors.append(ErrorLine(self.name, event.line, event.offset, event.raw, event.kind))
        if "post load hook failed for:" in event.message:
            current.styles.add("11.1")  # 11.x chains the errors into one line
        elif event.kind in (FailureKind.COUNT, FailureKind.FIELD, FailureKind.DEVICE):
            current.styles.add("<=10")
        if event.instance is not None and event.device == "cpu":
            self._relabel_cpu(current, event.instance)
        if event.kind in (FailureKind.LOAD, FailureKind.ASSERTION):
            current.closed = True  # QEMU exits after this line

    def _relabel_cpu(self, attempt: Attempt, instance: int) -> None:
        """Without section traces CPUs are numbered in order; QEMU's error names the real one."""
        cpu = attempt.current_cpu
        if cpu is None:
            attempt.current_cpu = attempt.cpu(instance, None)
            return
        if cpu.from_section or cpu.instance == instance or instance in attempt.cpus:
            return
        del attempt.cpus[cpu.instance]
        cpu.instance = instance
        attempt.cpus[instance] = cpu


def merge_attempts(primary: Attempt, extra: Attempt) -> Attempt:
    """One QEMU process's trace file (primary) and standard error (extra) as one attempt."""
    merged = Attempt(
        primary.index,
        primary.source,
        primary.first_line,
        primary.last_line,
        explicit=True,
        started=primary.started or extra.started,
        completed=primary.completed or extra.completed,
        cleaned_up=primary.cleaned_up or extra.cleaned_up,
        closed=primary.closed and extra.closed,
        failed=primary.failed or extra.failed,
        errors=primary.errors + extra.errors,
        properties=primary.properties + extra.properties,
        warnings=primary.warnings + extra.warnings,
        problems=primary.problems + extra.problems,
        has_messages=primary.has_messages or extra.has_messages,
        hidden=primary.hidden | extra.hidden,
        process=primary.process or extra.process,
        styles=primary.styles | extra.styles,
        sources=primary.sources + [s for s in extra.sources if s not in primary.sources],
    )
    for source in (primary, extra):
        for instance, cpu in source.cpus.items():
            target = merged.cpus.get(instance)
            if target is None:
                target = CpuState(
                    instance, first_line=cpu.first_line, from_section=cpu.from_section
                )
                merged.cpus[instance] = target
            target.stream_count = (
                target.stream_count if target.stream_count is not None else cpu.stream_count
            )
            if target.destination_count is None:
                target.destination_count = cpu.destination_count
            for kvm_id, entry in cpu.registers.items():
                existing = target.registers.get(kvm_id)
                if existing is None or _STATUS_RANK[entry.status] > _STATUS_RANK[existing.status]:
                    target.registers[kvm_id] = entry
    if extra.cpus and not primary.cpus:
        merged.cpus = dict(extra.cpus)
    return merged


class Session:
    """Every input of one run of reginspect, and the attempts found in them."""

    def __init__(self) -> None:
        self.builders: dict[str, SourceBuilder] = {}
        self.generation = 0  # bumped on every change, so views can tell when to redraw

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

    def close(self, name: str) -> int:
        count = self.source(name).close()
        self.generation += 1
        return count

    def reset(self, name: str) -> None:
        """Forget a source (its file was truncated or replaced): it is read again from the start."""
        self.builders[name] = SourceBuilder(name)
        self.generation += 1

    def add_attempt(self, attempt: Attempt) -> None:
        """An attempt built elsewhere (saved migration streams)."""
        builder = self.source(attempt.source)
        attempt.index = len(builder.attempts)
        builder.attempts.append(attempt)
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
                        attempts[position] = merge_attempts(attempts[position], extra)
                    else:
                        attempts.insert(0, extra)
            result.extend(attempts)
        for index, attempt in enumerate(result):
            attempt.index = index
        return result

    def line_count(self) -> int:
        return sum(builder.parser.lines for builder in self.builders.values())
