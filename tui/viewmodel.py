"""Immutable copies of what the screen shows, taken from the Session under the store's lock.

The readers mutate the model's attempts in place, so widgets never hold model objects: each
refresh builds a ``View`` of frozen rows (register names looked up once per id and cached). An
attempt that did not change since the last build keeps its ``AttemptView`` (``ViewCache``): with
dozens of attempts in a log, rebuilding all of them was most of a refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from parsers.catalogue import describe
from parsers.logevents import Status
from parsers.regids import Accel, format_id
from reginspect.advice import attempt_advice
from reginspect.model import (
    Attempt,
    CpuState,
    ErrorLine,
    Naming,
    Outcome,
    RegisterEntry,
    values_differ,
)
from tui.store import SourceStatus, Store

_STATUS_ORDER = {Status.EXTRA: 0, Status.MISSING: 1, Status.MATCHED: 2}


@dataclass(frozen=True, slots=True)
class Spot:
    """A line of a source (a LineRef, copied)."""

    source: str
    line: int
    offset: int


@dataclass(frozen=True, slots=True)
class RegisterInfoView:
    name: str
    aliases: tuple[str, ...]
    kind: str
    encoding: str
    fields: tuple[tuple[str, str], ...]
    known: bool
    qemu_key: str
    note: str

    @property
    def generic(self) -> str:
        """``S3_0_C1_C2_0``, the form kernels and assemblers print for a system register."""
        fields = dict(self.fields)
        try:
            op0, op1, crn, crm, op2 = (fields[k] for k in ("op0", "op1", "CRn", "CRm", "op2"))
        except KeyError:
            return ""
        return f"S{op0}_{op1}_C{crn}_C{crm}_{op2}"


@dataclass(frozen=True, slots=True)
class RegisterRow:
    kvm_id: int
    id_text: str  # parsers.regids.format_id: 0x%016x, as the table and suggestions show it
    info: RegisterInfoView
    status: Status
    tolerated: bool
    raw: str
    evidence: str
    lines: tuple[Spot, ...]
    cpus: tuple[int, ...]
    stream_value: int | None = None
    destination_value: int | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def first_line(self) -> int | None:
        return self.lines[0].line if self.lines else None

    @property
    def value_differs(self) -> bool:
        return values_differ(self.status, self.stream_value, self.destination_value)

    def matches(self, text: str) -> bool:
        """Type-to-filter and search: name, aliases, id (any spelling), kind, case-insensitive."""
        needle = text.strip().lower()
        if not needle:
            return True
        haystack = [self.info.name, *self.info.aliases, self.id_text, self.raw]
        haystack += [self.info.kind, self.info.qemu_key, f"{self.kvm_id:x}", self.info.encoding]
        haystack.append(self.info.generic)
        return any(needle in item.lower() for item in haystack if item)


@dataclass(frozen=True, slots=True)
class CpuView:
    instance: int
    stream_count: int | None
    destination_count: int | None
    registers: tuple[RegisterRow, ...]
    first_line: Spot | None

    def count(self, status: Status) -> int:
        return sum(1 for row in self.registers if row.status is status)


@dataclass(frozen=True, slots=True)
class ErrorView:
    source: str
    line: int
    offset: int
    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class AttemptView:
    index: int
    source: str
    sources: tuple[str, ...]
    outcome: Outcome
    naming: Naming
    first_line: int
    last_line: int
    cpus: tuple[CpuView, ...]
    errors: tuple[ErrorView, ...]
    warnings: tuple[ErrorView, ...]
    advice: tuple[str, ...]
    qemu: str  # "QEMU 11.1.3, -machine virt, -cpu max" or ""

    def registers(self, cpu: int | None = None) -> tuple[RegisterRow, ...]:
        """One CPU's registers, or (cpu None) every CPU's merged by id."""
        if cpu is not None:
            for view in self.cpus:
                if view.instance == cpu:
                    return view.registers
            return ()
        if len(self.cpus) == 1:
            return self.cpus[0].registers
        merged: dict[int, RegisterRow] = {}
        for view in self.cpus:
            for row in view.registers:
                seen = merged.get(row.kvm_id)
                if seen is None:
                    merged[row.kvm_id] = row
                    continue
                cpus = tuple(sorted({*seen.cpus, *row.cpus}))
                keep = row if _STATUS_ORDER[row.status] < _STATUS_ORDER[seen.status] else seen
                merged[row.kvm_id] = _with_cpus(keep, cpus, seen.lines + row.lines)
        return tuple(sorted(merged.values(), key=lambda row: row.kvm_id))

    def count(self, status: Status, cpu: int | None = None) -> int:
        return sum(1 for row in self.registers(cpu) if row.status is status)

    def error_spots(self) -> list[Spot]:
        """Lines ``e``/``E`` step through: failures and the registers that caused them."""
        spots = {(e.source, e.line): Spot(e.source, e.line, e.offset) for e in self.errors}
        for row in self.registers():
            if row.status is Status.EXTRA and not row.tolerated:
                for spot in row.lines:
                    spots.setdefault((spot.source, spot.line), spot)
        return sorted(spots.values(), key=lambda spot: (spot.source, spot.line))


def _with_cpus(row: RegisterRow, cpus: tuple[int, ...], lines: tuple[Spot, ...]) -> RegisterRow:
    unique = tuple(dict.fromkeys(lines))[:64]
    return RegisterRow(
        row.kvm_id,
        row.id_text,
        row.info,
        row.status,
        row.tolerated,
        row.raw,
        row.evidence,
        tuple(sorted(unique, key=lambda spot: (spot.source, spot.line))),
        cpus,
        row.stream_value,
        row.destination_value,
    )


@dataclass(frozen=True, slots=True)
class SuggestionView:
    property: str
    side: str
    ids: tuple[str, ...]
    value: str
    forms: tuple[tuple[str, str], ...]  # (form, text) for the forms that apply
    reason: str
    applies_to: str

    def covers(self, row: RegisterRow) -> bool:
        return row.id_text in self.ids


@dataclass(frozen=True, slots=True)
class SourceView:
    name: str
    path: str
    status: SourceStatus
    message: str
    lines: int
    size: int
    total: int
    done: int
    epoch: int
    compressed: str | None


@dataclass(frozen=True, slots=True)
class View:
    generation: int
    sources: tuple[SourceView, ...]
    attempts: tuple[AttemptView, ...]
    suggestions: tuple[SuggestionView, ...]
    suggestion_error: str = ""

    @property
    def reading(self) -> bool:
        return any(source.status is SourceStatus.READING for source in self.sources)

    def source(self, name: str) -> SourceView | None:
        return next((source for source in self.sources if source.name == name), None)

    def covering(self, row: RegisterRow) -> list[SuggestionView]:
        return [suggestion for suggestion in self.suggestions if suggestion.covers(row)]


EMPTY_VIEW = View(-1, (), (), ())

# -- building -----------------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _fields(value: object) -> tuple[tuple[str, str], ...]:
    """The catalogue's decoded fields, whatever container it uses, as (name, value) pairs."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple((str(key), _text(item)) for key, item in value.items())
    if isinstance(value, str):
        return (("", value),)
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Iterable):
        for item in value:
            if isinstance(item, tuple) and len(item) == 2:
                pairs.append((str(item[0]), _text(item[1])))
            elif hasattr(item, "name"):
                pairs.append((str(item.name), _text(getattr(item, "value", ""))))
            else:
                pairs.append(("", str(item)))
    return tuple(pairs)


def _key(value: object) -> str:
    """QEMU's cpreg key in hex, as QEMU prints it."""
    return f"0x{value:x}" if isinstance(value, int) else _text(value)


@lru_cache(maxsize=8192)
def register_info(kvm_id: int, accel: Accel) -> RegisterInfoView:
    info = describe(kvm_id, accel)
    aliases = tuple(str(alias) for alias in (info.aliases or ()))
    return RegisterInfoView(
        _text(info.name),
        aliases,
        _text(info.kind),
        _text(info.encoding),
        _fields(info.fields),
        bool(info.known),
        _key(info.qemu_key),
        _text(info.note),
    )


def _row(entry: RegisterEntry, cpu: int) -> RegisterRow:
    return RegisterRow(
        entry.kvm_id,
        format_id(entry.kvm_id),
        register_info(entry.kvm_id, entry.accel),
        entry.status,
        entry.tolerated,
        entry.raw,
        entry.evidence,
        tuple(Spot(ref.source, ref.line, ref.offset) for ref in entry.lines),
        (cpu,),
        entry.stream_value,
        entry.destination_value,
    )


def _cpu(cpu: CpuState) -> CpuView:
    rows = tuple(_row(entry, cpu.instance) for entry in sorted(cpu.registers.values(), key=_id))
    first = cpu.first_line
    return CpuView(
        cpu.instance,
        cpu.stream_count,
        cpu.destination_count,
        rows,
        None if first is None else Spot(first.source, first.line, first.offset),
    )


def _id(entry: RegisterEntry) -> int:
    return entry.kvm_id


def _error(error: ErrorLine) -> ErrorView:
    return ErrorView(error.source, error.line, error.offset, error.text, str(error.kind))


def _qemu(attempt: Attempt) -> str:
    process = attempt.process
    if process is None:
        return ""
    parts = [
        f"QEMU {process.qemu_version}" if process.qemu_version else "",
        f"-machine {process.machine}" if process.machine else "",
        f"-cpu {process.cpu}" if process.cpu else "",
        f"-accel {process.accel}" if process.accel else "",
    ]
    return ", ".join(part for part in parts if part)


def attempt_view(attempt: Attempt) -> AttemptView:
    return AttemptView(
        attempt.index,
        attempt.source,
        tuple(attempt.sources),
        attempt.outcome,
        attempt.naming,
        attempt.first_line,
        attempt.last_line,
        tuple(_cpu(cpu) for cpu in attempt.sorted_cpus()),
        tuple(_error(error) for error in attempt.errors),
        tuple(_error(error) for error in attempt.warnings[:200]),
        tuple(attempt_advice(attempt)),
        _qemu(attempt),
    )


def suggestion_view(data: Mapping[str, Any]) -> SuggestionView:
    forms = data.get("forms") or {}
    return SuggestionView(
        _text(data.get("property")),
        _text(data.get("side")),
        tuple(str(item) for item in data.get("ids") or ()),
        _text(data.get("value")),
        tuple((str(form), str(text)) for form, text in forms.items() if text),
        _text(data.get("reason")),
        _text(data.get("applies_to")),
    )


def suggestions_json(attempts: Sequence[Attempt]) -> list[dict[str, Any]]:
    """``reginspect.suggest`` as report JSON (the shape the pane is built against)."""
    from reginspect import suggest

    made = suggest.suggestions_for(attempts)
    return [item if isinstance(item, dict) else item.to_json() for item in made]


def _fingerprint(attempt: Attempt) -> tuple[object, ...]:
    """What changes whenever anything an AttemptView, the advice or the suggestions read of
    ``attempt`` changes. The model only grows an attempt: every register, count, failure and
    completion moves ``last_line``; messages, problems and hidden ids only lengthen lists and
    sets; the process (shared by the attempts of one QEMU) gains its details in place."""
    process = attempt.process
    return (
        attempt.index,
        attempt.source,
        attempt.first_line,
        attempt.last_line,
        attempt.explicit,
        attempt.started,
        attempt.completed,
        attempt.cleaned_up,
        attempt.closed,
        attempt.failed,
        attempt.has_messages,
        len(attempt.errors),
        len(attempt.warnings),
        len(attempt.problems),
        len(attempt.properties),
        len(attempt.hidden),
        len(attempt.sources),
        frozenset(attempt.styles),
        None
        if process is None
        else (
            id(process),
            process.end_reason,
            process.qemu_version,
            process.machine,
            process.cpu,
            process.accel,
            len(process.hidden),
        ),
        tuple(
            (id(cpu), at, cpu.instance, cpu.stream_count, cpu.destination_count, len(cpu.registers))
            for at, cpu in attempt.cpus.items()
        ),
    )


class ViewCache:
    """What the last build made, for the next one to reuse: the view of every attempt that did
    not change, and the suggestions while no attempt changed. Entries hold their attempt, so an
    attempt's id() cannot be reused by another while its entry lives."""

    def __init__(self) -> None:
        self.attempts: dict[int, tuple[Attempt, tuple[object, ...], AttemptView]] = {}
        self.suggestions: tuple[list[object], tuple[SuggestionView, ...], str] | None = None


def build_view(store: Store, cache: ViewCache | None = None) -> View:
    """Copy everything shown; takes the store's lock for the time of the copy. With a
    ``cache``, the attempts that did not change since the last build keep their views."""
    with store.lock:
        session = store.session
        attempts = session.attempts()
        for attempt in store.stream_attempts:
            attempt.index = len(attempts)
            attempts.append(attempt)
        views: list[AttemptView] = []
        made: dict[int, tuple[Attempt, tuple[object, ...], AttemptView]] = {}
        for attempt in attempts:
            fingerprint = _fingerprint(attempt) if cache is not None else ()
            entry = None if cache is None else cache.attempts.get(id(attempt))
            if entry is not None and entry[0] is attempt and entry[1] == fingerprint:
                view = entry[2]
            else:
                view = attempt_view(attempt)
            views.append(view)
            made[id(attempt)] = (attempt, fingerprint, view)
        key: list[object] = [(id(attempt), made[id(attempt)][1]) for attempt in attempts]
        if cache is not None and cache.suggestions is not None and cache.suggestions[0] == key:
            _, suggestions, error = cache.suggestions
        else:
            error = ""
            try:
                suggestions = tuple(suggestion_view(item) for item in suggestions_json(attempts))
            except Exception as exc:  # the suggestion engine must not take the viewer down
                suggestions, error = (), f"{type(exc).__name__}: {exc}"
        if cache is not None:
            cache.attempts = made
            cache.suggestions = (key, suggestions, error)
        return View(
            session.generation,
            tuple(
                SourceView(
                    source.name,
                    source.path,
                    source.status,
                    source.message,
                    source.index.line_count,
                    source.index.size,
                    source.total,
                    source.done,
                    source.epoch,
                    source.compressed,
                )
                for source in store.sources.values()
            ),
            tuple(views),
            suggestions,
            error,
        )
