"""Upstream QEMU's mechanism (11.1 and the distributions that backport it): cpreg migration
tolerances registered in code, the ones 11.1 registers by itself, and the C lines a downstream
patch adds for more registers.

``arm_register_cpreg_mig_tolerance(cpu, id, mask, value, type)`` (target-arm pull of
2026-04-27): ``ToleranceNotOnBothEnds`` lets a register be missing on either end;
``ToleranceOnlySrcTestValue`` lets it arrive in the stream for a destination that lacks it only
if ``(stream value & mask) == value`` (it never covers a register missing from the stream).
A second registration for the same id fails an assertion, so a patch must not repeat a
built-in one.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import enum
from collections.abc import Iterable, Mapping
from typing import Final, NamedTuple

from parsers.catalogue import describe
from parsers.logevents import Status
from parsers.regids import (
    ARCH_ARM64,
    GROUP_FW,
    GROUP_FW_FEAT,
    GROUP_SYSREG,
    Accel,
    RegisterIdError,
    format_id,
    split_id,
    sysreg_fields,
)
from reginspect.xmig import DBGDTRTX, PIR_EL1, PIRE0_EL1, TCR2_EL1, VENDOR_HYP_BMAP_2

UINT64_MAX: Final = (1 << 64) - 1
# Under KVM the host CPU's tolerances apply to -cpu host, and to -cpu max (which is host there).
HOST_CPUS: Final = frozenset({"host", "max"})


class Tolerance(enum.StrEnum):
    NOT_ON_BOTH_ENDS = "ToleranceNotOnBothEnds"
    ONLY_SRC_TEST_VALUE = "ToleranceOnlySrcTestValue"


class Builtin(NamedTuple):
    """A tolerance QEMU 11.1 registers by itself."""

    kvm_id: int
    tolerance: Tolerance
    mask: int
    value: int
    kvm_host_only: bool  # registered by kvm_arm_set_cpreg_mig_tolerances() (KVM -cpu host/max)
    where: str

    def covers(self, status: Status) -> bool:
        """Whether the tolerance lets a register with this status through at all."""
        if status is Status.EXTRA:
            return True
        return status is Status.MISSING and self.tolerance is Tolerance.NOT_ON_BOTH_ENDS


_HOST = "kvm_arm_set_cpreg_mig_tolerances(), KVM -cpu host or max only"
BUILTINS: Final[Mapping[int, Builtin]] = {
    builtin.kvm_id: builtin
    for builtin in (
        Builtin(TCR2_EL1, Tolerance.NOT_ON_BOTH_ENDS, 0, 0, True, _HOST),
        Builtin(PIRE0_EL1, Tolerance.NOT_ON_BOTH_ENDS, 0, 0, True, _HOST),
        Builtin(PIR_EL1, Tolerance.NOT_ON_BOTH_ENDS, 0, 0, True, _HOST),
        Builtin(VENDOR_HYP_BMAP_2, Tolerance.ONLY_SRC_TEST_VALUE, UINT64_MAX, 0, True, _HOST),
        Builtin(
            DBGDTRTX,
            Tolerance.NOT_ON_BOTH_ENDS,
            0,
            0,
            False,
            "register_cp_regs_for_features(), every ARMv7 or later CPU, any accelerator",
        ),
    )
}


def _number(value: int) -> str:
    return f"{value:#x}" if value else "0"


# The conditions a Verdict.IF rests on, as its Judgement words them.
UNDER_KVM: Final = "under KVM"
WITH_HOST_CPU: Final = "with -cpu host or max"


def value_condition(value: int) -> str:
    return f"while the value is {_number(value)}"


VALUE_CONDITIONS: Final = frozenset(
    value_condition(b.value)
    for b in BUILTINS.values()
    if b.tolerance is Tolerance.ONLY_SRC_TEST_VALUE
)


class Verdict(enum.Enum):
    YES = "yes"
    NO = "no"
    IF = "if"  # tolerated under a condition the log does not tell (accelerator, -cpu, value)


class Judgement(NamedTuple):
    verdict: Verdict
    conditions: tuple[str, ...] = ()  # what must hold, for Verdict.IF
    why_not: str = ""  # for Verdict.NO


def judge(
    kvm_id: int,
    status: Status,
    accel: Accel,
    cpu: str | None,
    stream_value: int | None,
) -> Judgement:
    """Whether QEMU 11.1 lets this difference through by itself, here."""
    builtin = BUILTINS.get(kvm_id)
    if builtin is None:
        return Judgement(Verdict.NO, why_not="no tolerance in QEMU 11.1")
    if not builtin.covers(status):
        return Judgement(
            Verdict.NO, why_not=f"QEMU 11.1's {builtin.tolerance} covers no {status} register"
        )
    conditions: list[str] = []
    if builtin.kvm_host_only:
        if accel is Accel.TCG:
            return Judgement(Verdict.NO, why_not="QEMU 11.1 tolerates under KVM only")
        if cpu is not None and cpu not in HOST_CPUS:
            return Judgement(
                Verdict.NO, why_not=f"QEMU 11.1 tolerates for -cpu host or max only, not {cpu}"
            )
        if accel is not Accel.KVM:
            conditions.append(UNDER_KVM)
        if cpu is None:
            conditions.append(WITH_HOST_CPU)
    if builtin.tolerance is Tolerance.ONLY_SRC_TEST_VALUE:
        if stream_value is None:
            conditions.append(value_condition(builtin.value))
        elif stream_value & builtin.mask != builtin.value:
            return Judgement(
                Verdict.NO,
                why_not=f"QEMU 11.1 tolerates only the value {_number(builtin.value)}",
            )
    return Judgement(Verdict.IF if conditions else Verdict.YES, tuple(conditions))


class WayBack(NamedTuple):
    """What a QEMU 11.1 destination would do with registers when the guest migrates back: the
    registers missing from this stream would be in that stream, on a destination (this one's
    source) that lacks them."""

    fails: tuple[tuple[int, str], ...]  # (id, why QEMU 11.1 does not tolerate it there)
    tolerated: tuple[tuple[int, tuple[str, ...]], ...]  # (id, conditions; () = always)


def way_back(
    missing: Iterable[int], accel: Accel, cpu: str | None, values: Mapping[int, int]
) -> WayBack:
    """Judge each register missing here as the extra register it becomes on the way back, with
    the value this destination holds (``values``) as the value that stream would carry."""
    fails: list[tuple[int, str]] = []
    tolerated: list[tuple[int, tuple[str, ...]]] = []
    for kvm_id in sorted(set(missing)):
        verdict = judge(kvm_id, Status.EXTRA, accel, cpu, values.get(kvm_id))
        if verdict.verdict is Verdict.NO:
            fails.append((kvm_id, verdict.why_not))
        else:
            tolerated.append((kvm_id, verdict.conditions))
    return WayBack(tuple(fails), tuple(tolerated))


def c_id(kvm_id: int) -> str:
    """The register id as the kernel's macros write it: ARM64_SYS_REG(op0, op1, crn, crm, op2),
    KVM_REG_ARM_FW_REG(n), KVM_REG_ARM_FW_FEAT_BMAP_REG(n), else the 64-bit id."""
    try:
        arch, _, group, index = split_id(kvm_id)
    except RegisterIdError:
        return f"{format_id(kvm_id)}ULL"
    if arch == ARCH_ARM64 and group == GROUP_SYSREG:
        op0, op1, crn, crm, op2 = sysreg_fields(index)
        return f"ARM64_SYS_REG({op0}, {op1}, {crn}, {crm}, {op2})"
    if arch == ARCH_ARM64 and group == GROUP_FW:
        return f"KVM_REG_ARM_FW_REG({index})"
    if arch == ARCH_ARM64 and group == GROUP_FW_FEAT:
        return f"KVM_REG_ARM_FW_FEAT_BMAP_REG({index})"
    return f"{format_id(kvm_id)}ULL"


def c_line(kvm_id: int, tolerance: Tolerance, mask: int = 0, value: int = 0) -> str:
    mask_text = "UINT64_MAX" if mask == UINT64_MAX else f"{mask:#x}" if mask else "0"
    value_text = f"{value:#x}" if value else "0"
    return (
        f"arm_register_cpreg_mig_tolerance(cpu, {c_id(kvm_id)}, {mask_text}, {value_text}, "
        f"{tolerance});"
    )


class Line(NamedTuple):
    """One register's line of the patch."""

    kvm_id: int
    status: Status
    tolerance: Tolerance | None  # None: QEMU 11.1 registers one already (comment only)
    # The value the register carries in the stream it is extra in: the source's for an extra
    # register; for a missing one, this destination's (the way back).
    stream_value: int | None
    tcg_only: bool = False  # QEMU 11.1 registers one for KVM -cpu host: a patch line for TCG

    def text(self) -> str:
        name = describe(self.kvm_id).name
        extra = self.status is Status.EXTRA
        where = "extra" if extra else "missing: extra on the way back"
        owner = "the source's" if extra else "this destination's"
        if self.tcg_only:
            where += "; TCG only: under KVM -cpu host QEMU 11.1 registers one already"
        if self.tolerance is None:
            builtin = BUILTINS[self.kvm_id]
            note = ""
            if builtin.tolerance is Tolerance.ONLY_SRC_TEST_VALUE:
                note = f"; it passes only while its value is {_number(builtin.value)}"
                if self.stream_value is not None:
                    note += f" ({owner} is {_number(self.stream_value)})"
            return (
                f"/* {name} ({where}): QEMU 11.1 registers one already ({builtin.where}){note} */"
            )
        if self.tolerance is Tolerance.ONLY_SRC_TEST_VALUE:
            comment = f"/* {name} ({where}): tolerated only while {owner} value is 0 */"
            return comment + "\n" + c_line(self.kvm_id, self.tolerance, UINT64_MAX, 0)
        note = ""
        if self.stream_value:
            note = (
                f"; {owner} value {self.stream_value:#x} would be lost (stricter: "
                f"{Tolerance.ONLY_SRC_TEST_VALUE} with mask UINT64_MAX, value 0 refuses the "
                "migration while the guest uses it)"
            )
        return f"/* {name} ({where}){note} */\n" + c_line(self.kvm_id, self.tolerance)

    @property
    def adds(self) -> bool:
        """Whether the patch adds a line for it (not a comment on QEMU 11.1's own)."""
        return self.tolerance is not None


def patch_lines(
    registers: Mapping[int, Status],
    stream_values: Mapping[int, int],
    accel: Accel,
    destination_values: Mapping[int, int] | None = None,
) -> tuple[Line, ...]:
    """One line per register: ToleranceOnlySrcTestValue (value 0) for an extra register whose
    saved value is 0, else ToleranceNotOnBothEnds; a comment for those 11.1 registers already
    (for this accelerator; KVM's host-only ones are new under TCG). A missing register's value
    is the destination's (``destination_values``): the one it carries on the way back."""
    lines = []
    for kvm_id, status in sorted(registers.items()):
        builtin = BUILTINS.get(kvm_id)
        if status is Status.EXTRA:
            value = stream_values.get(kvm_id)
        else:
            value = (destination_values or {}).get(kvm_id)
        if builtin is not None and (not builtin.kvm_host_only or accel is Accel.KVM):
            lines.append(Line(kvm_id, status, None, value))
            continue
        tcg_only = builtin is not None and accel is Accel.UNKNOWN
        if status is Status.EXTRA and value == 0:
            tolerance = Tolerance.ONLY_SRC_TEST_VALUE
        else:
            tolerance = Tolerance.NOT_ON_BOTH_ENDS
        lines.append(Line(kvm_id, status, tolerance, value, tcg_only))
    return tuple(lines)
