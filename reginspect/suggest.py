"""Suggested fixes: one aggregated x-mig property value per property and side, and stock remedies.

Semantics (the proposed qemu-devel series, never merged; see the README):
- ``x-mig-safe-missing-regs`` on a destination: these ids may arrive in the stream although the
  destination does not know them; they are ignored instead of failing the load.
- ``x-mig-hidden-regs`` on a side: these ids are removed from that vCPU's list, never sent and
  never expected; set through the machine type's compat so both ends agree.
An array property can be set once only: every suggestion merges what is already set (``--have``
and the values the log shows in ``can't apply global`` lines) into a single value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence, Set

from parsers.catalogue import describe, lookup_name
from parsers.logevents import Dialect
from parsers.regforms import parse_reference
from parsers.regids import RegisterIdError, format_id
from reginspect.advice import TRACE_OPTIONS_11, TRACE_OPTIONS_XMIG, register_names
from reginspect.model import Naming
from reginspect.results import AttemptSummary, Form, Outcome, RegisterSets, Suggestion

SAFE_MISSING = "x-mig-safe-missing-regs"
HIDDEN = "x-mig-hidden-regs"
PROPERTIES = (SAFE_MISSING, HIDDEN)
DRIVER = "arm-cpu"
XMIG = "x-mig series"
STOCK = "stock qemu"
LIBVIRT_NS = "http://libvirt.org/schemas/domain/qemu/1.0"

# Registers QEMU 11.1 tolerates by itself (target/arm/machine.c, target-arm pull of 2026-04-27).
TCR2_EL1 = 0x603000000013C103
PIRE0_EL1 = 0x603000000013C512
PIR_EL1 = 0x603000000013C513
VENDOR_HYP_BMAP_2 = 0x6030000000160003
DBGDTRTX = 0x40200000200E0298
BUILTIN_TOLERANCES: Mapping[int, str] = {
    TCR2_EL1: "may be missing on either end",
    PIRE0_EL1: "may be missing on either end",
    PIR_EL1: "may be missing on either end",
    VENDOR_HYP_BMAP_2: "may be only in the incoming stream when its value is 0",
    DBGDTRTX: "may be only in the incoming stream (TCG)",
}


class SettingError(ValueError):
    """A property value the user gave that QEMU would not take; str() is one sentence."""


# -- values -------------------------------------------------------------------------------------

_SETTING = re.compile(r"^\s*(?:-global\s+)?(?:[\w-]+\.)?(x-mig-[\w-]+)\s*=(.*)$", re.S)


def parse_id_list(text: str, property_name: str) -> set[int]:
    """The ids of an array property value: comma-separated ids (hex or decimal) or names."""
    ids: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if re.fullmatch(r"(?:0x)?[0-9a-fA-F]+-(?:0x)?[0-9a-fA-F]+", item):
            raise SettingError(
                f"{property_name}: {item!r} is a range; list register ids one by one."
            )
        ids.add(_one_id(item, property_name))
    return ids


def _one_id(item: str, property_name: str) -> int:
    try:
        if re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", item):
            return parse_reference(f"0x{int(item, 0):x}").kvm_id
        return parse_reference(item).kvm_id
    except RegisterIdError:
        pass
    found = lookup_name(item)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        choices = ", ".join(format_id(kvm_id) for kvm_id in found)
        raise SettingError(f"{property_name}: the name {item!r} fits several ids ({choices}).")
    raise SettingError(f"{property_name}: {item!r} is not an Arm register id or name.")


def parse_setting(text: str) -> tuple[str, set[int]]:
    """``x-mig-safe-missing-regs=0x...,NAME`` (optionally ``arm-cpu.`` or ``-global``) → ids."""
    match = _SETTING.match(text)
    if not match:
        raise SettingError(
            f"{text!r} is not PROPERTY=IDS with PROPERTY one of {', '.join(PROPERTIES)}."
        )
    name = match.group(1)
    if name not in PROPERTIES:
        raise SettingError(f"{name} is not an x-mig property; use one of {', '.join(PROPERTIES)}.")
    return name, parse_id_list(match.group(2), name)


def format_value(ids: Iterable[int]) -> str:
    """The value QEMU's array property parser takes: sorted, comma-separated hex, no spaces."""
    return ",".join(format_id(kvm_id) for kvm_id in sorted(set(ids)))


def forms_for(property_name: str, value: str) -> tuple[tuple[Form, str], ...]:
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
        (Form.COMPAT, f'{{ TYPE_ARM_CPU, "{property_name}", "{value}" }},'),
    )


# -- suggestions --------------------------------------------------------------------------------


def _names(ids: Iterable[int]) -> str:
    return register_names(sorted(ids), limit=12)


def _union(
    summaries: Sequence[AttemptSummary], pick: Callable[[RegisterSets], Set[int]]
) -> set[int]:
    return {kvm_id for summary in summaries for kvm_id in pick(summary.registers)}


def _log_settings(
    summaries: Sequence[AttemptSummary],
) -> tuple[dict[str, set[int]], set[str]]:
    """Values the log shows being applied, and the properties QEMU said were set twice."""
    values: dict[str, set[int]] = {}
    twice: set[str] = set()
    for summary in summaries:
        for problem in summary.properties:
            if problem.property not in PROPERTIES:
                continue
            if problem.set_twice:
                twice.add(problem.property)
            if problem.value:
                try:
                    values.setdefault(problem.property, set()).update(
                        parse_id_list(problem.value, problem.property)
                    )
                except SettingError:
                    continue  # the log's own value is not ours to reject: report what parses
    return values, twice


def _property_suggestion(property_name: str, side: str, ids: set[int], reason: str) -> Suggestion:
    value = format_value(ids)
    return Suggestion(
        property_name,
        side,
        tuple(sorted(ids)),
        value,
        forms_for(property_name, value),
        reason,
        XMIG,
    )


def _stock(
    property_name: str, value: str, forms: tuple[tuple[Form, str], ...], reason: str
) -> Suggestion:
    return Suggestion(property_name, "destination", (), value, forms, reason, STOCK)


def suggestions_for(
    summaries: Sequence[AttemptSummary],
    have: Mapping[str, set[int]] | None = None,
    *,
    src_cpu: str | None = None,
    dst_cpu: str | None = None,
    src_machine: str | None = None,
    dst_machine: str | None = None,
) -> list[Suggestion]:
    """Every fix for these attempts: x-mig property values first, then stock QEMU remedies."""
    have = have or {}
    logged, set_twice = _log_settings(summaries)
    extra = _union(summaries, lambda sets: sets.fatal)
    # Registers the x-mig property already lets through must stay in the one merged value;
    # QEMU 11.1's built-in tolerances need no property.
    already_tolerated = _union(summaries, lambda sets: sets.extra_allowed_by_property)
    missing = _union(summaries, lambda sets: sets.all_missing)
    suggestions: list[Suggestion] = []

    safe = (
        extra | already_tolerated | logged.get(SAFE_MISSING, set()) | have.get(SAFE_MISSING, set())
    )
    if safe:
        parts = []
        if extra:
            parts.append(f"{_names(extra)} arrive in the stream but are unknown on the destination")
        kept = safe - extra
        if kept:
            parts.append(f"keeps what is already set ({_names(kept)})")
        if SAFE_MISSING in set_twice:
            parts.append(
                "QEMU refused a second setting of this array property: use this one merged value "
                "instead of all the others"
            )
        suggestions.append(
            _property_suggestion(
                SAFE_MISSING,
                "destination",
                safe,
                "On the destination: " + "; ".join(parts) + ".",
            )
        )
    if extra:
        # --have and the log describe the destination; the source's setting is new.
        suggestions.append(
            _property_suggestion(
                HIDDEN,
                "source",
                set(extra),
                f"On the source, through the machine type's compat: {_names(extra)} exist only "
                "there; hiding them means they are never sent, so both ends agree.",
            )
        )
    hidden_dst = missing | logged.get(HIDDEN, set()) | have.get(HIDDEN, set())
    if hidden_dst:
        reason = "On the destination: "
        if missing:
            reason += (
                f"{_names(missing)} are expected here but not in the stream; QEMU keeps the "
                "destination's own values (a warning, not a failure). Hiding them here keeps "
                "the reverse migration (back to the source) from failing on them"
            )
        else:
            reason += "keeps what is already set"
        if HIDDEN in set_twice:
            reason += "; QEMU refused a second setting of this array property: use this one value"
        suggestions.append(_property_suggestion(HIDDEN, "destination", hidden_dst, reason + "."))

    suggestions.extend(
        _stock_remedies(summaries, extra | missing, src_cpu, dst_cpu, src_machine, dst_machine)
    )
    return suggestions


def _stock_remedies(
    summaries: Sequence[AttemptSummary],
    differing: set[int],
    src_cpu: str | None,
    dst_cpu: str | None,
    src_machine: str | None,
    dst_machine: str | None,
) -> list[Suggestion]:
    remedies: list[Suggestion] = []
    builtin = differing & set(BUILTIN_TOLERANCES)
    on_11 = any(Dialect.QEMU_11 in summary.dialects for summary in summaries)
    if builtin and not on_11:
        details = "; ".join(
            f"{describe(kvm_id).name} {BUILTIN_TOLERANCES[kvm_id]}" for kvm_id in sorted(builtin)
        )
        remedies.append(
            _stock(
                "qemu-version",
                ">=11.1",
                (),
                f"Run QEMU 11.1 or newer on the destination: it tolerates these by itself "
                f"({details}). The x-mig properties exist only in QEMU builds carrying that "
                "unmerged series.",
            )
        )
    dst_cpu = dst_cpu or next(
        (s.process.cpu for s in summaries if s.process and s.process.cpu), None
    )
    dst_machine = dst_machine or next(
        (s.process.machine for s in summaries if s.process and s.process.machine), None
    )
    if src_cpu and dst_cpu and src_cpu != dst_cpu:
        remedies.append(
            _stock(
                "cpu",
                src_cpu,
                (
                    (Form.COMMAND_LINE, f"-cpu {src_cpu}"),
                    (
                        Form.LIBVIRT,
                        f"<cpu mode='custom' match='exact'><model>{src_cpu}</model></cpu>",
                    ),
                ),
                f"The source runs -cpu {src_cpu} and the destination -cpu {dst_cpu}: each model "
                "has its own register list and ID values. Start the destination with the "
                "source's -cpu.",
            )
        )
    if src_machine and dst_machine and src_machine != dst_machine:
        remedies.append(
            _stock(
                "machine",
                src_machine,
                (
                    (Form.COMMAND_LINE, f"-machine {src_machine}"),
                    (Form.LIBVIRT, f"<type machine='{src_machine}'>hvm</type>"),
                ),
                f"The source runs machine type {src_machine}, the destination {dst_machine}: "
                "keep the same versioned machine type on both ends.",
            )
        )
    unnamed = [s for s in summaries if s.naming is Naming.COUNTS and s.outcome is Outcome.FAILED]
    if any(Dialect.QEMU_11 in s.dialects for s in unnamed):
        remedies.append(
            _stock(
                "log",
                "standard error",
                ((Form.COMMAND_LINE, "reginspect report dst.stderr dst.trace.log"),),
                "QEMU 11.1 names every differing register on its standard error, not in the -D "
                "trace file: report both files together.",
            )
        )
    elif unnamed:
        remedies.append(
            _stock(
                "trace",
                TRACE_OPTIONS_11,
                ((Form.COMMAND_LINE, TRACE_OPTIONS_11),),
                "This QEMU names no register. Run the destination with QEMU 11.1 or newer (it "
                f"names every difference; add {TRACE_OPTIONS_11} for counts and tolerances), add "
                f"{TRACE_OPTIONS_XMIG} on a QEMU carrying the x-mig series, or save both streams "
                "and run `reginspect compare SRC.mig DST.mig`.",
            )
        )
    return remedies
