"""From the model to results: pure functions of an attempt, and a cache keyed by revisions."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

from parsers.catalogue import RegisterInfo, describe
from parsers.logevents import MessageKind, Status
from parsers.regids import Accel
from reginspect.advice import attempt_advice
from reginspect.model import Attempt, CpuState, LineRef, Phase, ProcessInfo, Session
from reginspect.results import (
    MAX_LINES,
    STATUS_ORDER,
    STATUS_RANK,
    AttemptResult,
    AttemptSummary,
    CpuResult,
    CpuSummary,
    Outcome,
    QemuProcess,
    RegisterResult,
    RegisterSets,
    Report,
    Suggestion,
    values_differ,
)
from reginspect.suggest import suggestions_for


class _Fold:
    """One register's mentions for one CPU, folded: the strongest status wins (x-mig traces
    name a destination register before saying it is missing)."""

    __slots__ = ("accel", "kind", "lines", "reference", "status", "tolerated")

    def __init__(
        self, status: Status, tolerated: bool, kind: MessageKind, accel: Accel, ref: str
    ) -> None:
        self.status = status
        self.tolerated = tolerated
        self.kind = kind
        self.accel = accel
        self.reference = ref
        self.lines: list[LineRef] = []


def _fold(cpu: CpuState) -> dict[int, _Fold]:
    folded: dict[int, _Fold] = {}
    for note in cpu.notes():
        entry = folded.get(note.kvm_id)
        if entry is None:
            entry = folded[note.kvm_id] = _Fold(
                note.status, note.tolerated, note.kind, note.accel, note.reference
            )
        elif STATUS_RANK[note.status] > STATUS_RANK[entry.status]:
            entry.status, entry.kind, entry.reference = note.status, note.kind, note.reference
        entry.tolerated = entry.tolerated or note.tolerated
        # Line 0: a mention with no line (saved streams).
        if (
            note.line.line
            and len(entry.lines) < MAX_LINES
            and (not entry.lines or entry.lines[-1][:2] != note.line[:2])
        ):
            entry.lines.append(note.line)
    return folded


def _accel(attempt: Attempt) -> tuple[Accel, MessageKind | None]:
    """The attempt's accelerator: the command line's word first, then what its lines imply."""
    for accel, kind in attempt.accels.items():
        if kind is MessageKind.COMMAND_LINE:
            return accel, kind
    known = [(accel, kind) for accel, kind in attempt.accels.items() if accel is not Accel.UNKNOWN]
    if len({accel for accel, _ in known}) == 1:
        return known[0]
    return Accel.UNKNOWN, None


def _describe(kvm_id: int, accel: Accel, fallback: Accel) -> RegisterInfo:
    return describe(kvm_id, accel if accel is not Accel.UNKNOWN else fallback)


def _cpu_result(cpu: CpuState, accel: Accel) -> CpuResult:
    registers = []
    for kvm_id, entry in sorted(_fold(cpu).items()):
        stream_value, destination_value = cpu.values.get(kvm_id, (None, None))
        registers.append(
            RegisterResult(
                kvm_id,
                _describe(kvm_id, entry.accel, accel),
                entry.status,
                entry.tolerated,
                entry.kind,
                entry.reference,
                tuple(entry.lines),
                (cpu.instance,),
                stream_value,
                destination_value,
            )
        )
    return CpuResult(
        cpu.instance, cpu.stream_count, cpu.destination_count, tuple(registers), cpu.first_line
    )


def _process(process: ProcessInfo | None) -> QemuProcess | None:
    if process is None:
        return None
    return QemuProcess(
        process.origin,
        process.line,
        process.time,
        process.qemu_version,
        process.libvirt_version,
        process.machine,
        process.cpu,
        process.accel,
        process.incoming,
        process.binary,
        process.end_reason,
    )


def outcome(attempt: Attempt) -> tuple[Outcome, str]:
    """What became of the attempt, and why that word."""
    if attempt.from_streams:
        return Outcome.UNKNOWN, "saved streams show both lists, not whether QEMU loads them"
    phase = attempt.phase
    if phase is Phase.FAILED:
        return Outcome.FAILED, _failure_detail(attempt)
    if phase is Phase.GAVE_UP:
        return Outcome.FAILED, "QEMU stopped reading the stream before its end"
    if phase is Phase.LOADED:
        return Outcome.SUCCEEDED, "QEMU read the whole stream"
    if phase is Phase.RAN:
        reason = attempt.process.end_reason if attempt.process else None
        return Outcome.SUCCEEDED, f"the guest ran, then libvirt shut it down (reason={reason})"
    if attempt.cpus and phase in (Phase.CPU, Phase.LOADING):
        if attempt.complete:
            return Outcome.SUCCEEDED, "no error logged; QEMU prints nothing on success"
        return Outcome.IN_PROGRESS, "the CPU state was read with no error so far"
    if phase is Phase.LOADING:
        if attempt.complete:
            return Outcome.UNKNOWN, "the log ends while the stream was being read"
        return Outcome.IN_PROGRESS, "the stream is being read"
    if attempt.complete and attempt.process is not None and attempt.process.end_reason:
        return Outcome.UNKNOWN, f"libvirt ended the process (reason={attempt.process.end_reason})"
    return Outcome.IN_PROGRESS, "QEMU waits for the incoming stream; no error logged"


def _failure_detail(attempt: Attempt) -> str:
    if attempt.properties:
        return "QEMU refused to start: a property could not be applied"
    if attempt.refused:
        return "the destination's KVM refused a register of the CPU state"
    if not attempt.errors:
        return "a register of the stream is unknown on the destination"
    return "QEMU said the load failed"


def summarize(attempt: Attempt) -> AttemptSummary:
    """The summary of an attempt (cheap: no names, no lines)."""
    verdict, detail = outcome(attempt)
    accel, evidence = _accel(attempt)
    sets: dict[str, set[int]] = {
        name: set()
        for name in ("fatal", "by_property", "tolerated", "missing", "missing_tol", "matched")
    }
    differs: set[int] = set()
    stream_values: dict[int, int] = {}
    cpus: list[CpuSummary] = []
    for cpu in attempt.sorted_cpus():
        folded = _fold(cpu)
        per_status = Counter(entry.status for entry in folded.values())
        cpus.append(
            CpuSummary(
                cpu.instance,
                cpu.stream_count,
                cpu.destination_count,
                tuple((status, per_status[status]) for status in STATUS_ORDER),
            )
        )
        for kvm_id, entry in folded.items():
            sets[_category(entry)].add(kvm_id)
            values = cpu.values.get(kvm_id)
            if values is not None:
                if values[0] is not None:
                    stream_values.setdefault(kvm_id, values[0])
                if values_differ(entry.status, *values):
                    differs.add(kvm_id)
    registers = RegisterSets(
        frozenset(sets["fatal"]),
        frozenset(sets["by_property"]),
        frozenset(sets["tolerated"]),
        frozenset(sets["missing"]),
        frozenset(sets["missing_tol"]),
        frozenset(sets["matched"]),
        frozenset(differs),
        tuple(sorted(stream_values.items())),
    )
    # A register extra on one CPU and matched on another counts where it differs.
    extra, missing = registers.extra, registers.all_missing - registers.extra
    counts = (
        (Status.EXTRA, len(extra)),
        (Status.MISSING, len(missing)),
        (Status.MATCHED, len(registers.matched - extra - missing)),
    )
    count_differs = any(
        cpu.stream_count is not None
        and cpu.destination_count is not None
        and cpu.stream_count != cpu.destination_count
        for cpu in attempt.cpus.values()
    )
    return AttemptSummary(
        attempt.index,
        attempt.source,
        tuple(attempt.sources),
        attempt.revision,
        verdict,
        detail,
        attempt.naming,
        attempt.phase,
        frozenset(attempt.dialects),
        accel,
        evidence,
        attempt.first_line,
        attempt.last_line,
        (attempt.process.time if attempt.process else None) or attempt.time,
        _process(attempt.process),
        registers,
        counts,
        tuple(cpus),
        count_differs,
        tuple(attempt.properties),
        frozenset(attempt.hidden),
        tuple(attempt.refused),
        len(attempt.errors),
    )


def _category(entry: _Fold) -> str:
    if entry.status is Status.EXTRA:
        if not entry.tolerated:
            return "fatal"
        return "by_property" if entry.kind is MessageKind.XMIG_MISSING_AS_EXPECTED else "tolerated"
    if entry.status is Status.MISSING:
        return "missing_tol" if entry.tolerated else "missing"
    return "matched"


def attempt_result(attempt: Attempt, summary: AttemptSummary | None = None) -> AttemptResult:
    """Everything about one attempt (``summary``: its summary, if already made)."""
    summary = summary or summarize(attempt)
    cpus = tuple(_cpu_result(cpu, summary.accel) for cpu in attempt.sorted_cpus())
    errors, warnings = tuple(attempt.errors), tuple(attempt.warnings)
    result = AttemptResult(summary, cpus, errors, warnings, tuple(attempt.problems), ())
    return dataclasses.replace(result, advice=attempt_advice(result))


class ResultCache:
    """Summaries and results of a session's attempts, made again only for attempts whose
    revision moved. Entries hold their attempt, so an id() is not reused while its entry lives."""

    def __init__(self) -> None:
        self._summaries: dict[int, tuple[Attempt, AttemptSummary]] = {}
        self._results: dict[int, tuple[Attempt, AttemptResult]] = {}

    def summaries(self, attempts: Iterable[Attempt]) -> tuple[AttemptSummary, ...]:
        made: dict[int, tuple[Attempt, AttemptSummary]] = {}
        for attempt in attempts:
            entry = self._summaries.get(id(attempt))
            if (
                entry is None
                or entry[0] is not attempt
                or entry[1].revision != attempt.revision
                or entry[1].index != attempt.index
            ):
                entry = (attempt, summarize(attempt))
            made[id(attempt)] = entry
        self._summaries = made
        return tuple(summary for _, summary in made.values())

    def result(self, attempt: Attempt) -> AttemptResult:
        entry = self._results.get(id(attempt))
        summary = self._summaries.get(id(attempt))
        if (
            entry is not None
            and entry[0] is attempt
            and entry[1].summary.revision == attempt.revision
            and entry[1].summary.index == attempt.index
        ):
            return entry[1]
        reuse = summary[1] if summary is not None and summary[0] is attempt else None
        if reuse is not None and (
            reuse.revision != attempt.revision or reuse.index != attempt.index
        ):
            reuse = None
        result = attempt_result(attempt, reuse)
        # Results are big: keep the few the screen asks for again and again.
        if len(self._results) > 64:
            self._results.clear()
        self._results[id(attempt)] = (attempt, result)
        return result


class LazyResults(Sequence[AttemptResult]):
    """Every attempt's result, made when asked for and not kept: a report of thousands of
    attempts renders one at a time and never holds them all."""

    def __init__(self, attempts: Sequence[Attempt], summaries: Sequence[AttemptSummary]) -> None:
        self._attempts = attempts
        self._summaries = summaries

    def __len__(self) -> int:
        return len(self._attempts)

    @overload
    def __getitem__(self, index: int) -> AttemptResult: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[AttemptResult]: ...

    def __getitem__(self, index: int | slice) -> AttemptResult | Sequence[AttemptResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return attempt_result(self._attempts[index], self._summaries[index])

    def __iter__(self) -> Iterator[AttemptResult]:
        for attempt, summary in zip(self._attempts, self._summaries, strict=True):
            yield attempt_result(attempt, summary)


Fixes = Callable[[Sequence[AttemptSummary]], Sequence[Suggestion]]


def session_report(
    session: Session, problems: Sequence[str] = (), fixes: Fixes = suggestions_for
) -> Report:
    """The report of every attempt of a session, with the fixes for them (``fixes``: the
    suggestion engine, given the context of the run)."""
    attempts = session.attempts()
    summaries = tuple(summarize(attempt) for attempt in attempts)
    return Report(
        tuple(session.sources),
        summaries,
        LazyResults(attempts, summaries),
        tuple(fixes(summaries)),
        tuple(problems),
    )
