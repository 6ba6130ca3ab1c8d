"""What an attempt means and what to do next, in sentences a QEMU user can act on."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

from parsers.catalogue import describe
from parsers.logevents import Dialect, MessageKind, Status
from parsers.regids import Accel
from reginspect.configuration import (
    GATES,
    PSCI_VERSION,
    differs_in_configuration,
    gate_phrase,
    psci_refusal,
    psci_value,
)
from reginspect.model import Naming, Phase, RefusedRegister
from reginspect.results import AttemptResult, AttemptSummary, CpuResult, Outcome
from reginspect.tolerances import BUILTINS, Tolerance, Verdict, judge, way_back

# The trace events that make each kind of QEMU name or count the registers it compares.
TRACE_OPTIONS_11 = "-trace cpu_post_load -trace 'tolerate_cpreg*'"
TRACE_OPTIONS_XMIG = "-trace 'cpu_post_load*'"
# The x-mig series' kvm_arm_* events fire under KVM only (target/arm/kvm.c).
TRACE_OPTIONS_XMIG_KVM = "-trace 'kvm_arm_cpu_post_load*' -trace 'kvm_arm_init_cpreg_list*'"
TRACE_OPTIONS_OLD = (
    "-trace 'vmstate_load_state*' -trace vmstate_load_field_error "
    "-trace 'qemu_loadvm_state_section*' -trace 'loadvm_state*'"
)
COMPARE_ROUTE = (
    'save the stream on the source (`migrate "exec:cat > src.mig"` on a paused guest) and the '
    "destination configuration's own stream the same way, then run `reginspect compare src.mig "
    "dst.mig` (or `reginspect probe` each QEMU command line first)"
)

NAME_LIMIT = 8


def xmig_trace_options(accel: Accel) -> str:
    """The traces that make an x-mig build name every register it compares: its kvm_arm_*
    events only where KVM runs (or may run)."""
    if accel is Accel.TCG:
        return TRACE_OPTIONS_XMIG
    if accel is Accel.KVM:
        return f"{TRACE_OPTIONS_XMIG} {TRACE_OPTIONS_XMIG_KVM}"
    return f"{TRACE_OPTIONS_XMIG} (under KVM also {TRACE_OPTIONS_XMIG_KVM})"


def register_names(
    entries: Sequence[int], limit: int | None = NAME_LIMIT, accel: Accel = Accel.UNKNOWN
) -> str:
    """The first ``limit`` registers' names (every one for None), in the given order, and how
    many more; ``accel`` names the few ids KVM and TCG name differently."""
    shown = entries if limit is None else entries[:limit]
    names = [describe(kvm_id, accel).name for kvm_id in shown]
    more = len(entries) - len(shown)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _count_difference(cpu: CpuResult) -> str | None:
    if cpu.stream_count is None or cpu.destination_count is None:
        return None
    delta = cpu.stream_count - cpu.destination_count
    if delta > 0:
        return (
            f"the stream carries {cpu.stream_count} registers, the destination expects "
            f"{cpu.destination_count}: at least {delta} register(s) of the stream are unknown here"
        )
    if delta < 0:
        return (
            f"the stream carries {cpu.stream_count} registers, the destination expects "
            f"{cpu.destination_count}: at least {-delta} register(s) are missing from the stream"
        )
    return f"both lists have {cpu.stream_count} registers"


def _cpu(summary: AttemptSummary) -> str | None:
    """The attempt's -cpu, where its log tells: a migration needs the same on both ends."""
    return summary.process.cpu if summary.process is not None else None


def _conditions(conditions: Iterable[str]) -> str:
    return " ".join(conditions)


def _unknown_in_streams(fatal: list[int], summary: AttemptSummary) -> list[str]:
    """Registers of the source's saved stream the destination's lacks: which QEMU 11.1
    tolerates by itself, for this accelerator and -cpu, and which fail every QEMU."""
    values = dict(summary.registers.stream_values)
    fails: dict[str, list[int]] = {}
    passes: dict[tuple[str, ...], list[int]] = {}
    for kvm_id in fatal:
        verdict = judge(kvm_id, Status.EXTRA, summary.accel, _cpu(summary), values.get(kvm_id))
        if verdict.verdict is Verdict.NO:
            fails.setdefault(verdict.why_not, []).append(kvm_id)
        else:
            passes.setdefault(verdict.conditions, []).append(kvm_id)
    parts = [
        f"{len(fatal)} register(s) of the source's stream are unknown to the destination "
        f"configuration: {register_names(fatal)}."
    ]
    for why, ids in fails.items():
        parts.append(f"The load fails on {register_names(ids)} ({why}).")
    for conditions, ids in passes.items():
        when = f" ({_conditions(conditions)})" if conditions else ""
        parts.append(
            f"QEMU 11.1 and later tolerate {register_names(ids)} by themselves{when}; QEMU 10.x "
            "and older fail the load on them."
        )
    return [" ".join(parts)]


def way_back_advice(summary: AttemptSummary, missing: Iterable[int]) -> list[str]:
    """What migrating back to the source would meet: the registers missing here would be in
    that stream, unknown there. QEMU 11.1's own tolerances for this accelerator decide which
    pass (with this destination's values, where saved streams show them)."""
    sentences = _way_back_sentences(
        frozenset(missing), summary.accel, _cpu(summary), summary.registers.destination_values
    )
    return list(sentences)


# A log of many attempts repeats the same failure: the same missing set, judged once.
@functools.lru_cache(maxsize=256)
def _way_back_sentences(
    missing: frozenset[int],
    accel: Accel,
    cpu: str | None,
    destination_values: tuple[tuple[int, int], ...],
) -> tuple[str, ...]:
    values = dict(destination_values)
    back = way_back(missing, accel, cpu, values)
    advice: list[str] = []
    fails: dict[str, list[int]] = {}
    for kvm_id, why in back.fails:
        fails.setdefault(why, []).append(kvm_id)
    if fails:
        reasons = "; ".join(
            f"{register_names(ids)} ({why}{_value_note(ids, values)})" for why, ids in fails.items()
        )
        advice.append(
            f"Migrating back to the source would fail on {reasons}: there they would be in the "
            "stream and unknown."
        )
    passes: dict[tuple[Tolerance, tuple[str, ...]], list[int]] = {}
    for kvm_id, conditions in back.tolerated:
        passes.setdefault((BUILTINS[kvm_id].tolerance, conditions), []).append(kvm_id)
    if passes:
        groups = []
        for (tolerance, conditions), ids in passes.items():
            what = str(tolerance)
            if tolerance is Tolerance.ONLY_SRC_TEST_VALUE:
                what += f", which tolerates only the value 0{_value_note(ids, values)}"
            if conditions:
                what += f"; {_conditions(conditions)}"
            groups.append(f"{register_names(ids)} ({what})")
        advice.append(
            "Migrating back to the source, where they would be in the stream and unknown: QEMU "
            f"11.1 or later there tolerates {'; '.join(groups)}. An older QEMU there fails on "
            "them."
        )
    return tuple(advice)


def _value_note(ids: list[int], values: Mapping[int, int]) -> str:
    known = [(kvm_id, values[kvm_id]) for kvm_id in ids if kvm_id in values]
    if not known:
        return ""
    listed = ", ".join(f"{value:#x}" for _, value in known)
    return f"; this destination's value: {listed}" if len(known) == 1 else f"; values {listed}"


def _value_differences(summary: AttemptSummary, value_diffs: list[int]) -> list[str]:
    """Registers on both sides with different values: configuration (the two ends are not set
    up alike) apart from run-time state (the two guests' own, normal between two guests)."""
    sets = summary.registers
    stream, here = dict(sets.stream_values), dict(sets.destination_values)
    configuration = [k for k in value_diffs if differs_in_configuration(k, stream[k], here[k])]
    state = [k for k in value_diffs if k not in configuration]
    advice = []
    if configuration:
        text = (
            f"{len(configuration)} configuration register(s) differ in value: "
            f"{register_names(configuration)}: they describe the CPU (its -cpu model; under KVM "
            "the host CPU, its kernel and KVM's properties), so the two ends are not set up "
            "alike."
        )
        if PSCI_VERSION in configuration:
            wanted, offered = stream[PSCI_VERSION], here[PSCI_VERSION]
            text += (
                f" KVM_REG_ARM_PSCI_VERSION is {psci_value(wanted)} in the stream and "
                f"{psci_value(offered)} here (major << 16 | minor): "
                + (
                    "a newer version than this kernel offers, which KVM refuses."
                    if wanted > offered
                    else "an older version than this kernel's, which KVM takes."
                )
            )
        if summary.accel is Accel.TCG:
            text += (
                " QEMU refuses a read-only register whose value differs: use the same -cpu "
                "model on both ends."
            )
        elif summary.accel is Accel.KVM:
            text += (
                " KVM takes an ID value that offers no more than its host does and refuses "
                "the others (QEMU then prints `Could not set register`): use -cpu host on the "
                "same host CPU and kernel on both ends."
            )
        else:
            text += (
                " Use the same -cpu model on both ends (under KVM: -cpu host on the same host "
                "CPU and kernel)."
            )
        advice.append(text)
    if state:
        advice.append(
            f"{len(state)} run-time state register(s) differ in value: {register_names(state)}: "
            "the two guests' own state (timers, counters, the guest's system registers), normal "
            "between two saved guests; the destination takes the stream's values."
        )
    return advice


def refusal_advice(summary: AttemptSummary) -> list[str]:
    """What each register the destination's KVM refused means (its value, or its absence)."""
    advice = []
    seen: set[tuple[int, MessageKind]] = set()
    for refused in summary.refused:
        if (refused.kvm_id, refused.kind) in seen:
            continue
        seen.add((refused.kvm_id, refused.kind))
        name = describe(refused.kvm_id, Accel.KVM).name
        if refused.kind is MessageKind.KVM_SET_UNKNOWN:
            advice.append(_unknown_to_kvm(refused, summary))
        elif refused.kind is MessageKind.KVM_SET_VALUE and refused.kvm_id == PSCI_VERSION:
            advice.append(
                f"The destination's KVM refused {name}, the guest's PSCI version. "
                + psci_refusal(refused.value, refused.current)
            )
        elif refused.kind is MessageKind.KVM_SET_VALUE:
            values = ""
            if refused.value is not None:
                values = f" ({refused.value:#x} in the stream"
                values += f", {refused.current:#x} here)" if refused.current is not None else ")"
            advice.append(
                f"The destination's KVM refused the value of {name}{values}: its host CPU or "
                "kernel does not offer it."
            )
        else:
            advice.append(
                f"The destination's KVM failed to set {name} (line {refused.line.line} says why)."
            )
    return advice


def _unknown_to_kvm(refused: RefusedRegister, summary: AttemptSummary) -> str:
    """A register KVM says it does not know: where the register exists only while an ID field
    says so, the mechanism (the source's ID registers are written first) and what the saved
    stream shows of that field."""
    sets = summary.registers
    name = describe(refused.kvm_id, Accel.KVM).name
    text = f"The destination's KVM does not offer {name} to this guest (unknown to KVM)"
    if refused.kvm_id in sets.all_missing - sets.extra:
        text += (
            f", though its own QEMU lists it: the stream does not carry {name}, so QEMU wrote "
            "the destination's own value"
        )
    gate, phrase = GATES.get(refused.kvm_id), gate_phrase(refused.kvm_id)
    if gate is None or phrase is None:
        return text + (
            ". Its kernel lacks it, or a feature the source's ID register values (written "
            "first) turn off hides it."
        )
    id_name = describe(gate.id_register).name
    text += f". {phrase}, and QEMU writes the stream's ID registers first"
    source = sets.stream_value(gate.id_register)
    if source is None:
        text += (
            f": a source whose {id_name}.{gate.field} is 0 (its host or kernel lacks the "
            f"feature) turns {name} off here."
        )
    elif gate.value(source) == 0:
        text += (
            f": the source's {id_name} is {source:#x}, {gate.field} = 0, which turns {name} "
            "off here."
        )
    else:
        text += (
            f"; the source's {id_name} is {source:#x}, {gate.field} = {gate.value(source)}, so "
            "that is not why: the destination's kernel hides it for another reason."
        )
    return text + (
        " Stock QEMU has no property that leaves a register out of the destination's list: "
        "migrate between hosts whose kernels (and CPUs) offer the same features."
    )


def attempt_advice(result: AttemptResult) -> tuple[str, ...]:
    """Sentences for one attempt, most important first."""
    advice: list[str] = []
    summary = result.summary
    sets = summary.registers
    cpus = result.cpus
    extra = sorted(sets.extra)
    missing = sorted(sets.all_missing)
    untolerated_missing = sorted(sets.missing - sets.extra)
    fatal = sorted(sets.fatal)
    tolerated = sorted(sets.tolerated)
    value_diffs = sorted(sets.value_differs)
    naming = summary.naming
    on_11 = Dialect.QEMU_11 in summary.dialects and Dialect.XMIG not in summary.dialects
    xmig = Dialect.XMIG in summary.dialects

    for problem in summary.properties:
        if problem.set_twice:
            advice.append(
                f"QEMU refused to start: the array property {problem.property} was set more than "
                "once (two machine-type compat levels, or the compat plus -global). An array "
                "property can be set only once; where the machine type's compat sets it, no "
                "command-line form can extend it (see the suggestions: give --dst-machine when "
                "the log does not name the machine type)."
            )
        else:
            advice.append(
                f"QEMU could not apply {problem.driver or ''}.{problem.property}: {problem.reason}."
            )

    if fatal and naming is Naming.STREAMS:
        advice.extend(_unknown_in_streams(fatal, summary))
    elif fatal:
        advice.append(
            f"{len(fatal)} register(s) in the incoming stream are unknown on the destination, "
            f"so the load fails: {register_names(fatal)}."
        )
    if untolerated_missing:
        advice.append(
            f"{len(untolerated_missing)} register(s) expected by the destination are not in the "
            f"stream: {register_names(untolerated_missing)}. QEMU keeps the destination's own "
            "values (a warning, not a failure)."
        )
    if tolerated:
        advice.append(
            f"QEMU tolerated {len(tolerated)} difference(s) on purpose: "
            f"{register_names(tolerated)}."
        )
    advice.extend(way_back_advice(summary, missing))
    if value_diffs:
        advice.extend(_value_differences(summary, value_diffs))

    counts_differ = any(
        cpu.stream_count is not None
        and cpu.destination_count is not None
        and cpu.stream_count != cpu.destination_count
        for cpu in cpus
    )
    if summary.unreadable:
        states = ", ".join(summary.unreadable)
        advice.append(
            f"The destination cannot read the stream's device state ({states}): a part of the "
            "state its QEMU does not know, not a register difference. Run the destination with "
            "the source's QEMU version or a newer one."
        )
    advice.extend(refusal_advice(summary))
    put = next((e for e in result.errors if e.message is MessageKind.KVM_PUT_FAILED), None)
    if put is not None and not summary.refused:
        advice.append(
            "The destination's KVM refused the loaded CPU state (Failed to put registers "
            f"{put.detail or 'after init'}): typically a register's value its host does not "
            "offer, or a register it does not know. QEMU 10.0 and 10.1 write them without "
            "naming the one refused; 10.2 and later print a `Could not set register` line for "
            "it. Saved streams show which configuration registers differ (`reginspect compare`)."
        )
    if summary.psci_unsupported:
        advice.append(
            f"The destination's QEMU asked its KVM for PSCI {summary.psci_unsupported} (its "
            "kvm-psci-version property), which this host's kernel does not offer: the vCPU "
            "cannot be created, and QEMU stops before loading anything. A guest keeps the PSCI "
            "version it was started with: start it on the source with a kvm-psci-version the "
            "destination's kernel offers, and give the destination the same one or none."
        )
    if summary.unreadable or summary.refused or summary.psci_unsupported:
        pass  # the failure is explained: no register names to ask for
    elif naming is Naming.COUNTS and on_11 and (summary.outcome is Outcome.FAILED or counts_differ):
        counts = [text for cpu in cpus if (text := _count_difference(cpu))]
        known = f" ({counts[0]})" if counts else ""
        advice.append(
            f"These are QEMU 11.1's traces only{known}. QEMU 11.1 names every differing register "
            "in a warning or error on its standard error, not in the -D trace file: give that "
            "file too (reginspect report dst.stderr dst.trace.log)."
        )
    elif naming is Naming.COUNTS and summary.outcome is Outcome.FAILED and summary.properties:
        pass  # QEMU refused to start: nothing was loaded, so no register to name
    elif naming is Naming.COUNTS and summary.outcome is Outcome.FAILED and xmig:
        counts = [text for cpu in cpus if (text := _count_difference(cpu))]
        known = f" ({counts[0]})" if counts else ""
        advice.append(
            f"This QEMU carries the x-mig series, yet no line names a register{known}. It names "
            f"every register it compares with {xmig_trace_options(summary.accel)}; or "
            f"{COMPARE_ROUTE}."
        )
    elif naming is Naming.COUNTS and summary.outcome is Outcome.FAILED:
        counts = [text for cpu in cpus if (text := _count_difference(cpu))]
        known = f" ({counts[0]})" if counts else ""
        advice.append(
            "This QEMU (10.x or older) prints no register names, only counts at best"
            f"{known}. To name the registers: run the destination with QEMU 11.1 or newer, which "
            f"names every difference (add {TRACE_OPTIONS_11} for the counts and tolerances); on "
            f"a QEMU carrying the x-mig series add {xmig_trace_options(summary.accel)}; or "
            f"{COMPARE_ROUTE}."
        )
        if not any(cpu.stream_count is not None for cpu in cpus):
            advice.append(
                f"To see where the load stops on this QEMU, add {TRACE_OPTIONS_OLD} to the "
                "destination's command line."
            )
    elif (
        naming is Naming.NAMED
        and summary.outcome is Outcome.FAILED
        and not fatal
        and not summary.properties
        and not value_diffs
    ):
        advice.append(
            "The register lists are compatible, yet the destination refused the CPU state: a "
            "register's value could not be written there — typically a read-only ID register "
            "that differs between -cpu models. No log names it; to find it, " + COMPARE_ROUTE + "."
        )
    if summary.outcome is Outcome.IN_PROGRESS:
        advice.append("The load has not finished in this log yet.")
    if summary.outcome is Outcome.SUCCEEDED and not extra and not missing and not value_diffs:
        sizes = [text for cpu in cpus if (text := _count_difference(cpu))]
        what = {
            Phase.LOADED: "The destination loaded the whole stream",
            Phase.RAN: "The guest ran on the destination",
        }.get(summary.phase, "No error was logged after the CPU state was read")
        loaded = what + (f" ({sizes[0]})" if sizes else "")
        if naming is Naming.NAMED:
            advice.append(loaded + "; no register differs.")
        elif on_11:
            advice.append(
                loaded + ". QEMU 11.1 warns on its standard error about each register the "
                "stream lacks: if this is the -D trace file, check that file too."
            )
        else:
            advice.append(
                loaded + ". This QEMU skips registers the stream lacks without a word: "
                f"to be sure both lists match, {COMPARE_ROUTE}."
            )
    return tuple(advice)
