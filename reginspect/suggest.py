"""Suggested fixes, each true for the QEMU it names: one engine for report, suggest, compare and
the TUI.

Three routes (``Route``):
- x-mig series builds: ``x-mig-safe-missing-regs`` on the destination lets registers of the
  stream that the destination lacks be skipped; ``x-mig-hidden-regs`` on a side removes
  registers from its list. An array property can be set once: where the machine type's compat
  already sets it (``reginspect.xmig``), no command-line form can extend it, and only the other
  property on the other side, or a change to the machine type in the source code, works.
- upstream QEMU >= 11.1 and backports: tolerances registered in code
  (``reginspect.tolerances``); "run 11.1 on the destination" only where 11.1's own tolerances
  cover every failing register for the attempt's accelerator.
- any QEMU: the same -cpu and machine type on both ends, and the traces that make that QEMU
  name the registers.
A hidden or tolerated register is not migrated (the destination keeps its reset value): every
such fix says so, with the values at stake when saved streams show them.

``fix_context`` gathers what is known of each side from the summaries and the command line
(``FixOptions``), so every entry point builds the engine's input the same way.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final, NamedTuple

from parsers.catalogue import describe, lookup_name
from parsers.lazyre import LazyPattern
from parsers.logevents import Dialect, MessageKind, Status
from parsers.regforms import parse_reference
from parsers.regids import Accel, RegisterIdError, format_id
from reginspect.advice import (
    COMPARE_ROUTE,
    TRACE_OPTIONS_11,
    register_names,
    xmig_trace_options,
)
from reginspect.configuration import (
    PSCI_VERSION,
    differs_in_configuration,
    gate_phrase,
    psci_version,
)
from reginspect.model import Naming, Origin, RefusedRegister, release
from reginspect.results import AttemptSummary, End, Form, Outcome, Route, Suggestion
from reginspect.tolerances import BUILTINS, Verdict, judge, patch_lines
from reginspect.xmig import (
    DRIVER,
    HIDDEN,
    PROPERTIES,
    SAFE_MISSING,
    SERIES_NAMES,
    CompatStyle,
    MachineCompat,
    Posting,
    names,
    postings_for,
    setting_machines,
)
from reginspect.xmig import machine_version as xmig_machine_version

XMIG = "x-mig series"
STOCK = "stock qemu"
LIBVIRT_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
NOT_MIGRATED = (
    "A hidden or tolerated register is not migrated: the destination keeps its reset value, so "
    "this is safe only for registers the guest does not use"
)


class SettingError(ValueError):
    """A property value the user gave that QEMU would not take; str() is one sentence."""


# -- values -------------------------------------------------------------------------------------

_SETTING = LazyPattern(r"^\s*(?:-global\s+)?(?:[\w-]+\.)?(x-mig-[\w-]+)\s*=(.*)$", re.S)
# arm_virt_aggregate_x_mig_props() (x-mig v5/v6) writes decimal ids joined by ", ".
_AGGREGATED = LazyPattern(r"^\d+(?:, \d+)*$")


class Setting(NamedTuple):
    """A property value given on the command line: its ids, and how names were read."""

    property: str
    ids: frozenset[int]
    notes: tuple[str, ...] = ()


def parse_id_list(text: str, property_name: str, notes: list[str] | None = None) -> set[int]:
    """The ids of an array property value: comma-separated ids (hex or decimal) or names. A
    name the series' own source defines (DBGDTRTX) is read as the series means it, with a note
    appended to ``notes``."""
    ids: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if re.fullmatch(r"(?:0x)?[0-9a-fA-F]+-(?:0x)?[0-9a-fA-F]+", item):
            raise SettingError(
                f"{property_name}: {item!r} is a range; list register ids one by one."
            )
        ids.add(_one_id(item, property_name, notes))
    return ids


def _one_id(item: str, property_name: str, notes: list[str] | None) -> int:
    try:
        if re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", item):
            return parse_reference(f"0x{int(item, 0):x}").kvm_id
        return parse_reference(item).kvm_id
    except RegisterIdError:
        pass
    found = lookup_name(item)
    if len(found) == 1:
        return found[0]
    series = SERIES_NAMES.get(item.lower())
    if series is not None and series in found:
        if notes is not None:
            others = ", ".join(format_id(kvm_id) for kvm_id in found if kvm_id != series)
            notes.append(
                f"{property_name}: {item} read as {format_id(series)}, the id the x-mig series "
                f"means by it (not {others})."
            )
        return series
    if len(found) > 1:
        choices = ", ".join(format_id(kvm_id) for kvm_id in found)
        raise SettingError(f"{property_name}: the name {item!r} fits several ids ({choices}).")
    raise SettingError(f"{property_name}: {item!r} is not an Arm register id or name.")


def parse_setting(text: str) -> Setting:
    """``x-mig-safe-missing-regs=0x...,NAME`` (optionally ``arm-cpu.`` or ``-global``)."""
    match = _SETTING.match(text)
    if not match:
        raise SettingError(
            f"{text!r} is not PROPERTY=IDS with PROPERTY one of {', '.join(PROPERTIES)}."
        )
    name = match.group(1)
    if name not in PROPERTIES:
        raise SettingError(f"{name} is not an x-mig property; use one of {', '.join(PROPERTIES)}.")
    notes: list[str] = []
    ids = parse_id_list(match.group(2), name, notes)
    return Setting(name, frozenset(ids), tuple(notes))


def format_value(ids: Iterable[int]) -> str:
    """The value QEMU's array property parser takes: sorted, comma-separated hex, no spaces."""
    return ",".join(format_id(kvm_id) for kvm_id in sorted(set(ids)))


def command_line_forms(property_name: str, value: str) -> tuple[tuple[Form, str], ...]:
    setting = f"{DRIVER}.{property_name}={value}"
    return (
        (Form.COMMAND_LINE, f"-global {setting}"),
        (
            Form.LIBVIRT,
            f"<domain type='kvm' xmlns:qemu='{LIBVIRT_NS}'>\n"
            "  <qemu:commandline>\n"
            "    <qemu:arg value='-global'/>\n"
            f"    <qemu:arg value='{setting}'/>\n"
            "  </qemu:commandline>\n"
            "</domain>",
        ),
    )


def compat_form(
    property_name: str, compat: MachineCompat, wanted: frozenset[int], kept: frozenset[int]
) -> str:
    """The change to the machine type's compat in hw/arm/virt.c that sets ``wanted`` (with
    ``kept``, what is set already), in the form of each posting the build may carry: v5/v6 one
    ``arm_virt_compat_register_*_reg(vmc, ID)`` call per id the compat lacks (a GlobalProperty
    for the property there is a second setting, and aborts); v2-v4 the one GlobalProperty of
    the property for that machine type, holding the aggregated value."""
    postings = compat.postings
    machine = compat.machine or "the machine type"
    function = compat.options_function()
    parts: list[str] = []
    calls = [p for p in postings if p.style is CompatStyle.REGISTER_CALLS]
    if calls:
        new = sorted(wanted - compat.ids(property_name, CompatStyle.REGISTER_CALLS))
        helper = (
            "arm_virt_compat_register_safe_missing_reg"
            if property_name == SAFE_MISSING
            else "arm_virt_compat_register_hidden_reg"
        )
        if new:
            parts.append(f"/* x-mig {names(calls)}: in {function} */")
            parts.extend(
                f"{helper}(vmc, 0x{kvm_id:x}); /* {describe(kvm_id).name} */" for kvm_id in new
            )
        else:
            parts.append(f"/* x-mig {names(calls)}: {machine}'s compat already holds them */")
    globals_ = [p for p in postings if p.style is CompatStyle.GLOBAL_PROPERTY]
    if globals_:
        value = wanted | kept | compat.ids(property_name, CompatStyle.GLOBAL_PROPERTY)
        inherited = ""
        if compat.sets(property_name) is not False:
            inherited = (
                "; it replaces every other entry for it in the levels this machine type "
                "applies (its own, and the newer ones its options function calls)"
            )
        parts.append(
            f"/* x-mig {names(globals_)}: the only {property_name} entry {machine} applies, in "
            f"{function}{inherited} */"
        )
        parts.append(f'{{ TYPE_ARM_CPU, "{property_name}", "{format_value(value)}" }},')
    return "\n".join(parts)


# -- what is known ------------------------------------------------------------------------------


class FixOptions(NamedTuple):
    """What the command line says of the two ends (--have, --src-cpu, ...)."""

    have: tuple[Setting, ...] = ()
    src_cpu: str | None = None
    dst_cpu: str | None = None
    src_machine: str | None = None
    dst_machine: str | None = None

    def have_ids(self, property_name: str) -> frozenset[int]:
        return frozenset(
            kvm_id for s in self.have if s.property == property_name for kvm_id in s.ids
        )


class Side(NamedTuple):
    """One end of the migration, as far as anything tells."""

    name: End
    machine: str | None
    machine_from: str  # where the machine type was read
    cpu: str | None
    compat: MachineCompat

    def machine_text(self) -> str:
        if self.machine is None:
            return f"the {self.name}'s machine type"
        return f"{self.machine} ({self.machine_from})"


class Findings(NamedTuple):
    """What the attempts show, every attempt merged."""

    fatal: frozenset[int]  # extra, not tolerated: the load fails on them
    allowed: frozenset[int]  # extra, let through by x-mig-safe-missing-regs
    extra_tolerated: frozenset[int]  # extra, let through by QEMU 11.1
    missing: frozenset[int]  # missing, not tolerated
    value_differs: frozenset[int]
    stream_values: Mapping[int, int]
    destination_values: Mapping[int, int]
    refused: tuple[RefusedRegister, ...]
    logged: Mapping[str, frozenset[int]]  # refused settings
    set_twice: frozenset[str]
    aggregated_refused: bool  # a refused value in x-mig v5/v6's aggregated form
    unnamed: tuple[AttemptSummary, ...]  # failed loads whose registers no line names
    failed_loads: tuple[AttemptSummary, ...]  # failed, and not at start-up
    streams: bool
    unreadable: tuple[str, ...]  # device state the destination could not read
    psci_unsupported: tuple[str, ...]  # PSCI versions a destination's KVM refused at start-up

    @property
    def extra(self) -> frozenset[int]:
        return self.fatal | self.allowed | self.extra_tolerated


def findings_of(summaries: Sequence[AttemptSummary]) -> Findings:
    fatal: set[int] = set()
    allowed: set[int] = set()
    extra_tolerated: set[int] = set()
    missing: set[int] = set()
    differs: set[int] = set()
    stream_values: dict[int, int] = {}
    destination_values: dict[int, int] = {}
    refused: list[RefusedRegister] = []
    logged: dict[str, set[int]] = {}
    twice: set[str] = set()
    aggregated = False
    for summary in summaries:
        sets = summary.registers
        fatal |= sets.fatal
        allowed |= sets.extra_allowed_by_property
        extra_tolerated |= sets.extra_tolerated
        missing |= sets.missing
        differs |= sets.value_differs
        for kvm_id, value in sets.stream_values:
            stream_values.setdefault(kvm_id, value)
        for kvm_id, value in sets.destination_values:
            destination_values.setdefault(kvm_id, value)
        refused.extend(summary.refused)
        for problem in summary.properties:
            if problem.property not in PROPERTIES:
                continue
            if problem.set_twice:
                twice.add(problem.property)
            if problem.value:
                aggregated = aggregated or bool(_AGGREGATED.match(problem.value.strip()))
                try:
                    ids = parse_id_list(problem.value, problem.property)
                except SettingError:
                    continue  # the log's own value is not ours to reject: use what parses
                logged.setdefault(problem.property, set()).update(ids)
    # Failed loads on account of registers: not at start-up, not on unreadable device state.
    failed = _each_once(
        s
        for s in summaries
        if s.outcome is Outcome.FAILED
        and not s.properties
        and not s.unreadable
        and not s.psci_unsupported
    )
    return Findings(
        frozenset(fatal),
        frozenset(allowed),
        frozenset(extra_tolerated),
        frozenset(missing),
        frozenset(differs),
        stream_values,
        destination_values,
        tuple(refused),
        {name: frozenset(ids) for name, ids in logged.items()},
        frozenset(twice),
        aggregated,
        tuple(s for s in failed if s.naming is Naming.COUNTS and not s.refused),
        tuple(failed),
        any(s.naming is Naming.STREAMS for s in summaries),
        tuple(dict.fromkeys(state for s in summaries for state in s.unreadable)),
        tuple(dict.fromkeys(s.psci_unsupported for s in summaries if s.psci_unsupported)),
    )


class FixContext(NamedTuple):
    """The engine's input besides the registers: which QEMU, accelerator and machine types."""

    build: Dialect | None  # the destination QEMU's family, as its lines tell (None: unknown)
    qemu_version: str | None
    accel: Accel
    accel_evidence: MessageKind | None
    source: Side
    destination: Side
    options: FixOptions
    xmig_possible: bool  # a build of the x-mig series may be at hand

    @property
    def postings(self) -> tuple[Posting, ...]:
        return self.destination.compat.postings


# Migration needs the same machine type on both ends: one side's stands for the other's.
ASSUMED_SAME = "assumed equal to the {side}'s"
_ORIGINS: Final = {
    Origin.LIBVIRT: "the libvirt header",
    Origin.COMMAND_LINE: "the log's command line",
    Origin.STREAM: "the destination's saved stream",
}


def _each_once(summaries: Iterable[AttemptSummary]) -> list[AttemptSummary]:
    """Each summary object once, in order: a report of a million attempts made in several
    processes holds one shared object per kind of attempt (what the fixes read of them)."""
    return list({id(summary): summary for summary in summaries}.values())


def _focus(
    summaries: Sequence[AttemptSummary], *, last_first: bool = False
) -> Iterator[AttemptSummary]:
    """The failed attempts, else all, in order (``last_first``: from the last)."""
    failed_only = any(s.outcome is Outcome.FAILED for s in summaries)
    ordered = reversed(summaries) if last_first else iter(summaries)
    return (s for s in ordered if not failed_only or s.outcome is Outcome.FAILED)


def _build(dialects: frozenset[Dialect]) -> Dialect | None:
    for dialect in (Dialect.XMIG, Dialect.QEMU_11, Dialect.LEGACY):
        if dialect in dialects:
            return dialect
    return None


def _xmig_version(version: str | None) -> bool:
    """Whether a QEMU version can be a build of the x-mig series (10.1.50 to 10.2.x)."""
    known = release(version)
    return known is None or (10, 1) <= known < (11, 0)


def fix_context(
    summaries: Sequence[AttemptSummary], options: FixOptions, findings: Findings | None = None
) -> FixContext:
    """What is known of each side, from the attempts (the failed ones first) and the command
    line: the QEMU family, accelerator, machine types and what their compat sets, -cpu."""
    findings = findings or findings_of(summaries)
    focus = _each_once(_focus(summaries))
    dialects = frozenset(d for s in focus for d in s.dialects)
    build = _build(dialects)
    accels = {s.accel for s in focus if s.accel is not Accel.UNKNOWN}
    accel = accels.pop() if len(accels) == 1 else Accel.UNKNOWN
    evidence = next((s.accel_evidence for s in focus if s.accel is accel), None)
    last_first = _focus(summaries, last_first=True)
    process = next((s.process for s in last_first if s.process is not None), None)
    last_first = _focus(summaries, last_first=True)
    source_process = next(
        (s.source_process for s in last_first if s.source_process is not None), None
    )
    version = process.version if process is not None else None

    dst_machine, dst_from = options.dst_machine, "--dst-machine"
    if dst_machine is None and process is not None and process.machine:
        dst_machine = process.machine
        dst_from = _ORIGINS[process.origin]
    src_machine, src_from = options.src_machine, "--src-machine"
    if src_machine is None and source_process is not None and source_process.machine:
        src_machine, src_from = source_process.machine, "the source's saved stream"
    if src_machine is None and dst_machine is not None:
        src_machine, src_from = dst_machine, ASSUMED_SAME.format(side="destination")
    elif dst_machine is None and src_machine is not None:
        dst_machine, dst_from = src_machine, ASSUMED_SAME.format(side="source")

    style = CompatStyle.REGISTER_CALLS if findings.aggregated_refused else None
    dst_postings = postings_for(dst_machine, version, sets=findings.set_twice, style=style)
    src_postings = postings_for(src_machine)
    src_postings = tuple(p for p in src_postings if p in dst_postings) or src_postings
    dst_cpu = options.dst_cpu or (process.cpu if process is not None else None)
    # A machine type newer than every posting's latest comes from a QEMU after the series
    # (11.1 merged tolerances instead of the properties).
    known, machine_version = xmig_machine_version(dst_machine)
    after_series = known and machine_version is not None and not dst_postings
    xmig_possible = build is Dialect.XMIG or (
        build is not Dialect.QEMU_11 and _xmig_version(version) and not after_series
    )
    source = Side(
        End.SOURCE, src_machine, src_from, options.src_cpu, MachineCompat(src_machine, src_postings)
    )
    destination = Side(
        End.DESTINATION, dst_machine, dst_from, dst_cpu, MachineCompat(dst_machine, dst_postings)
    )
    return FixContext(build, version, accel, evidence, source, destination, options, xmig_possible)


# -- suggestions --------------------------------------------------------------------------------


def _names(ids: Iterable[int]) -> str:
    return register_names(sorted(ids), limit=12)


def _extra(ids: Iterable[int]) -> str:
    listed = sorted(ids)
    return f"{len(listed)} extra (in the stream, unknown on the destination): {_names(listed)}"


def _losses(ids: Iterable[int], values: Mapping[int, int]) -> tuple[tuple[int, int], ...]:
    return tuple((kvm_id, values[kvm_id]) for kvm_id in sorted(ids) if values.get(kvm_id))


def _state(ids: frozenset[int], values: Mapping[int, int], streams: bool, whose: str) -> str:
    """The guest-state sentence of a hide/tolerate fix."""
    lost = _losses(ids, values)
    if lost:
        listed = ", ".join(f"{describe(kvm_id).name} = {value:#x}" for kvm_id, value in lost)
        return f"{NOT_MIGRATED}. The saved streams show values the guest would lose: {listed}."
    if streams and all(kvm_id in values for kvm_id in ids):
        return f"{NOT_MIGRATED}; the saved streams show 0 in {whose} for each of them."
    return (
        f"{NOT_MIGRATED}. To see the values at stake, save both streams and run "
        "`reginspect report LOG --stream SRC --stream DST`."
    )


def _xmig_qemu(context: FixContext, side: Side) -> str:
    postings = side.compat.postings
    confirmed = context.build is Dialect.XMIG
    label = "QEMU builds carrying the x-mig series"
    if len(postings) < 5:
        label += f" ({names(postings)})"
    if not confirmed:
        label += ", never merged upstream"
    if side.machine:
        label += f"; machine type {side.machine}"
    return label


def _property_fix(
    context: FixContext,
    findings: Findings,
    property_name: str,
    side: Side,
    wanted: frozenset[int],
    kept: frozenset[int],
    what: str,
    other_way: str,
    state: str,
    loses: tuple[tuple[int, int], ...],
) -> Suggestion:
    """One property's fix on one side: a -global where nothing else sets the property; where the
    machine type's compat does (or may, and the log shows it set twice), the source change."""
    compat = side.compat
    sets = compat.sets(property_name)
    twice_logged = side.name is End.DESTINATION and property_name in findings.set_twice
    source_change = compat_form(property_name, compat, wanted, kept)
    qemu = _xmig_qemu(context, side)
    if sets is True or (sets is None and twice_logged):
        aborting = compat.twice(property_name)
        if sets is True:
            setters = compat.setters(property_name)
            head = (
                f"{side.machine_text()} already sets {property_name} in its compat (x-mig "
                f"{names(setters)}). QEMU refuses any second setting of an array property (a "
                "-global, the compat's own ids again in hex or decimal, -cpu max,x-mig-..., the "
                "long driver=/property=/value= form): no command-line form can extend it."
            )
        else:
            head = (
                f"QEMU refused a second setting of {property_name}. Where the machine type's "
                f"compat sets it (x-mig {setting_machines(property_name, compat.postings)}), "
                "no command-line form can extend it; only if both settings were your own, keep "
                f"one: -global {DRIVER}.{property_name}={format_value(wanted | kept)}."
            )
        holding = [
            p
            for p in compat.setters(property_name)
            if wanted <= p.compat_ids(compat.version, property_name)
        ]
        if wanted and holding:
            head += (
                f" On x-mig {names(holding)} builds its compat already holds "
                f"{_names(wanted)} (the series' example patch): a build that still fails on "
                "them does not carry that patch."
            )
        if aborting:
            head += (
                f" On x-mig {names(aborting)} builds this machine type's compat sets it twice "
                "itself (two levels of its chain): QEMU aborts at start whatever the command "
                "line says."
            )
        works = f"{other_way}, or this" if other_way else "only this"
        reason = (
            f"On the {side.name}: {what}. {head} What works: {works} change to the machine "
            f"type's compat in the source code (hw/arm/virt.c). {state}"
        )
        value = wanted | kept | compat.ids(property_name)
        return Suggestion(
            property_name,
            side.name,
            tuple(sorted(wanted | kept)),
            format_value(value),
            ((Form.COMPAT, source_change),),
            reason,
            XMIG,
            Route.XMIG,
            qemu,
            loses,
        )
    value = wanted | kept
    reason = f"On the {side.name}: {what}."
    if findings.set_twice & {property_name} and side.name is End.DESTINATION:
        reason += (
            " QEMU refused a second setting of this array property: this one merged value "
            "replaces every other setting of it."
        )
    if sets is None:
        reason += (
            f" Holds where {side.machine_text()}'s compat does not set {property_name} (x-mig "
            f"{setting_machines(property_name, compat.postings) or 'none'}); where it does, QEMU "
            "refuses the -global and only the compat form (a source change) works."
        )
    reason += f" {state}"
    return Suggestion(
        property_name,
        side.name,
        tuple(sorted(value)),
        format_value(value),
        (*command_line_forms(property_name, format_value(value)), (Form.COMPAT, source_change)),
        reason,
        XMIG,
        Route.XMIG,
        qemu,
        loses,
    )


def _xmig_suggestions(context: FixContext, findings: Findings) -> list[Suggestion]:
    options = context.options
    src, dst = context.source, context.destination
    logged_safe = findings.logged.get(SAFE_MISSING, frozenset())
    logged_hidden = findings.logged.get(HIDDEN, frozenset())
    have_safe, have_hidden = options.have_ids(SAFE_MISSING), options.have_ids(HIDDEN)
    suggestions: list[Suggestion] = []

    # Registers the destination must let through: what fails, and what someone already tried.
    through = findings.fatal | logged_safe
    # Hiding on the source: what the destination's compat does not let through already.
    to_hide = findings.fatal | (logged_safe - dst.compat.ids(SAFE_MISSING) - have_safe)
    hide_possible = bool(to_hide) and src.compat.sets(HIDDEN) is not True
    safe_possible = dst.compat.sets(SAFE_MISSING) is not True

    if through or SAFE_MISSING in findings.set_twice:
        parts = []
        if findings.fatal:
            parts.append(f"{_extra(findings.fatal)}: the load fails on them")
        if through - findings.fatal:
            parts.append(f"the refused setting asked for {_names(through - findings.fatal)}")
        kept = findings.allowed | have_safe
        if kept - through:
            parts.append(f"keeps what is set already ({_names(kept - through)})")
        what = "; ".join(parts) or "one value for every setting of it"
        other = f"{HIDDEN}={format_value(to_hide)} on the source (below)" if hide_possible else ""
        suggestions.append(
            _property_fix(
                context,
                findings,
                SAFE_MISSING,
                dst,
                through,
                kept,
                what,
                other,
                _state(through, findings.stream_values, findings.streams, "the source's stream"),
                _losses(through, findings.stream_values),
            )
        )
    if to_hide:
        what = (
            f"{_extra(to_hide)}: hidden on the source, they are never sent, so both ends agree "
            "(best through the machine type's compat, so every guest of it agrees)"
        )
        other = (
            f"{SAFE_MISSING}={format_value(to_hide)} on the destination (above)"
            if safe_possible
            else ""
        )
        suggestions.append(
            _property_fix(
                context,
                findings,
                HIDDEN,
                src,
                to_hide,
                frozenset(),
                what,
                other,
                _state(to_hide, findings.stream_values, findings.streams, "the source's stream"),
                _losses(to_hide, findings.stream_values),
            )
        )
    hide_here = findings.missing | logged_hidden
    if hide_here or HIDDEN in findings.set_twice:
        what = (
            f"{len(findings.missing)} missing (expected here, not in the stream): "
            f"{_names(findings.missing)}; QEMU keeps the destination's own values (a warning, "
            "not a failure). Hidden here, they keep the migration back to the source from "
            "failing on them"
            if findings.missing
            else f"keeps {_names(hide_here)} hidden"
            if hide_here
            else "one value for every setting of it"
        )
        suggestions.append(
            _property_fix(
                context,
                findings,
                HIDDEN,
                dst,
                hide_here,
                have_hidden,
                what,
                "",
                _state(
                    hide_here,
                    findings.destination_values,
                    findings.streams,
                    "the destination's stream",
                ),
                _losses(hide_here, findings.destination_values),
            )
        )
    return suggestions


def _failing(findings: Findings) -> dict[int, Status]:
    return dict.fromkeys(sorted(findings.fatal), Status.EXTRA)


def _upgrade(context: FixContext, findings: Findings) -> Suggestion | None:
    """Run QEMU >= 11.1 on the destination: only where its own tolerances cover every register
    the load fails on, for this accelerator and -cpu."""
    if context.build is Dialect.QEMU_11 or not findings.fatal or findings.refused:
        return None
    if _refused_values(context, findings):
        return None
    if findings.unnamed and not findings.streams:
        return None  # a failure whose registers nothing names: 11.1 may still fail on them
    conditions: set[str] = set()
    details = []
    for kvm_id, status in _failing(findings).items():
        verdict = judge(
            kvm_id,
            status,
            context.accel,
            context.destination.cpu,
            findings.stream_values.get(kvm_id),
        )
        if verdict.verdict is Verdict.NO:
            return None
        conditions.update(verdict.conditions)
        builtin = BUILTINS[kvm_id]
        details.append(f"{describe(kvm_id).name} ({builtin.tolerance})")
    condition = " ".join(sorted(conditions))
    qemu = "QEMU >= 11.1 on the destination" + (f", {condition}" if condition else "")
    reason = (
        f"QEMU 11.1 tolerates by itself every register this load fails on: {', '.join(details)}"
        + (f" — {condition}" if condition else "")
        + ". "
        + _state(findings.fatal, findings.stream_values, findings.streams, "the source's stream")
    )
    return Suggestion(
        "qemu-version",
        End.DESTINATION,
        tuple(sorted(findings.fatal)),
        ">=11.1",
        (),
        reason,
        STOCK,
        Route.UPSTREAM,
        qemu,
        _losses(findings.fatal, findings.stream_values),
    )


def _tolerance(context: FixContext, findings: Findings) -> Suggestion | None:
    """The lines a downstream patch adds to QEMU >= 11.1: one tolerance per register that QEMU
    11.1 does not tolerate by itself for this accelerator (a comment for those it does: a second
    registration asserts). A missing register gets one for the way back, where it is extra."""
    if not findings.fatal:
        return None
    registers = {kvm_id: Status.MISSING for kvm_id in findings.missing}
    registers.update(_failing(findings))
    accel = context.accel
    lines = patch_lines(registers, findings.stream_values, accel, findings.destination_values)
    added = [line for line in lines if line.adds]
    if not added:
        return None
    if accel is Accel.KVM:
        where = "inside kvm_arm_set_cpreg_mig_tolerances() (KVM -cpu host or max)"
    elif accel is Accel.TCG:
        where = (
            "for TCG, next to the DBGDTRTX tolerance that follows define_debug_regs() in "
            "register_cp_regs_for_features() (target/arm/helper.c), inside if (tcg_enabled())"
        )
    else:
        where = (
            "inside kvm_arm_set_cpreg_mig_tolerances() for KVM -cpu host or max; for TCG, next "
            "to the DBGDTRTX tolerance after define_debug_regs() in "
            "register_cp_regs_for_features() (target/arm/helper.c), inside if (tcg_enabled())"
        )
    reason = (
        "A QEMU source change (a downstream patch, as distributions backport upstream's "
        "mechanism: RHEL's cross-kernel migration mitigation), not a command-line switch: add "
        f"these lines {where}. ToleranceNotOnBothEnds lets a register be missing on either "
        "end; ToleranceOnlySrcTestValue (mask, value) is the stricter choice: an extra "
        "register passes only while the source's value matches (saved streams show it: with "
        "them, a register whose value is 0 gets that form)."
    )
    own = [line.kvm_id for line in lines if not line.adds]
    if own:
        reason += (
            f" QEMU 11.1 registers a tolerance for {_names(own)} itself "
            f"{'under any accelerator' if accel is Accel.UNKNOWN else 'under ' + accel.upper()} "
            "(a second registration fails an assertion): no line for them."
        )
    back = [line.kvm_id for line in added if line.status is Status.MISSING]
    if back:
        reason += (
            f" The lines for {_names(back)} (missing here) are for the way back: migrating back "
            "to the source, they would be in the stream and unknown there."
        )
    kvm_only = [
        kvm_id
        for kvm_id in findings.fatal
        if kvm_id in BUILTINS and BUILTINS[kvm_id].kvm_host_only and accel is Accel.TCG
    ]
    if kvm_only:
        reason += (
            f" QEMU 11.1 tolerates {_names(kvm_only)} under KVM only: under TCG upgrading alone "
            "still fails on them."
        )
    # The values at stake: the source's of an extra register, this destination's of a missing
    # one (the stream of the way back carries it).
    stakes = {line.kvm_id: line.stream_value for line in added if line.stream_value is not None}
    whose = "the source's stream" + (", this destination's on the way back" if back else "")
    at_stake = frozenset(line.kvm_id for line in added)
    reason += " " + _state(at_stake, stakes, findings.streams, whose)
    qemu = "QEMU >= 11.1 with a downstream patch" + (
        f", {accel.upper()}" if accel is not Accel.UNKNOWN else ""
    )
    return Suggestion(
        "tolerance",
        End.DESTINATION,
        tuple(sorted(line.kvm_id for line in added)),
        "",
        ((Form.TOLERANCE, "\n".join(line.text() for line in lines)),),
        reason,
        STOCK,
        Route.UPSTREAM,
        qemu,
        _losses(at_stake, stakes),
    )


def _refused_values(context: FixContext, findings: Findings) -> frozenset[int]:
    """Configuration registers whose values differ and that the destination refuses: under
    TCG every one (QEMU reads each written value back); under KVM the kernel takes some (a
    lower PSCI version, a subset of ID fields): there only a PSCI version newer than the
    destination's (Linux refuses it with -EINVAL) and what the log shows refused count."""
    if context.accel is Accel.KVM:
        return frozenset({PSCI_VERSION}) if _psci_too_new(findings) else frozenset()
    stream, here = findings.stream_values, findings.destination_values
    return frozenset(
        k
        for k in findings.value_differs
        if k in stream and k in here and differs_in_configuration(k, stream[k], here[k])
    )


def _psci_too_new(findings: Findings) -> tuple[int, int] | None:
    """(source, destination) PSCI versions when the source's is newer than the destination
    kernel offers (a guest started on Linux >= 6.13 offers PSCI 1.3; 6.12 knows 1.1)."""
    wanted = findings.stream_values.get(PSCI_VERSION)
    offered = findings.destination_values.get(PSCI_VERSION)
    logged = next((r for r in findings.refused if r.kvm_id == PSCI_VERSION), None)
    if logged is not None and logged.value is not None and logged.current is not None:
        wanted, offered = logged.value, logged.current
    if wanted is None or offered is None or wanted <= offered:
        return None
    return wanted, offered


def _psci_remedy(context: FixContext, findings: Findings) -> Suggestion | None:
    """QEMU >= 11.1's kvm-psci-version on the source: the guest offers the older version."""
    versions = _psci_too_new(findings) if context.accel is not Accel.TCG else None
    if versions is None and findings.psci_unsupported:
        asked = ", ".join(findings.psci_unsupported)
        return Suggestion(
            "kvm-psci-version",
            End.SOURCE,
            (PSCI_VERSION,),
            "",
            (),
            f"The destination's QEMU asked its KVM for PSCI {asked} (kvm-psci-version on its "
            "command line), which its kernel does not offer: QEMU stopped at start-up. A guest "
            "keeps the PSCI version it was started with: start it on the source with a "
            "kvm-psci-version the destination's kernel offers (kernels before Linux 6.13 offer "
            "at most 1.1), and give the destination the same one or none.",
            STOCK,
            Route.UPSTREAM,
            "QEMU >= 11.1 on the source (kvm-psci-version; QEMU 10.x has no such property), KVM",
        )
    if versions is None:
        return None
    wanted, offered = versions
    version = psci_version(offered)
    cpu = context.source.cpu or "host"
    return Suggestion(
        "kvm-psci-version",
        End.SOURCE,
        (PSCI_VERSION,),
        version,
        ((Form.COMMAND_LINE, f"-cpu {cpu},kvm-psci-version={version}"),),
        f"The guest was started with PSCI {psci_version(wanted)} ({wanted:#x}, major << 16 | "
        f"minor); the destination's kernel offers {version} ({offered:#x}) and refuses a newer "
        "version. Start the guest on the source "
        f"with kvm-psci-version={version} (a new start: a running guest keeps its version), or "
        "migrate to a host whose kernel offers the same version.",
        STOCK,
        Route.UPSTREAM,
        "QEMU >= 11.1 on the source (kvm-psci-version; QEMU 10.x has no such property), KVM",
    )


def _same_configuration(context: FixContext, findings: Findings) -> list[Suggestion]:
    remedies: list[Suggestion] = []
    src_cpu, dst_cpu = context.source.cpu, context.destination.cpu
    # The PSCI version has its own remedy (_psci_remedy).
    id_values = sorted(_refused_values(context, findings) - {PSCI_VERSION})
    refused = sorted({r.kvm_id for r in findings.refused} - {PSCI_VERSION, *id_values})
    unnamed_failure = [
        s
        for s in findings.failed_loads
        if s.naming is not Naming.COUNTS and not s.registers.fatal and not s.refused
    ]
    if (src_cpu and dst_cpu and src_cpu != dst_cpu) or id_values or refused or unnamed_failure:
        parts = []
        if src_cpu and dst_cpu and src_cpu != dst_cpu:
            parts.append(
                f"The source runs -cpu {src_cpu} and the destination -cpu {dst_cpu}: each model "
                "has its own register list and ID values."
            )
        if id_values:
            parts.append(
                f"Configuration registers differ in value: {_names(id_values)}; QEMU checks that "
                "each value it writes reads back, so a read-only one that differs fails the "
                "load, and no property or tolerance helps with a value."
            )
        unknown = sorted(
            {r.kvm_id for r in findings.refused if r.kind is MessageKind.KVM_SET_UNKNOWN}
            & set(refused)
        )
        if set(refused) - set(unknown):
            parts.append(
                f"The destination's KVM refused {_names(set(refused) - set(unknown))}: a value "
                "its host CPU or kernel does not offer; no property or tolerance helps with a "
                "value."
            )
        if unknown:
            gates = [phrase for kvm_id in unknown if (phrase := gate_phrase(kvm_id))]
            how = (
                f" ({'; '.join(gates)}: the source's ID register values, written first, turned "
                "it off)"
                if gates
                else " (its kernel lacks it, or the source's ID register values, written first, "
                "turned the feature off)"
            )
            parts.append(
                f"The destination's KVM does not offer {_names(unknown)} to this guest{how}: a "
                "property or tolerance cannot add it, and stock QEMU has no property that leaves "
                "it out of the destination's list."
            )
        if unnamed_failure and not (id_values or refused):
            parts.append(
                "The register lists are compatible, yet the destination refused the CPU state: "
                "a value (typically a read-only ID register) differs."
            )
        parts.append(
            "Start both ends with the same -cpu model (under KVM: -cpu host on the same host CPU "
            "and kernel)."
        )
        forms: tuple[tuple[Form, str], ...] = ()
        if src_cpu:
            forms = (
                (Form.COMMAND_LINE, f"-cpu {src_cpu}"),
                (Form.LIBVIRT, f"<cpu mode='custom' match='exact'><model>{src_cpu}</model></cpu>"),
            )
        remedies.append(
            Suggestion(
                "cpu",
                End.DESTINATION,
                tuple(sorted({*id_values, *refused})),
                src_cpu or "",
                forms,
                " ".join(parts),
                STOCK,
                Route.ANY,
                "any QEMU",
            )
        )
    # A machine type assumed from the other side equals it: no remedy is made of it.
    src_machine, dst_machine = context.source.machine, context.destination.machine
    if src_machine and dst_machine and src_machine != dst_machine:
        remedies.append(
            Suggestion(
                "machine",
                End.DESTINATION,
                (),
                src_machine,
                (
                    (Form.COMMAND_LINE, f"-machine {src_machine}"),
                    (Form.LIBVIRT, f"<type machine='{src_machine}'>hvm</type>"),
                ),
                f"The source runs machine type {src_machine}, the destination {dst_machine}: "
                "keep the same versioned machine type on both ends.",
                STOCK,
                Route.ANY,
                "any QEMU",
            )
        )
    return remedies


def _state_remedy(findings: Findings) -> Suggestion | None:
    """Device state the destination's QEMU does not know: an older QEMU than the source's."""
    if not findings.unreadable:
        return None
    return Suggestion(
        "device-state",
        End.DESTINATION,
        (),
        ", ".join(findings.unreadable),
        (),
        f"The destination cannot read the stream's device state "
        f"({', '.join(findings.unreadable)}): its QEMU does not know that part of the state (an "
        "older QEMU than the source's, or a feature it lacks). No register fix helps: run the "
        "destination with the source's QEMU version or a newer one, or start the guest on the "
        "source without the feature.",
        STOCK,
        Route.ANY,
        "any QEMU",
    )


def _naming_remedy(context: FixContext, findings: Findings) -> Suggestion | None:
    """For failed loads whose registers no line names: the options that make this QEMU name
    them, for its accelerator."""
    unnamed = findings.unnamed
    if not unnamed or findings.streams:
        return None
    dialects = frozenset(d for s in unnamed for d in s.dialects)
    if Dialect.XMIG in dialects:
        options = xmig_trace_options(context.accel)
        return Suggestion(
            "trace",
            End.DESTINATION,
            (),
            options,
            ((Form.COMMAND_LINE, options),),
            f"This x-mig build names every compared register with {options}; or {COMPARE_ROUTE}.",
            XMIG,
            Route.XMIG,
            _xmig_qemu(context, context.destination),
        )
    if Dialect.QEMU_11 in dialects:
        return Suggestion(
            "log",
            End.DESTINATION,
            (),
            "standard error",
            ((Form.COMMAND_LINE, "reginspect report dst.stderr dst.trace.log"),),
            "QEMU 11.1 names every differing register on its standard error, not in the -D "
            "trace file: report both files together.",
            STOCK,
            Route.UPSTREAM,
            "QEMU >= 11.1",
        )
    return Suggestion(
        "trace",
        End.DESTINATION,
        (),
        TRACE_OPTIONS_11,
        ((Form.COMMAND_LINE, TRACE_OPTIONS_11),),
        "This QEMU (10.x or older) names no register, whatever the traces. Run the destination "
        f"with QEMU 11.1 or newer (it names every difference; add {TRACE_OPTIONS_11} for counts "
        f"and tolerances), add {xmig_trace_options(context.accel)} on a QEMU carrying the x-mig "
        f"series, or {COMPARE_ROUTE}.",
        STOCK,
        Route.ANY,
        "QEMU 10.x or older (stock)",
    )


def suggestions_for(
    summaries: Sequence[AttemptSummary], options: FixOptions | None = None
) -> list[Suggestion]:
    """Every fix for these attempts, each for the QEMU it names: x-mig property values, then
    upstream's tolerances, then what holds on any QEMU."""
    options = options or FixOptions()
    findings = findings_of(summaries)
    context = fix_context(summaries, options, findings)
    suggestions: list[Suggestion] = []
    if context.xmig_possible:
        suggestions.extend(_xmig_suggestions(context, findings))
    upgrade = _upgrade(context, findings)
    if upgrade is not None:
        suggestions.append(upgrade)
    if context.build is not Dialect.XMIG:
        tolerance = _tolerance(context, findings)
        if tolerance is not None:
            suggestions.append(tolerance)
    psci = _psci_remedy(context, findings)
    if psci is not None:
        suggestions.append(psci)
    suggestions.extend(_same_configuration(context, findings))
    state = _state_remedy(findings)
    if state is not None:
        suggestions.append(state)
    naming = _naming_remedy(context, findings)
    if naming is not None:
        suggestions.append(naming)
    return suggestions
