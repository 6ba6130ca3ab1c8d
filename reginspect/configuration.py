"""Configuration registers versus run-time state, and what some of KVM's registers mean.

A CPU's migrated registers are of two kinds (qemu-facts §8):

- configuration: ID registers and the like, set by the -cpu model (under KVM by the host CPU,
  its kernel and KVM's properties). A difference means the two ends are not configured alike;
  QEMU under TCG refuses a read-only one that differs, KVM a value its host does not offer.
- run-time state: timers, counters, the guest's system registers. Two guests' values always
  differ, and the destination simply writes the stream's.

KVM's firmware registers carry versions and feature bitmaps (configuration too); the PSCI
version is ``major << 16 | minor``. Some registers exist for a guest only while an ID register
field says the feature is there: KVM reads that field from the guest's ID register, which
userspace writes first, so a source whose ID register lacks the feature hides the register on
the destination.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

from collections.abc import Mapping
from typing import Final, NamedTuple

from parsers.catalogue import describe
from parsers.regids import (
    ARCH_ARM64,
    GROUP_DEMUX,
    GROUP_FW,
    GROUP_FW_FEAT,
    GROUP_SVE,
    GROUP_SYSREG,
    SIZE_U64,
    RegisterIdError,
    cp_fields,
    split_id,
    sysreg_fields,
    sysreg_id,
)
from reginspect.xmig import PIR_EL1, PIRE0_EL1, TCR2_EL1

PSCI_VERSION: Final = 0x6030000000140000  # KVM_REG_ARM_PSCI_VERSION, "fw reg 0"
ID_AA64MMFR3_EL1: Final = sysreg_id(3, 0, 0, 7, 3)
SCTLR2_EL1: Final = sysreg_id(3, 0, 1, 0, 3)
POR_EL1: Final = sysreg_id(3, 0, 10, 2, 4)
POR_EL0: Final = sysreg_id(3, 3, 10, 2, 4)

# AArch64 encodings (op0, op1, CRn, CRm, op2) outside op0=3 op1=0 CRn=0 that identify the CPU:
# CLIDR_EL1, AIDR_EL1, CTR_EL0, DCZID_EL0, the PMU's event and implementation ID registers
# PMCEID0_EL0, PMCEID1_EL0, PMMIR_EL1.
_AA64_IDENTIFYING: Final = frozenset(
    {
        (3, 1, 0, 0, 1),
        (3, 1, 0, 0, 7),
        (3, 3, 0, 0, 1),
        (3, 3, 0, 0, 7),
        (3, 3, 9, 12, 6),
        (3, 3, 9, 12, 7),
        (3, 0, 9, 14, 6),
    }
)
# AArch32 (cp, opc1, CRn, CRm, opc2) of the same kind beyond cp15 c0: PMCEID0, PMCEID1, PMMIR;
# QEMU's constant debug ID registers DBGDIDR, DBGDRAR, DBGDSAR, DBGDEVID2, DBGDEVID1, DBGDEVID
# (as QEMU encodes them).
_AA32_IDENTIFYING: Final = frozenset(
    {
        (15, 0, 9, 12, 6),
        (15, 0, 9, 12, 7),
        (15, 0, 9, 14, 6),
        (14, 0, 0, 0, 0),
        (14, 0, 1, 0, 0),
        (14, 0, 2, 0, 0),
        (14, 0, 7, 0, 0),
        (14, 0, 7, 0, 1),
        (14, 0, 7, 0, 2),
    }
)
# AArch32 64-bit accesses (cp, opc1, CRm): DBGDRAR and DBGDSAR.
_AA32_64_IDENTIFYING: Final = frozenset({(14, 0, 1), (14, 0, 2)})
_PMCR: Final = ((3, 3, 9, 12, 0), (15, 0, 9, 12, 0))
# PMCR's IMP [31:24], IDCODE [23:16] and N [15:11]: what the CPU model or host PMU sets.
_PMCR_IDENTIFYING_BITS: Final = 0xFFFFF800


def _fields(kvm_id: int) -> tuple[int, ...] | None:
    """(op0, op1, CRn, CRm, op2) of an AArch64 system register, (cp, opc1, CRn, CRm, opc2) of
    an AArch32 coprocessor register (``(cp, opc1, CRm)`` for a 64-bit access), else None."""
    try:
        arch, size, group, index = split_id(kvm_id)
    except RegisterIdError:
        return None
    if arch == ARCH_ARM64:
        if group != GROUP_SYSREG:
            return None
        return sysreg_fields(index)
    if group not in (14, 15):
        return None
    opc1, crn, crm, opc2 = cp_fields(index)
    if size == SIZE_U64:
        return (group, opc1, crm)
    return (group, opc1, crn, crm, opc2)


def is_configuration(kvm_id: int) -> bool:
    """Whether a register's value is the CPU's configuration rather than run-time state: the
    AArch64 ID space (op0=3 op1=0 CRn=0), CLIDR/AIDR/CTR/DCZID and the PMU's ID registers, KVM's
    DEMUX (cache geometry), firmware and firmware-feature groups and SVE vector lengths; AArch32
    cp15 c0 but CSSELR, the PMU's and QEMU's constant debug ID registers."""
    try:
        arch, _, group, index = split_id(kvm_id)
    except RegisterIdError:
        return False
    if arch == ARCH_ARM64:
        if group in (GROUP_DEMUX, GROUP_FW, GROUP_FW_FEAT):
            return True
        if group == GROUP_SVE:
            return index == 0xFFFF  # KVM_REG_ARM64_SVE_VLS
    fields = _fields(kvm_id)
    if fields is None:
        return False
    if arch == ARCH_ARM64:
        return fields[:3] == (3, 0, 0) or fields in _AA64_IDENTIFYING
    if len(fields) == 3:
        return fields in _AA32_64_IDENTIFYING
    cp, opc1, crn = fields[:3]
    if cp == 15 and crn == 0:
        return opc1 != 2  # CSSELR (p15, 2, c0, c0, 0) selects a cache: state
    return fields in _AA32_IDENTIFYING


def differs_in_configuration(kvm_id: int, stream_value: int, destination_value: int) -> bool:
    """Whether two values of a register differ in what configures the CPU: a configuration
    register whose values differ, or PMCR whose implementer, ID code or counter count differ
    (its other bits are the guest's state)."""
    if stream_value == destination_value:
        return False
    if _fields(kvm_id) in _PMCR:
        return bool((stream_value ^ destination_value) & _PMCR_IDENTIFYING_BITS)
    return is_configuration(kvm_id)


# -- the PSCI version ---------------------------------------------------------------------------


def psci_version(value: int) -> str:
    """``0x10003`` -> ``"1.3"``: KVM_REG_ARM_PSCI_VERSION is major << 16 | minor."""
    return f"{value >> 16 & 0x7FFF}.{value & 0xFFFF}"


def psci_value(value: int) -> str:
    """``0x10003 (PSCI 1.3)``."""
    return f"{value:#x} (PSCI {psci_version(value)})"


def psci_refusal(value: int | None, current: int | None) -> str:
    """Why KVM refused a PSCI version, in words: the values and what they mean."""
    encoding = "the register holds major << 16 | minor"
    if value is None:
        return f"KVM refused the stream's PSCI version ({encoding})."
    if current is None:
        return (
            f"KVM refused {psci_value(value)} ({encoding}): the destination's kernel does not "
            f"offer PSCI {psci_version(value)} to this guest."
        )
    wanted, offered = psci_version(value), psci_version(current)
    if value > current:
        return (
            f"The stream carries {psci_value(value)}, the destination's KVM holds "
            f"{psci_value(current)} ({encoding}): the guest was started on a host whose kernel "
            f"offers PSCI {wanted} (Linux 6.13 and later default to PSCI 1.3), and the "
            f"destination's kernel offers at most {offered}; KVM takes an older version than "
            "its own, never a newer one."
        )
    return (
        f"The stream carries {psci_value(value)}, the destination's KVM holds "
        f"{psci_value(current)} ({encoding}): KVM refuses PSCI {wanted} for this vCPU (PSCI 0.1 "
        "only on a vCPU created without PSCI 0.2, 0.2 and later only with it)."
    )


# -- registers an ID register field turns on ----------------------------------------------------


class Gate(NamedTuple):
    """The ID register field KVM reads to decide whether a guest has a register."""

    id_register: int
    field: str
    shift: int  # the field's lowest bit; every field here is 4 bits wide

    def value(self, id_value: int) -> int:
        return id_value >> self.shift & 0xF


# KVM's visibility functions (arch/arm64/kvm/sys_regs.c: kvm_has_sctlr2, kvm_has_tcr2,
# kvm_has_s1pie, kvm_has_s1poe) read these fields of the VM's ID_AA64MMFR3_EL1, which
# userspace may write (ID_WRITABLE(ID_AA64MMFR3_EL1, TCRX | SCTLRX | S1PIE | S1POE)).
GATES: Final[Mapping[int, Gate]] = {
    SCTLR2_EL1: Gate(ID_AA64MMFR3_EL1, "SCTLRX", 4),
    TCR2_EL1: Gate(ID_AA64MMFR3_EL1, "TCRX", 0),
    PIRE0_EL1: Gate(ID_AA64MMFR3_EL1, "S1PIE", 8),
    PIR_EL1: Gate(ID_AA64MMFR3_EL1, "S1PIE", 8),
    POR_EL1: Gate(ID_AA64MMFR3_EL1, "S1POE", 16),
    POR_EL0: Gate(ID_AA64MMFR3_EL1, "S1POE", 16),
}


def gate_phrase(kvm_id: int) -> str | None:
    """``KVM offers SCTLR2_EL1 only while the guest's ID_AA64MMFR3_EL1.SCTLRX is not 0``."""
    gate = GATES.get(kvm_id)
    if gate is None:
        return None
    return (
        f"KVM offers {describe(kvm_id).name} only while the guest's "
        f"{describe(gate.id_register).name}.{gate.field} is not 0"
    )
