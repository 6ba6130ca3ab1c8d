"""What an attempt means and what to do next, in sentences a QEMU user can act on."""

from __future__ import annotations

from parsers.catalogue import describe
from parsers.logevents import Dialect, MessageKind
from parsers.regids import Accel
from reginspect.model import Naming, Phase
from reginspect.results import AttemptResult, CpuResult, Outcome
from reginspect.tolerances import builtin_sentence

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


def register_names(entries: list[int], limit: int = NAME_LIMIT) -> str:
    names = [describe(kvm_id).name for kvm_id in entries[:limit]]
    more = len(entries) - limit
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


def attempt_advice(result: AttemptResult) -> tuple[str, ...]:
    """Sentences for one attempt, most important first."""
    advice: list[str] = []
    summary = result.summary
    sets = summary.registers
    cpus = result.cpus
    extra = sorted(sets.extra)
    missing = sorted(sets.all_missing)
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
        advice.append(
            f"{len(fatal)} register(s) of the source's stream are unknown to the destination "
            f"configuration: {register_names(fatal)}. QEMU fails the load on them unless it "
            f"tolerates them ({builtin_sentence()})."
        )
    elif fatal:
        advice.append(
            f"{len(fatal)} register(s) in the incoming stream are unknown on the destination, "
            f"so the load fails: {register_names(fatal)}."
        )
    if missing:
        advice.append(
            f"{len(missing)} register(s) expected by the destination are not in the stream: "
            f"{register_names(missing)}. QEMU keeps the destination's own values (a warning, "
            "not a failure); migrating back to the source would then fail on them."
        )
    if tolerated:
        advice.append(
            f"QEMU tolerated {len(tolerated)} difference(s) on purpose: "
            f"{register_names(tolerated)}."
        )
    if value_diffs:
        advice.append(
            f"{len(value_diffs)} register(s) are on both sides with different values: "
            f"{register_names(value_diffs)}. Read-only ID registers that differ make the "
            "destination refuse the CPU state: use the same -cpu model on both ends."
        )

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
    for refused in summary.refused:
        name = describe(refused.kvm_id, Accel.KVM).name
        if refused.kind is MessageKind.KVM_SET_UNKNOWN:
            advice.append(
                f"The destination's KVM does not offer {name} to this guest: its kernel lacks "
                "it, or the source's ID register values, written first, turned the feature off."
            )
        elif refused.kind is MessageKind.KVM_SET_VALUE:
            advice.append(
                f"The destination's KVM refused the value of {name}: its host CPU or kernel "
                "does not offer it."
            )
    if summary.unreadable or summary.refused:
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
