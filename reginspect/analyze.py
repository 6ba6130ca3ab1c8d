"""From the model to results: pure functions of an attempt, and a cache keyed by revisions."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import compress
from typing import Any, Final, TypeVar, overload

from parsers.catalogue import describe
from parsers.logevents import REGISTER_KINDS, FailureKind, MessageKind, Status
from parsers.regids import Accel
from reginspect.advice import attempt_advice, register_names
from reginspect.model import (
    ACCELS,
    KINDS,
    STATUSES,
    Attempt,
    CpuState,
    LineRef,
    Phase,
    ProcessInfo,
    Session,
    joined_attempt,
)
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

# arm64 register groups only KVM puts in the cpreg list (register-ids.md): TCG's lists hold
# system registers alone.
_KVM_ONLY_GROUPS: Final = frozenset({0x10, 0x11, 0x14, 0x15, 0x16})


def id_accel(kvm_id: int) -> Accel:
    """What one register id in a CPU's migrated list tells of the accelerator: KVM's own groups
    (firmware registers, DEMUX, ...) only under KVM; AArch32 coprocessor ids only under TCG (an
    arm64 KVM list holds arm64 ids alone); anything else says nothing."""
    arch = kvm_id >> 56
    if arch == 0x60 and (kvm_id >> 16) & 0xFFF in _KVM_ONLY_GROUPS:
        return Accel.KVM
    if arch == 0x40:
        return Accel.TCG
    return Accel.UNKNOWN


# Per kind code (the compact store's): whether QEMU let the difference pass.
_TOLERATED: Final = tuple(REGISTER_KINDS.get(kind, (Status.MATCHED, False))[1] for kind in KINDS)
_RANK: Final = tuple(STATUS_RANK[status] for status in STATUSES)
# Per kind code: the status code a log's register message of that kind says (saved streams,
# whose kind says nothing of it, keep theirs per mention).
_KIND_STATUS: Final = tuple(
    STATUSES.index(REGISTER_KINDS.get(kind, (Status.MATCHED, False))[0]) for kind in KINDS
)
_EXTRA, _MISSING = STATUSES.index(Status.EXTRA), STATUSES.index(Status.MISSING)
_BY_PROPERTY = KINDS.index(MessageKind.XMIG_MISSING_AS_EXPECTED)


def _fold(cpu: CpuState) -> dict[int, list[int]]:
    """One CPU's mentions folded per register: id -> [winning mention, tolerated (0/1), the
    mentions whose lines are kept...]. The strongest status wins (x-mig traces name a
    destination register before saying it is missing); QEMU tolerated it if any mention says so.
    Positions index the CPU's arrays, so nothing is copied out of them."""
    folded: dict[int, list[int]] = {}
    statuses, kinds, lines, sources = cpu.statuses, cpu.kinds, cpu.lines, cpu.sources
    for position, kvm_id in enumerate(cpu.ids):
        entry = folded.get(kvm_id)
        tolerated = _TOLERATED[kinds[position]]
        if entry is None:
            entry = folded[kvm_id] = [position, tolerated]
        else:
            if _RANK[statuses[position]] > _RANK[statuses[entry[0]]]:
                entry[0] = position
            entry[1] |= tolerated
        # Line 0: a mention with no line (saved streams).
        if lines[position] and len(entry) - 2 < MAX_LINES:
            last = entry[-1] if len(entry) > 2 else -1
            if last < 0 or (lines[last], sources[last]) != (lines[position], sources[position]):
                entry.append(position)
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


_NO_VALUES: Final = (None, None)
# A named tuple made from a tuple of all its fields, without the Python-level __new__ its class
# has for keywords and defaults: a dense log makes a million register results.
_new: Final = tuple.__new__


# How to name a mention's register by the accelerator its line implies, falling back to the
# attempt's: per attempt accelerator, a tuple indexed by the store's accelerator codes.
_NAMING_ACCEL: Final = {
    attempt: tuple(named if named is not Accel.UNKNOWN else attempt for named in ACCELS)
    for attempt in Accel
}


def _cpu_result(cpu: CpuState, accel: Accel) -> CpuResult:
    """``accel``: the attempt's, to name a register whose own line does not tell (KVM and TCG
    name a few timer ids differently)."""
    statuses, kinds, accels, references = cpu.statuses, cpu.kinds, cpu.accels, cpu.references
    ids, lines, offsets, sources, values = cpu.ids, cpu.lines, cpu.offsets, cpu.sources, cpu.values
    instance = (cpu.instance,)
    naming = _NAMING_ACCEL[accel]
    registers = []
    if len(set(ids)) == len(ids):  # each register named once (QEMU 11.1): nothing to fold
        for position in sorted(range(len(ids)), key=ids.__getitem__):
            kvm_id, kind = ids[position], kinds[position]
            line = lines[position]
            stream_value, destination_value = values.get(kvm_id, _NO_VALUES)
            spot = (_new(LineRef, (sources[position], line, offsets[position])),) if line else ()
            fields = (
                kvm_id,
                describe(kvm_id, naming[accels[position]]),
                STATUSES[statuses[position]],
                _TOLERATED[kind],
                KINDS[kind],
                references[position],
                spot,
                instance,
                stream_value,
                destination_value,
            )
            registers.append(_new(RegisterResult, fields))
    else:
        for kvm_id, entry in sorted(_fold(cpu).items()):
            winner = entry[0]
            stream_value, destination_value = values.get(kvm_id, _NO_VALUES)
            registers.append(
                RegisterResult(
                    kvm_id,
                    describe(kvm_id, naming[accels[winner]]),
                    STATUSES[statuses[winner]],
                    bool(entry[1]),
                    KINDS[kinds[winner]],
                    references[winner],
                    tuple(LineRef(sources[at], lines[at], offsets[at]) for at in entry[2:]),
                    instance,
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


def outcome(attempt: Attempt, fatal: Iterable[int] = ()) -> tuple[Outcome, str]:
    """What became of the attempt, and why that word (``fatal``: the registers of the stream
    the destination does not know and did not tolerate)."""
    if attempt.from_streams:
        return Outcome.UNKNOWN, "saved streams show both lists, not whether QEMU loads them"
    phase = attempt.phase
    if phase is Phase.FAILED:
        return Outcome.FAILED, _failure_detail(attempt, sorted(fatal))
    if phase is Phase.GAVE_UP:
        return Outcome.FAILED, "QEMU stopped reading the stream before its end"
    if phase is Phase.LOADED:
        return Outcome.SUCCEEDED, "QEMU read the whole stream"
    if phase is Phase.RAN:
        reason = attempt.process.end_reason if attempt.process else None
        return Outcome.SUCCEEDED, f"the guest ran, then libvirt shut it down (reason={reason})"
    if attempt.cpus and phase in (Phase.CPU, Phase.LOADING):
        # Builds that trace only the comparison (the x-mig series) print nothing more when the
        # load succeeds: an attempt that the file ends after, or that a new attempt followed,
        # is over. Only the last attempt of a file still followed may yet print an error.
        if attempt.complete or attempt.closed:
            return Outcome.SUCCEEDED, "no error logged; QEMU prints nothing on success"
        return (
            Outcome.IN_PROGRESS,
            "the CPU state was read with no error so far; QEMU prints nothing on success",
        )
    if phase is Phase.LOADING:
        if attempt.complete:
            return Outcome.UNKNOWN, "the log ends while the stream was being read"
        return Outcome.IN_PROGRESS, "the stream is being read"
    if attempt.complete and attempt.process is not None and attempt.process.end_reason:
        return Outcome.UNKNOWN, f"libvirt ended the process (reason={attempt.process.end_reason})"
    return Outcome.IN_PROGRESS, "QEMU waits for the incoming stream; no error logged"


def _failure_detail(attempt: Attempt, fatal: list[int]) -> str:
    """Every reason the log gives for the failure, most telling first."""
    if attempt.properties:
        return "QEMU refused to start: a property could not be applied"
    reasons = []
    if fatal:
        names = _names(fatal, attempt)
        reasons.append(f"{names} in the stream {'is' if len(fatal) == 1 else 'are'} unknown here")
    if attempt.refused:
        names = _names([refused.kvm_id for refused in attempt.refused], attempt, Accel.KVM)
        reasons.append(f"the destination's KVM refused {names}")
    psci = next((e for e in attempt.errors if e.message is MessageKind.KVM_PSCI_UNSUPPORTED), None)
    if psci is not None:
        reasons.append(f"the destination's KVM does not offer PSCI {psci.detail}, set at start")
    state = next((e for e in attempt.errors if e.kind is FailureKind.STATE), None)
    if state is not None:
        reasons.append(f"the destination cannot read the stream's device state ({state.detail})")
    return "; ".join(reasons) or "QEMU said the load failed"


def _names(ids: list[int], attempt: Attempt, accel: Accel | None = None) -> str:
    return register_names(ids, 4, accel or _accel(attempt)[0])


# Id sets, counts and vCPU summaries repeat from attempt to attempt (the same two
# configurations, migrating again): one shared object each, so a million summaries hold few
# of them (bounded).
_Item = TypeVar("_Item")
_Value = TypeVar("_Value", bound=Hashable)
_INTERNED: dict[Any, Any] = {}
_INTERNED_AT_MOST: Final = 4096


def _interned(value: _Value) -> _Value:
    key = (type(value), value)  # a named tuple equals a plain tuple of the same fields
    kept: _Value | None = _INTERNED.get(key)
    if kept is not None:
        return kept
    if len(_INTERNED) >= _INTERNED_AT_MOST:
        _INTERNED.clear()
    _INTERNED[key] = value
    return value


def _shared(ids: set[_Item]) -> frozenset[_Item]:
    return _interned(frozenset(ids))


def shared_parts(summary: AttemptSummary) -> AttemptSummary:
    """``summary`` made of the shared objects ``summarize`` makes (a summary that crossed
    processes comes back with copies of its own)."""
    sets = summary.registers
    registers = sets._replace(
        fatal=_interned(sets.fatal),
        extra_allowed_by_property=_interned(sets.extra_allowed_by_property),
        extra_tolerated=_interned(sets.extra_tolerated),
        missing=_interned(sets.missing),
        missing_tolerated=_interned(sets.missing_tolerated),
        matched=_interned(sets.matched),
        value_differs=_interned(sets.value_differs),
    )
    return summary._replace(
        sources=_interned(summary.sources),
        dialects=_interned(summary.dialects),
        registers=registers,
        counts=_interned(summary.counts),
        cpus=_interned(
            tuple(_interned(cpu._replace(counts=_interned(cpu.counts))) for cpu in summary.cpus)
        ),
        hidden=_interned(summary.hidden),
    )


def _cpu_summary(cpu: CpuState, per_status: list[int]) -> CpuSummary:
    counts = tuple((status, per_status[STATUSES.index(status)]) for status in STATUS_ORDER)
    return _interned(
        CpuSummary(cpu.instance, cpu.stream_count, cpu.destination_count, _interned(counts))
    )


def summarize(attempt: Attempt) -> AttemptSummary:
    """The summary of an attempt (cheap: no names, no lines)."""
    accel, evidence = _accel(attempt)
    sets: dict[str, set[int]] = {
        name: set()
        for name in ("fatal", "by_property", "tolerated", "missing", "missing_tol", "matched")
    }
    differs: set[int] = set()
    stream_values: dict[int, int] = {}
    destination_values: dict[int, int] = {}
    by_ids: dict[Accel, MessageKind] = {}  # what the register ids tell of the accelerator
    cpus: list[CpuSummary] = []
    for cpu in attempt.sorted_cpus():
        per_status = [0] * len(STATUSES)
        statuses, kinds = cpu.statuses, cpu.kinds
        entries: Iterable[tuple[int, int, int, int]]
        once = len(set(cpu.ids)) == len(cpu.ids)  # each register named once: nothing to fold
        if once and not cpu.values and accel is not Accel.UNKNOWN:
            # A log's registers, by message kind (a kind says status and tolerance): whole
            # columns at a time, no loop per register here.
            for code in set(kinds):
                kind_status = _KIND_STATUS[code]
                chosen = compress(cpu.ids, map(code.__eq__, kinds))
                sets[_category(kind_status, _TOLERATED[code], code)].update(chosen)
                per_status[kind_status] += kinds.count(code)
            cpus.append(_cpu_summary(cpu, per_status))
            continue
        if once:
            tolerated_kinds = (_TOLERATED[kind] for kind in kinds)
            entries = zip(cpu.ids, statuses, kinds, tolerated_kinds, strict=True)
        else:
            entries = (
                (kvm_id, statuses[winner], kinds[winner], tolerated)
                for kvm_id, (winner, tolerated, *_) in _fold(cpu).items()
            )
        for kvm_id, status, kind, tolerated in entries:
            per_status[status] += 1
            sets[_category(status, tolerated, kind)].add(kvm_id)
            if accel is Accel.UNKNOWN:
                told = id_accel(kvm_id)
                if told is not Accel.UNKNOWN:
                    by_ids.setdefault(told, KINDS[kind])
            if not cpu.values:
                continue
            values = cpu.values.get(kvm_id)
            if values is not None:
                if values[0] is not None:
                    stream_values.setdefault(kvm_id, values[0])
                if values[1] is not None:
                    destination_values.setdefault(kvm_id, values[1])
                if values_differ(STATUSES[status], *values):
                    differs.add(kvm_id)
        cpus.append(_cpu_summary(cpu, per_status))
    if accel is Accel.UNKNOWN and len(by_ids) == 1:
        ((accel, evidence),) = by_ids.items()
    registers = RegisterSets(
        _shared(sets["fatal"]),
        _shared(sets["by_property"]),
        _shared(sets["tolerated"]),
        _shared(sets["missing"]),
        _shared(sets["missing_tol"]),
        _shared(sets["matched"]),
        _shared(differs),
        tuple(sorted(stream_values.items())),
        tuple(sorted(destination_values.items())),
    )
    verdict, detail = outcome(attempt, registers.fatal)
    # A register extra on one CPU and matched on another counts where it differs.
    extra, missing = registers.extra, registers.all_missing - registers.extra
    counts = _interned(
        (
            (Status.EXTRA, len(extra)),
            (Status.MISSING, len(missing)),
            (Status.MATCHED, len(registers.matched - extra - missing)),
        )
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
        _interned(tuple(attempt.sources)),
        attempt.revision,
        verdict,
        detail,
        attempt.naming,
        attempt.phase,
        _shared(attempt.dialects),
        accel,
        evidence,
        attempt.first_line,
        attempt.last_line,
        (attempt.process.time if attempt.process else None) or attempt.time,
        _process(attempt.process),
        registers,
        counts,
        _interned(tuple(cpus)),
        count_differs,
        tuple(attempt.properties),
        _shared(attempt.hidden),
        tuple(attempt.refused),
        len(attempt.errors),
        _process(attempt.source_process),
        tuple(
            dict.fromkeys(
                error.detail or error.text
                for error in attempt.errors
                if error.kind is FailureKind.STATE
            )
        ),
        next(
            (
                error.detail
                for error in attempt.errors
                if error.message is MessageKind.KVM_PSCI_UNSUPPORTED
            ),
            None,
        ),
    )


def _category(status: int, tolerated: int, kind: int) -> str:
    if status == _EXTRA:
        if not tolerated:
            return "fatal"
        return "by_property" if kind == _BY_PROPERTY else "tolerated"
    if status == _MISSING:
        return "missing_tol" if tolerated else "missing"
    return "matched"


def attempt_result(attempt: Attempt, summary: AttemptSummary | None = None) -> AttemptResult:
    """Everything about one attempt (``summary``: its summary, if already made)."""
    summary = summary or summarize(attempt)
    cpus = tuple(_cpu_result(cpu, summary.accel) for cpu in attempt.sorted_cpus())
    errors, warnings = tuple(attempt.errors), tuple(attempt.warnings)
    result = AttemptResult(summary, cpus, errors, warnings, tuple(attempt.problems), ())
    return result._replace(advice=attempt_advice(result))


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


# -- saved streams beside a log ----------------------------------------------------------------


def streams_target(attempts: Sequence[Attempt]) -> int | None:
    """Which of a log's attempts two saved streams describe: the last failed one, else the
    last one (None: the log has none yet)."""
    for index in range(len(attempts) - 1, -1, -1):
        if outcome(attempts[index])[0] is Outcome.FAILED:
            return index
    return len(attempts) - 1 if attempts else None


def _with_machine(process: ProcessInfo, machine: str) -> ProcessInfo:
    """A copy of a process description naming its machine type (a saved stream tells it)."""
    copy = ProcessInfo(
        process.origin,
        process.line,
        process.time,
        process.qemu_version,
        process.libvirt_version,
        machine=machine,
    )
    copy.cpu, copy.accel, copy.incoming = process.cpu, process.accel, process.incoming
    copy.binary, copy.hidden, copy.end_reason = process.binary, process.hidden, process.end_reason
    return copy


def with_streams(attempt: Attempt, compared: Attempt) -> Attempt:
    """A log's attempt completed by the comparison of two saved streams (``compared``, from
    ``reginspect.streams.build_attempt``): the log's outcome, errors and lines, with every
    register the streams show, their values, and the source's machine type."""
    process = attempt.process
    stream_process = compared.process
    if stream_process is not None and stream_process.machine:
        if process is None:
            process = stream_process
        elif not process.machine:
            process = _with_machine(process, stream_process.machine)
    merged = joined_attempt(
        attempt,
        compared,
        phase=attempt.phase,
        closed=attempt.closed,
        complete=attempt.complete,
        with_streams=True,
    )
    merged.errors = list(attempt.errors)
    merged.properties = list(attempt.properties)
    merged.warnings = list(attempt.warnings)
    merged.problems = list(attempt.problems)
    merged.dropped_lines = attempt.dropped_lines
    merged.refused = list(attempt.refused)
    merged.hidden = set(attempt.hidden)
    merged.process = process
    merged.dialects = set(attempt.dialects)
    merged.accels = {**compared.accels, **attempt.accels}
    merged.has_messages = attempt.has_messages
    merged.time = attempt.time
    merged.source_process = compared.source_process or attempt.source_process
    for instance in sorted(attempt.cpus.keys() | compared.cpus.keys()):
        logged, streamed = attempt.cpus.get(instance), compared.cpus.get(instance)
        cpu = logged.copy() if logged is not None else CpuState(instance)
        if streamed is not None:
            # The log's mentions first: their lines and message kinds lead; the streams add
            # every other register and the values.
            cpu.extend(streamed)
            if cpu.stream_count is None:
                cpu.stream_count = streamed.stream_count
            if cpu.destination_count is None:
                cpu.destination_count = streamed.destination_count
        merged.cpus[instance] = cpu
    return merged


class StreamsMerge:
    """Puts one comparison of saved streams into a log's attempts (``streams_target``), the
    merged attempt made again only when a part changed, so caches keyed by revision hold."""

    def __init__(self, compared: Attempt) -> None:
        self.compared = compared
        self._made: tuple[Attempt, int, Attempt] | None = None

    def apply(self, attempts: Sequence[Attempt]) -> list[Attempt]:
        result = list(attempts)
        target = streams_target(result)
        if target is None:
            self.compared.index = 0
            return [self.compared]
        attempt = result[target]
        made = self._made
        if made is None or made[0] is not attempt or made[1] != attempt.revision:
            made = (attempt, attempt.revision, with_streams(attempt, self.compared))
            self._made = made
        made[2].index = attempt.index
        result[target] = made[2]
        return result


Fixes = Callable[[Sequence[AttemptSummary]], Sequence[Suggestion]]


def session_report(
    session: Session,
    problems: Sequence[str] = (),
    fixes: Fixes = suggestions_for,
    compared: Attempt | None = None,
) -> Report:
    """The report of every attempt of a session, with the fixes for them (``fixes``: the
    suggestion engine, given the context of the run; ``compared``: two saved streams'
    comparison, which completes the attempt they describe)."""
    attempts = session.attempts()
    if compared is not None:
        attempts = StreamsMerge(compared).apply(attempts)
    summaries = tuple(summarize(attempt) for attempt in attempts)
    return Report(
        tuple(session.sources),
        summaries,
        LazyResults(attempts, summaries),
        tuple(fixes(summaries)),
        tuple(problems),
    )
