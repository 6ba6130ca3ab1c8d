"""`reginspect plan`: across N host configurations, which directions migrate, and the one
aggregated fix for the machine type they share.

Each input is one host configuration's register list (``reginspect.streams``: a saved stream,
a ``probe --json`` or other JSON register list, or the kernel selftest's ``get-reg-list
--list``). For every ordered pair (source -> destination) the plan tells what the destination
would make of the source's registers, in the report's words: **extra** (in the source's list,
unknown on the destination: the load fails unless tolerated), **missing** (expected by the
destination, not in the source's list: a warning), **matched**, and the matched configuration
registers whose **values** differ (``reginspect.configuration``; run-time state such
as timers differs between any two guests and is no failure).

QEMU 11.1's own tolerances (``reginspect.tolerances.judge``) count for a destination whose QEMU
the input or the command line tells is 11.1 or newer; what the plan assumes instead is stated in
its output, never guessed silently.

The aggregated fix takes its forms from the fix engine: the x-mig property values
(``suggest.format_value``, ``command_line_forms``, ``compat_form`` over ``reginspect.xmig``'s
postings, merged with ``--have`` and the machine type's compat), QEMU 11.1's tolerance lines
(``tolerances.c_line``, ``patch_lines``), and the remedies for values no property fixes. Its
types are here, not in ``reginspect.results``: the report path does not pay for them.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final, NamedTuple

from parsers.catalogue import describe
from parsers.logevents import MessageKind, Status
from parsers.regids import Accel, RegisterIdError, accel_named, format_id
from reginspect.advice import register_names
from reginspect.configuration import PSCI_VERSION, differs_in_configuration
from reginspect.errors import UserError
from reginspect.results import End, Form, RegisterResult, Route, Suggestion
from reginspect.streams import ListKind, RegisterList, load_register_list
from reginspect.suggest import (
    NOT_MIGRATED,
    STOCK,
    XMIG,
    Setting,
    command_line_forms,
    compat_form,
    format_value,
)
from reginspect.textsafe import printable
from reginspect.tolerances import (
    UINT64_MAX,
    UNDER_KVM,
    VALUE_CONDITIONS,
    WITH_HOST_CPU,
    Tolerance,
    c_line,
    judge,
    patch_lines,
)
from reginspect.tolerances import Verdict as Tolerated
from reginspect.xmig import (
    HIDDEN,
    SAFE_MISSING,
    MachineCompat,
    machine_version,
    names,
    postings_for,
    setting_machines,
)

SCHEMA: Final = "reginspect.plan/1"
TOLERANCES_SINCE: Final = (11, 1)  # the first QEMU with built-in cpreg migration tolerances
# Conditions of judge() the plan may assume, stating so: under KVM, -cpu is host (or max, which
# is host there) in practice; a list without values shows a register at its reset value.


class PlanOptions(NamedTuple):
    """What the command line says of the inputs. Each of qemu, accel, cpu: ``LABEL=VALUE``
    for one input, ``VALUE`` for every input."""

    qemu: tuple[str, ...] = ()
    accel: tuple[str, ...] = ()
    cpu: tuple[str, ...] = ()
    have: tuple[Setting, ...] = ()
    machine: str | None = None


class PlanInput(NamedTuple):
    """One host configuration: its register list and what is known of the QEMU running it."""

    label: str
    path: str
    kind: ListKind
    machine: str | None
    accel: Accel
    accel_from: str
    qemu: tuple[int, int] | None  # the QEMU version it runs, or the oldest it can be
    qemu_exact: bool  # told (--qemu), not only a lower bound (its machine type)
    qemu_from: str
    cpu: str | None
    ids: frozenset[int]
    values: Mapping[int, int]  # empty when the list carries no values
    covers: frozenset[int] | None  # register groups the list describes (None: all)
    problems: tuple[str, ...]

    def describes(self, kvm_id: int) -> bool:
        return self.covers is None or (kvm_id >> 16) & 0xFFF in self.covers

    @property
    def has_values(self) -> bool:
        return bool(self.values)

    @property
    def tolerances(self) -> bool | None:
        """Whether its QEMU has 11.1's built-in tolerances: True, False, or None (unknown)."""
        if self.qemu is None:
            return None
        if self.qemu >= TOLERANCES_SINCE:
            return True
        return False if self.qemu_exact else None

    def qemu_text(self) -> str:
        if self.qemu is None:
            return "QEMU not told"
        version = f"{self.qemu[0]}.{self.qemu[1]}"
        return f"QEMU {version}" if self.qemu_exact else f"QEMU >= {version}"


class PairVerdict(enum.StrEnum):
    MIGRATES = "migrates"
    WARNINGS = "migrates-with-warnings"  # missing registers only
    FAILS_REGISTERS = "fails-on-registers"  # extra registers the destination does not tolerate
    FAILS_VALUES = "fails-on-values"  # configuration registers whose values differ

    @property
    def fails(self) -> bool:
        return self in (PairVerdict.FAILS_REGISTERS, PairVerdict.FAILS_VALUES)


class Cell(NamedTuple):
    """One direction: the source's list as the destination would see it."""

    source: int  # index into Plan.inputs
    destination: int
    extra: frozenset[int]  # in the source's list, unknown on the destination
    tolerated: frozenset[int]  # the extra ones the destination's QEMU 11.1 lets through
    missing: frozenset[int]  # expected by the destination, not in the source's list
    missing_tolerated: frozenset[int]  # the missing ones 11.1 lets pass without a warning
    value_differs: frozenset[int]  # matched configuration registers whose values differ
    notes: tuple[str, ...]
    assumed: frozenset[str] = frozenset()  # what the tolerances counted here rest on

    @property
    def fatal(self) -> frozenset[int]:
        return self.extra - self.tolerated

    @property
    def verdict(self) -> PairVerdict:
        if self.fatal:
            return PairVerdict.FAILS_REGISTERS
        if self.value_differs:
            return PairVerdict.FAILS_VALUES
        if self.missing - self.missing_tolerated:
            return PairVerdict.WARNINGS
        return PairVerdict.MIGRATES


class Spread(NamedTuple):
    """A register not every input has: which inputs have it, and their values."""

    kvm_id: int
    present: tuple[int, ...]  # indexes of the inputs that have it
    values: tuple[tuple[int, int], ...]  # (input index, value) where the input carries values

    @property
    def agreed(self) -> int | None:
        """The value every input that has it (and carries values) holds; None if they differ
        or none carries values."""
        found = {value for _, value in self.values}
        return found.pop() if len(found) == 1 else None


class Plan(NamedTuple):
    inputs: tuple[PlanInput, ...]
    cells: tuple[Cell, ...]  # every ordered pair of different inputs, by source then destination
    differing: tuple[Spread, ...]  # registers not every input has, by id
    fixes: tuple[Suggestion, ...]
    after: tuple[Cell, ...]  # the matrix again, each list without the differing registers
    machine: str | None
    machine_from: str
    accel: Accel  # of every input, when they agree
    assumptions: tuple[str, ...]
    notes: tuple[str, ...]

    def cell(self, source: int, destination: int) -> Cell:
        count = len(self.inputs)
        return self.cells[source * (count - 1) + destination - (destination > source)]

    def name(self, kvm_id: int) -> str:
        return describe(kvm_id, self.accel).name

    @property
    def exit_status(self) -> int:
        """0 when every direction migrates (warnings allowed), else 1."""
        return 1 if any(cell.verdict.fails for cell in self.cells) else 0

    @property
    def still_failing(self) -> tuple[Cell, ...]:
        return tuple(cell for cell in self.after if cell.verdict.fails)


# -- inputs --------------------------------------------------------------------------------------

_LABEL: Final = re.compile(r"^([^=/\\]{1,64})=(.+)$", re.S)
_VERSION: Final = re.compile(r"^\s*(\d{1,3})\.(\d{1,3})(?:\.\d{1,4})?\s*$")


def split_argument(text: str) -> tuple[str | None, str]:
    """``LABEL=PATH`` -> (LABEL, PATH); a plain path (or one that exists as written) -> (None,
    PATH)."""
    match = _LABEL.match(text)
    if match is None or os.path.exists(text):
        return None, text
    return match.group(1).strip() or None, match.group(2)


def parse_version(text: str, option: str = "--qemu") -> tuple[int, int]:
    match = _VERSION.match(text)
    if match is None:
        raise UserError(f"{option}: {text!r} is not a QEMU version such as 11.1 or 10.0.13.")
    return int(match.group(1)), int(match.group(2))


def _labels(paths: Sequence[str]) -> list[str]:
    """Each file's name; where names repeat (src.mig.xz of two cases), the shortest ending of
    its path that tells them apart."""
    parts = [os.path.normpath(path).split(os.sep) for path in paths]
    depth = [1] * len(paths)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        seen: dict[str, list[int]] = {}
        for index, label in enumerate(labels):
            seen.setdefault(label, []).append(index)
        clashes = [i for group in seen.values() if len(group) > 1 for i in group]
        grown = [i for i in clashes if depth[i] < len(parts[i])]
        if not grown:
            return labels
        for index in grown:
            depth[index] += 1


def _per_input(texts: Iterable[str], labels: Sequence[str], option: str) -> list[str | None]:
    """Each input's value of an option given as ``LABEL=VALUE`` or ``VALUE`` (every input; a
    labelled value wins). A -cpu model may hold "=" itself (``host,pmu=off``)."""
    every: str | None = None
    found: list[str | None] = [None] * len(labels)
    for text in texts:
        head, sep, tail = text.partition("=")
        if sep and head.strip() in labels:
            found[labels.index(head.strip())] = tail.strip()
        elif sep and option != "--cpu":
            raise UserError(
                f"{option}: no input is labelled {head.strip()!r} (labels: {', '.join(labels)})."
            )
        else:
            every = text.strip()
    return [every if value is None else value for value in found]


def _first_cpu(registers: RegisterList) -> tuple[dict[int, int | None], list[str]]:
    """The list of the lowest-numbered CPU, with a note when the CPUs differ."""
    instances = sorted(registers.cpus)
    first = registers.cpus[instances[0]]
    notes = []
    if any(registers.cpus[other].keys() != first.keys() for other in instances[1:]):
        notes.append(
            f"{registers.name}: its CPUs carry different register lists; the plan uses cpu "
            f"{instances[0]}'s."
        )
    return first, notes


def load_inputs(arguments: Sequence[str], options: PlanOptions) -> tuple[PlanInput, ...]:
    """Read every input (``[LABEL=]PATH``); UserError for what cannot be a plan's input."""
    if len(arguments) < 2:
        raise UserError("plan: give at least two register lists (one per host configuration).")
    split = [split_argument(argument) for argument in arguments]
    paths = [path for _, path in split]
    real = [os.path.realpath(path) for path in paths]
    twice = next(
        (path for path, full in zip(paths, real, strict=True) if real.count(full) > 1), None
    )
    if twice is not None:
        raise UserError(
            f"plan: {printable(twice)} is given twice; give each host configuration once."
        )
    defaults = _labels(paths)
    labels = [label or default for (label, _), default in zip(split, defaults, strict=True)]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise UserError(f"plan: the label {repeated[0]!r} names two inputs; give LABEL=PATH.")
    qemus = _per_input(options.qemu, labels, "--qemu")
    accels = _per_input(options.accel, labels, "--accel")
    cpus = _per_input(options.cpu, labels, "--cpu")
    inputs = []
    for index, path in enumerate(paths):
        registers = load_register_list(path)
        first, notes = _first_cpu(registers)
        values = {kvm_id: value for kvm_id, value in first.items() if value is not None}
        accel, accel_from = registers.accel, _accel_evidence(registers)
        if accels[index] is not None:
            told = accel_named(accels[index])
            if told is None:
                raise UserError(f"--accel: {accels[index]!r} is not kvm or tcg.")
            accel, accel_from = told, "--accel"
        qemu, exact, qemu_from = _qemu(qemus[index], registers.machine)
        inputs.append(
            PlanInput(
                labels[index],
                path,
                registers.kind,
                registers.machine,
                accel,
                accel_from,
                qemu,
                exact,
                qemu_from,
                cpus[index],
                frozenset(first),
                MappingProxyType(values),
                registers.covers,
                tuple(registers.problems + notes),
            )
        )
    return tuple(inputs)


def _accel_evidence(registers: RegisterList) -> str:
    if registers.kind is ListKind.GET_REG_LIST:
        return "the kernel's own list"
    if registers.accel is Accel.KVM:
        return "KVM's own registers in the list"
    return "no KVM register in the list"


def _qemu(told: str | None, machine: str | None) -> tuple[tuple[int, int] | None, bool, str]:
    if told is not None:
        return parse_version(told), True, "--qemu"
    known, version = machine_version(machine)
    if known and version is not None:
        return version, False, f"machine type {machine}"
    return None, False, ""


# -- the matrix ---------------------------------------------------------------------------------


def _failing_values(matched: Iterable[int], source: PlanInput, destination: PlanInput) -> set[int]:
    """Matched configuration registers whose values differ, which the destination refuses; a
    lower PSCI version is taken (Linux's kvm_arm_set_fw_reg() accepts any it implements)."""
    if not source.has_values or not destination.has_values:
        return set()
    found = set()
    for kvm_id in matched:
        sent, kept = source.values.get(kvm_id), destination.values.get(kvm_id)
        if sent is None or kept is None or not differs_in_configuration(kvm_id, sent, kept):
            continue
        if kvm_id == PSCI_VERSION and sent < kept:
            continue
        found.add(kvm_id)
    return found


class _Judged(NamedTuple):
    tolerated: frozenset[int]
    conditions: frozenset[str]  # the assumptions the tolerance rests on


def _tolerated(
    ids: Iterable[int], status: Status, source: PlanInput, destination: PlanInput
) -> _Judged:
    """Which of ``ids`` QEMU 11.1 on the destination lets through by itself, assuming -cpu host
    or max under KVM where --cpu does not say, and the reset value where the source's list
    carries no value."""
    tolerated: set[int] = set()
    conditions: set[str] = set()
    for kvm_id in ids:
        value = source.values.get(kvm_id) if status is Status.EXTRA else None
        verdict = judge(kvm_id, status, destination.accel, destination.cpu, value)
        if verdict.verdict is Tolerated.NO:
            continue
        assumed = set(verdict.conditions)
        if UNDER_KVM in assumed:
            continue  # the accelerator is not known
        if assumed & VALUE_CONDITIONS and source.has_values:
            continue
        tolerated.add(kvm_id)
        conditions |= assumed
    return _Judged(frozenset(tolerated), frozenset(conditions))


def pair_cell(
    source_index: int, destination_index: int, inputs: Sequence[PlanInput], accel: Accel
) -> Cell:
    """What the destination would make of the source's list."""
    source, destination = inputs[source_index], inputs[destination_index]
    sent = {kvm_id for kvm_id in source.ids if destination.describes(kvm_id)}
    kept = {kvm_id for kvm_id in destination.ids if source.describes(kvm_id)}
    extra, missing = frozenset(sent - kept), frozenset(kept - sent)
    values = frozenset(_failing_values(sent & kept, source, destination))
    notes: list[str] = []
    tolerated = missing_tolerated = frozenset[int]()
    assumed: frozenset[str] = frozenset()
    if destination.tolerances:
        judged = _tolerated(extra, Status.EXTRA, source, destination)
        tolerated, assumed = judged.tolerated, judged.conditions
        missing_tolerated = _tolerated(missing, Status.MISSING, source, destination).tolerated
        if tolerated:
            condition = f" (assumed: {', '.join(sorted(assumed))})" if assumed else ""
            notes.append(
                f"QEMU 11.1 on {destination.label} tolerates {_names(tolerated, accel)} by "
                f"itself{condition}."
            )
    elif destination.tolerances is None and extra:
        would = _tolerated(extra, Status.EXTRA, source, destination._replace(qemu=(11, 1)))
        if would.tolerated:
            notes.append(
                f"QEMU >= 11.1 on {destination.label} would tolerate "
                f"{_names(would.tolerated, accel)} by itself: --qemu {destination.label}=11.1 "
                "if it runs 11.1."
            )
    return Cell(
        source_index,
        destination_index,
        extra,
        tolerated,
        missing,
        missing_tolerated,
        values,
        tuple(notes),
        assumed,
    )


def _names(ids: Iterable[int], accel: Accel, limit: int = 12) -> str:
    return register_names(sorted(ids), limit, accel)


def matrix(inputs: Sequence[PlanInput], accel: Accel) -> tuple[Cell, ...]:
    """Every ordered pair of different inputs, by source then destination."""
    return tuple(
        pair_cell(source, destination, inputs, accel)
        for source in range(len(inputs))
        for destination in range(len(inputs))
        if source != destination
    )


def without(inputs: Sequence[PlanInput], ids: frozenset[int]) -> tuple[PlanInput, ...]:
    """The inputs as a host that hides ``ids`` would show them."""
    return tuple(
        each._replace(
            ids=each.ids - ids,
            values=MappingProxyType({k: v for k, v in each.values.items() if k not in ids}),
        )
        for each in inputs
    )


def differing(inputs: Sequence[PlanInput]) -> tuple[Spread, ...]:
    """Every register that not every input has (among the inputs whose lists describe it)."""
    union = frozenset().union(*(each.ids for each in inputs))
    spreads = []
    for kvm_id in sorted(union):
        describing = [i for i, each in enumerate(inputs) if each.describes(kvm_id)]
        present = tuple(i for i in describing if kvm_id in inputs[i].ids)
        if len(present) == len(describing):
            continue
        values = tuple((i, inputs[i].values[kvm_id]) for i in present if kvm_id in inputs[i].values)
        spreads.append(Spread(kvm_id, present, values))
    return tuple(spreads)


# -- the aggregated fix -------------------------------------------------------------------------


def _losses(spreads: Sequence[Spread]) -> tuple[tuple[int, int], ...]:
    return tuple(
        sorted({(s.kvm_id, value) for s in spreads for _, value in s.values if value != 0})
    )


def _state(spreads: Sequence[Spread], inputs: Sequence[PlanInput], accel: Accel) -> str:
    """The guest-state sentence of a hide or tolerate fix: the values it gives up."""
    holders: dict[tuple[int, int], list[str]] = {}
    for spread in spreads:
        for i, value in spread.values:
            if value != 0:
                holders.setdefault((spread.kvm_id, value), []).append(inputs[i].label)
    lost = [
        f"{describe(kvm_id, accel).name} = {value:#x} ({', '.join(labels)})"
        for (kvm_id, value), labels in holders.items()
    ]
    if lost:
        listed = ", ".join(lost[:12]) + (f" and {len(lost) - 12} more" if len(lost) > 12 else "")
        return (
            f"{NOT_MIGRATED}. Values other than 0 in the inputs, which a guest would lose: "
            f"{listed}."
        )
    if any(s.values for s in spreads):
        bare = [s for s in spreads if not s.values]
        rest = f" ({len(bare)} of them in no list that carries values)" if bare else ""
        return f"{NOT_MIGRATED}; the inputs that carry values hold 0 for each of them{rest}."
    return (
        f"{NOT_MIGRATED}. No input carries their values (get-reg-list lists have none): a saved "
        "stream or `probe --json` of a configuration shows them."
    )


def _xmig_qemu(machine: str | None) -> str:
    label = "QEMU builds carrying the x-mig series, never merged upstream"
    return label + (f"; machine type {machine}" if machine else "")


def _property_fix(
    property_name: str,
    side: End,
    wanted: frozenset[int],
    have: frozenset[int],
    compat: MachineCompat,
    what: str,
    state: str,
    loses: tuple[tuple[int, int], ...],
) -> Suggestion:
    """One x-mig property's aggregated value, merged with --have and the machine type's compat:
    a -global where nothing else sets it; where the compat does, only the compat form."""
    from_compat = compat.ids(property_name)
    value_ids = wanted | have | from_compat
    value = format_value(value_ids)
    change = compat_form(property_name, compat, wanted, have)
    sets = compat.sets(property_name)
    parts = [what]
    merged = (have | from_compat) - wanted
    if merged:
        parts.append(
            f"Merged with what is set already ({register_names(sorted(merged))}: --have and "
            "the machine type's compat): one value, set once."
        )
    if sets is True:
        parts.append(
            f"{compat.machine} already sets {property_name} in its compat (x-mig "
            f"{names(compat.setters(property_name))}): QEMU refuses any second setting of an "
            "array property, so no command-line form can carry this value; it goes into the "
            "machine type's compat in the source code (hw/arm/virt.c), below."
        )
        forms: tuple[tuple[Form, str], ...] = ((Form.COMPAT, change),)
    else:
        if sets is None:
            parts.append(
                f"The -global holds where the machine type's compat does not set {property_name} "
                f"(x-mig {setting_machines(property_name, compat.postings) or 'none'}); where it "
                "does, only the compat form works."
            )
        forms = (*command_line_forms(property_name, value), (Form.COMPAT, change))
    aborting = compat.twice(property_name)
    if aborting:
        parts.append(
            f"On x-mig {names(aborting)} builds this machine type's compat sets it twice itself "
            "(two levels of its chain) and QEMU aborts at start: the compat form's one entry "
            "replaces both."
        )
    parts.append(state)
    return Suggestion(
        property_name,
        side,
        tuple(sorted(value_ids)),
        value,
        forms,
        " ".join(parts),
        XMIG,
        Route.XMIG,
        _xmig_qemu(compat.machine),
        loses,
    )


def _tolerance_fix(
    spreads: Sequence[Spread], inputs: Sequence[PlanInput], accel: Accel
) -> Suggestion:
    """QEMU >= 11.1's tolerance lines for the differing registers: ToleranceOnlySrcTestValue
    with the value every input that has the register holds, else ToleranceNotOnBothEnds; a
    comment where 11.1 registers one already (a second registration fails an assertion)."""
    by_id = {s.kvm_id: s for s in spreads}
    agreed = {s.kvm_id: value for s in spreads if (value := s.agreed) is not None}
    lines = patch_lines(dict.fromkeys(by_id, Status.EXTRA), agreed, accel)
    texts = []
    for line in lines:
        if line.tolerance is None:
            texts.append(line.text())
            continue
        name = describe(line.kvm_id, accel).name
        spread = by_id[line.kvm_id]
        where = "; TCG only: under KVM -cpu host QEMU 11.1 registers one already"
        where = where if line.tcg_only else ""
        value = agreed.get(line.kvm_id)
        if value is not None:
            shown = f"{value:#x}" if value else "0"
            texts.append(
                f"/* {name}{where}: passes only while the source's value is {shown}, the value "
                "of every input that has it */\n"
                + c_line(line.kvm_id, Tolerance.ONLY_SRC_TEST_VALUE, UINT64_MAX, value)
            )
            continue
        why = "the inputs hold different values" if spread.values else "no input shows its value"
        texts.append(
            f"/* {name}{where}: {why} */\n" + c_line(line.kvm_id, Tolerance.NOT_ON_BOTH_ENDS)
        )
    if accel is Accel.KVM:
        where_text = "inside kvm_arm_set_cpreg_mig_tolerances() (KVM -cpu host or max)"
    elif accel is Accel.TCG:
        where_text = "after define_debug_regs() in register_cp_regs_for_features() (TCG)"
    else:
        where_text = (
            "inside kvm_arm_set_cpreg_mig_tolerances() for KVM -cpu host or max, after "
            "define_debug_regs() in register_cp_regs_for_features() for TCG"
        )
    reason = (
        f"A QEMU source change (a downstream patch, as distributions backport upstream's "
        f"mechanism), not a command-line switch: the same {len(spreads)} registers, one line "
        f"each, {where_text}, for every destination. ToleranceOnlySrcTestValue (with the value "
        "every input that has the register agrees on) lets the register arrive only while the "
        "source holds that value, and covers no register missing from the stream (a warning "
        "only); ToleranceNotOnBothEnds lets it be missing on either end. "
        + _state(spreads, inputs, accel)
    )
    qemu = "QEMU >= 11.1 with a downstream patch" + (
        f", {accel.upper()}" if accel is not Accel.UNKNOWN else ""
    )
    return Suggestion(
        "tolerance",
        End.DESTINATION,
        tuple(sorted(by_id)),
        "",
        ((Form.TOLERANCE, "\n".join(texts)),),
        reason,
        STOCK,
        Route.UPSTREAM,
        qemu,
        _losses(spreads),
    )


def _value_remedies(
    failing: Sequence[Cell], inputs: Sequence[PlanInput], accel: Accel
) -> list[Suggestion]:
    """What is left once the register sets agree: values no property or tolerance fixes."""
    remedies: list[Suggestion] = []
    values = frozenset().union(*(cell.value_differs for cell in failing))
    psci = {value for each in inputs if (value := each.values.get(PSCI_VERSION)) is not None}
    if PSCI_VERSION in values and psci:
        oldest = min(psci)
        version = f"{oldest >> 16}.{oldest & 0xFFFF}"
        remedies.append(
            Suggestion(
                "kvm-psci-version",
                End.SOURCE,
                (PSCI_VERSION,),
                version,
                ((Form.COMMAND_LINE, f"-cpu host,kvm-psci-version={version}"),),
                f"The hosts' kernels offer different PSCI versions and a kernel refuses a newer "
                f"one than its own: start every guest with the oldest, {version}, so that it "
                "migrates in every direction (a new start: a running guest keeps its version).",
                STOCK,
                Route.UPSTREAM,
                "QEMU >= 11.1 on every host (kvm-psci-version; QEMU 10.x has no such property), "
                "KVM",
            )
        )
    others = values - {PSCI_VERSION}
    if others:
        pairs = [
            f"{inputs[c.source].label} -> {inputs[c.destination].label}"
            for c in failing
            if c.value_differs - {PSCI_VERSION}
        ]
        shown = ", ".join(pairs[:6]) + (f" and {len(pairs) - 6} more" if len(pairs) > 6 else "")
        remedies.append(
            Suggestion(
                "cpu",
                End.EVERY_HOST,
                tuple(sorted(others)),
                "",
                (),
                f"Configuration registers differ in value ({_names(others, accel)}) in "
                f"{len(pairs)} direction(s): {shown}. No property or tolerance helps "
                "with a value: the same -cpu model on every host of the set (under KVM, the same "
                "host CPU and kernel features), or leave those directions out of the promise.",
                STOCK,
                Route.ANY,
                "any QEMU",
            )
        )
    return remedies


def aggregated_fixes(
    inputs: Sequence[PlanInput],
    cells: Sequence[Cell],
    spreads: Sequence[Spread],
    after: Sequence[Cell],
    options: PlanOptions,
    machine: str | None,
    accel: Accel,
) -> tuple[Suggestion, ...]:
    """Every form of the one fix for the whole set, then what still fails after it."""
    fixes: list[Suggestion] = []
    compat = MachineCompat(machine, postings_for(machine))
    have = {
        name: frozenset(k for s in options.have if s.property == name for k in s.ids)
        for name in (HIDDEN, SAFE_MISSING)
    }
    hidden = frozenset(s.kvm_id for s in spreads)
    extra = frozenset().union(*(cell.extra for cell in cells))
    state = _state(spreads, inputs, accel)
    # Nothing to hide or let through: what is set already stays as it is, no fix to add.
    if hidden:
        fixes.append(
            _property_fix(
                HIDDEN,
                End.EVERY_HOST,
                hidden,
                have[HIDDEN],
                compat,
                f"Every host hides the {len(hidden)} registers not every input has "
                f"({_names(hidden, accel)}): each host's list is then the common one, so the "
                "machine type sees the same registers on every host kernel and QEMU of the set, "
                "in every direction. One value for every host, best through the machine type's "
                "compat.",
                state,
                _losses(spreads),
            )
        )
    if extra:
        let_through = [s for s in spreads if s.kvm_id in extra]
        fixes.append(
            _property_fix(
                SAFE_MISSING,
                End.DESTINATION,
                extra,
                have[SAFE_MISSING],
                compat,
                f"Every destination lets through the {len(extra)} registers some source sends "
                f"and it lacks (the union of every direction's extra registers): the lists still "
                "differ, registers missing from a stream stay warnings, and each host keeps "
                "sending what it has.",
                _state(let_through, inputs, accel),
                _losses(let_through),
            )
        )
    if spreads:
        fixes.append(_tolerance_fix(spreads, inputs, accel))
    fixes.extend(_value_remedies([c for c in after if c.verdict.fails], inputs, accel))
    return tuple(fixes)


# -- the plan -----------------------------------------------------------------------------------


def _machine(inputs: Sequence[PlanInput], options: PlanOptions) -> tuple[str | None, str]:
    if options.machine:
        return options.machine, "--machine"
    found = {each.machine for each in inputs if each.machine}
    if len(found) == 1:
        return found.pop(), "the inputs"
    return None, ""


def _assumptions(inputs: Sequence[PlanInput], cells: Sequence[Cell]) -> list[str]:
    told = []
    unknown = [each.label for each in inputs if each.tolerances is None]
    if unknown:
        told.append(
            f"The QEMU version of {', '.join(unknown)} is not told by the input (a machine "
            "type virt-X.Y says only QEMU >= X.Y): QEMU 11.1's own tolerances are not counted "
            "there as a destination. --qemu LABEL=VERSION (or --qemu VERSION for every input) "
            "says which QEMU runs each."
        )
    guessed = [
        each.label
        for each in inputs
        if each.tolerances and each.accel is Accel.KVM and each.cpu is None
    ]
    if guessed and any(WITH_HOST_CPU in cell.assumed for cell in cells):
        told.append(
            f"-cpu host (or max) assumed on {', '.join(guessed)} under KVM, as QEMU 11.1's "
            "tolerances require; --cpu LABEL=MODEL says otherwise."
        )
    if any(cell.assumed & VALUE_CONDITIONS for cell in cells):
        told.append(
            "A register of a list without values (get-reg-list) is assumed at its reset value "
            "0 where a QEMU 11.1 tolerance tests the value."
        )
    return told


def _notes(inputs: Sequence[PlanInput], cells: Sequence[Cell]) -> list[str]:
    notes = [problem for each in inputs for problem in each.problems]
    machines = sorted({each.machine for each in inputs if each.machine})
    if len(machines) > 1:
        notes.append(
            f"The inputs' machine types differ ({', '.join(machines)}): QEMU migrates only "
            "between equal ones; the plan compares the register lists all the same."
        )
    if not all(each.has_values for each in inputs):
        bare = [each.label for each in inputs if not each.has_values]
        notes.append(
            f"{', '.join(bare)} carry no values: directions from or to them show only "
            "list differences."
        )
    partial = [each.label for each in inputs if each.covers is not None]
    if partial:
        notes.append(
            f"{', '.join(partial)} (get-reg-list) show no DEMUX (CCSIDR) register unless "
            "--list-filtered's output is appended: those are compared only between lists that "
            "show them."
        )
    if any(each.accel is Accel.KVM for each in inputs) and any(c.value_differs for c in cells):
        notes.append(
            "Under KVM the kernel takes some ID register values (a subset of its host's "
            "features), yet the destination's own registers for the features they turn off then "
            "fail to load: every configuration register whose value differs counts as a "
            "failure, but a lower PSCI version, which KVM accepts."
        )
    versions = {each.qemu if each.qemu_exact else None for each in inputs}
    if len(versions) > 1 or None in versions:
        notes.append(
            "The plan judges register lists: device state that a newer QEMU sends and an older "
            "one cannot read (a subsection such as cpu/wfxt-timer or cpu/fpmr) fails a backward "
            "direction too, and no register list shows it."
        )
    notes.append(
        "Values are compared for configuration registers only (ID registers, CLIDR, AIDR, CTR, "
        "DEMUX, firmware): run-time state such as timers and counters differs between any two "
        "guests and fails nothing."
    )
    return notes


def build_plan(inputs: Sequence[PlanInput], options: PlanOptions) -> Plan:
    accels = {each.accel for each in inputs}
    accel = accels.pop() if len(accels) == 1 else Accel.UNKNOWN
    cells = matrix(inputs, accel)
    spreads = differing(inputs)
    after = matrix(without(inputs, frozenset(s.kvm_id for s in spreads)), accel)
    machine, machine_from = _machine(inputs, options)
    fixes = aggregated_fixes(inputs, cells, spreads, after, options, machine, accel)
    return Plan(
        tuple(inputs),
        cells,
        spreads,
        fixes,
        after,
        machine,
        machine_from,
        accel,
        tuple(_assumptions(inputs, cells)),
        tuple(_notes(inputs, cells)),
    )


def plan_files(arguments: Sequence[str], options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    return build_plan(load_inputs(arguments, options), options)


# -- one direction's registers, for people --------------------------------------------------------


def pair_registers(plan: Plan, cell: Cell) -> tuple[RegisterResult, ...]:
    """The registers of one direction that matter: extra, missing and the configuration ones
    whose values differ, as the report and the TUI's register table show registers."""
    source, destination = plan.inputs[cell.source], plan.inputs[cell.destination]
    rows = []
    wanted = (
        [(k, Status.EXTRA, k in cell.tolerated) for k in cell.extra]
        + [(k, Status.MISSING, k in cell.missing_tolerated) for k in cell.missing]
        + [(k, Status.MATCHED, False) for k in cell.value_differs]
    )
    for kvm_id, status, tolerated in sorted(wanted):
        try:
            info = describe(kvm_id, plan.accel)
        except RegisterIdError:  # the readers accept only ids the catalogue describes
            continue
        rows.append(
            RegisterResult(
                kvm_id,
                info,
                status,
                tolerated,
                MessageKind.STREAM,
                format_id(kvm_id),
                (),
                (0,),
                source.values.get(kvm_id),
                destination.values.get(kvm_id),
            )
        )
    return tuple(rows)
