"""The bit layout of Arm CPU register ids and QEMU's register keys: pure functions on ints.

The 64-bit id (what a migration stream carries, for KVM and TCG alike) is KVM's
``KVM_REG_ARM*`` layout: architecture (bits 63-56: 0x60 arm64, 0x40 arm), size (55-52, log2 of
bytes), group (27-16) and a group-specific index (15-0). QEMU 11.1 prints its own 32-bit key
under TCG (``system register 0x1013c103``). Layouts: Linux ``arch/arm64/include/uapi/asm/kvm.h``,
``arch/arm/include/uapi/asm/kvm.h``; QEMU ``target/arm/cpregs.h``. Register names are in
``parsers.catalogue``, the text forms of logs and people in ``parsers.regforms``.
"""

from __future__ import annotations

import enum
from typing import Final


class RegisterIdError(ValueError):
    """Not a register of this architecture; ``str()`` is one sentence for a person."""


class Accel(enum.StrEnum):
    KVM = "kvm"
    TCG = "tcg"
    UNKNOWN = "unknown"


def accel_named(text: str | None) -> Accel | None:
    """The accelerator a command line or an option names (``kvm``, ``TCG``); None for another
    one (hvf, xen) or none."""
    named = Accel.__members__.get((text or "").upper())
    return None if named is Accel.UNKNOWN else named


ARCH_ARM64: Final = 0x60
ARCH_ARM: Final = 0x40
SIZE_U32: Final = 2
SIZE_U64: Final = 3
SIZE_U128: Final = 4
SIZE_U256: Final = 5
SIZE_U512: Final = 6
SIZE_U2048: Final = 8

GROUP_CORE: Final = 0x10
GROUP_DEMUX: Final = 0x11
GROUP_VFP: Final = 0x12  # 32-bit arm only
GROUP_SYSREG: Final = 0x13
GROUP_FW: Final = 0x14
GROUP_SVE: Final = 0x15
GROUP_FW_FEAT: Final = 0x16

_ARM64_GROUPS: Final = frozenset(
    (GROUP_CORE, GROUP_DEMUX, GROUP_SYSREG, GROUP_FW, GROUP_SVE, GROUP_FW_FEAT)
)
# 32-bit Arm: coprocessor registers exist for cp14 (debug) and cp15 (system) only.
_ARM_GROUPS: Final = frozenset((14, 15, GROUP_CORE, GROUP_DEMUX, GROUP_VFP, GROUP_FW))

ARM64_BASE: Final = ARCH_ARM64 << 56
SYSREG_BASE: Final = ARM64_BASE | SIZE_U64 << 52 | GROUP_SYSREG << 16
FW_BASE: Final = ARM64_BASE | SIZE_U64 << 52 | GROUP_FW << 16
FW_FEAT_BASE: Final = ARM64_BASE | SIZE_U64 << 52 | GROUP_FW_FEAT << 16
SVE_VLS: Final = ARM64_BASE | SIZE_U512 << 52 | GROUP_SVE << 16 | 0xFFFF
NS_BIT: Final = 1 << 29  # QEMU keeps its non-secure bit inside AArch32 ids and keys
QEMU_AA64_KEY: Final = 0x10000000  # CP_REG_AA64_MASK
QEMU_KEY_IS64: Final = 1 << 15  # AArch32 64-bit (MCRR/MRRC) access, in QEMU's key only

MAX_HEX_DIGITS: Final = 16


def format_id(kvm_id: int) -> str:
    return f"0x{kvm_id:016x}"


def sysreg_id(op0: int, op1: int, crn: int, crm: int, op2: int) -> int:
    """The id of an AArch64 system register encoding."""
    check_fields(op0=(op0, 3), op1=(op1, 7), CRn=(crn, 15), CRm=(crm, 15), op2=(op2, 7))
    if op0 < 2:
        raise RegisterIdError(f"op0={op0} encodes an instruction, not a system register.")
    return SYSREG_BASE | op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2


def sysreg_fields(index: int) -> tuple[int, int, int, int, int]:
    """(op0, op1, CRn, CRm, op2) of an AArch64 system register's index (the id's low 16 bits):
    ``sysreg_id`` undone."""
    return (index >> 14, index >> 11 & 7, index >> 7 & 15, index >> 3 & 15, index & 7)


def sve_zreg_id(n: int, piece: int) -> int:
    """KVM_REG_ARM64_SVE_ZREG(n, i): slice ``piece`` of the SVE vector register Zn."""
    check_fields(n=(n, 31), slice=(piece, 31))
    return ARM64_BASE | SIZE_U2048 << 52 | GROUP_SVE << 16 | n << 5 | piece


def sve_preg_id(n: int, piece: int) -> int:
    """KVM_REG_ARM64_SVE_PREG(n, i): slice ``piece`` of the SVE predicate register Pn."""
    check_fields(n=(n, 15), slice=(piece, 31))
    return ARM64_BASE | SIZE_U256 << 52 | GROUP_SVE << 16 | 0x400 | n << 5 | piece


def sve_ffr_id(piece: int) -> int:
    """KVM_REG_ARM64_SVE_FFR(i): slice ``piece`` of the SVE first-fault register."""
    check_fields(slice=(piece, 31))
    return ARM64_BASE | SIZE_U256 << 52 | GROUP_SVE << 16 | 0x600 | piece


def cp_id(
    cp: int, opc1: int, crn: int, crm: int, opc2: int, *, is64: bool = False, ns: bool = True
) -> int:
    """The id of an AArch32 coprocessor register (``p15, opc1, cN, cM, opc2``), as QEMU
    migrates it: the non-secure bit kept, 64-bit accesses without CRn and opc2."""
    check_fields(cp=(cp, 15), opc1=(opc1, 15), CRn=(crn, 15), CRm=(crm, 15), opc2=(opc2, 7))
    size = SIZE_U64 if is64 else SIZE_U32
    index = opc1 << 3 | crm << 7 if is64 else crn << 11 | crm << 7 | opc1 << 3 | opc2
    return ARCH_ARM << 56 | size << 52 | (NS_BIT if ns else 0) | cp << 16 | index


def cp_fields(index: int) -> tuple[int, int, int, int]:
    """(opc1, CRn, CRm, opc2) of an AArch32 coprocessor register's index: ``cp_id`` undone (a
    64-bit access has only opc1 and CRm; its CRn and opc2 read 0)."""
    return (index >> 3 & 15, index >> 11 & 15, index >> 7 & 15, index & 7)


def check_fields(**fields: tuple[int, int]) -> None:
    """RegisterIdError naming the first field whose value is not within 0..limit."""
    for name, (value, limit) in fields.items():
        if not 0 <= value <= limit:
            raise RegisterIdError(f"{name}={value} is out of range (0..{limit}).")


def split_id(kvm_id: int) -> tuple[int, int, int, int]:
    """(architecture, size field, group, index) of a 64-bit id; RegisterIdError if impossible."""
    if not 0 <= kvm_id < 1 << 64:
        raise RegisterIdError(f"{kvm_id:#x} does not fit in a 64-bit register id.")
    arch = kvm_id >> 56
    size = kvm_id >> 52 & 0xF
    group = kvm_id >> 16 & 0xFFF
    index = kvm_id & 0xFFFF
    if arch == ARCH_ARM64:
        if kvm_id & 0x000FFFFFF0000000:
            raise RegisterIdError(
                f"{format_id(kvm_id)} has bits set that no arm64 register id uses."
            )
    elif arch == ARCH_ARM:
        if kvm_id & 0x000FFFFFD0000000:
            raise RegisterIdError(f"{format_id(kvm_id)} has bits set that no Arm register id uses.")
    else:
        raise RegisterIdError(
            f"{format_id(kvm_id)} is not an Arm register id (architecture byte {arch:#04x}; "
            "arm64 ids start with 0x60, 32-bit Arm ids with 0x40)."
        )
    groups = _ARM64_GROUPS if arch == ARCH_ARM64 else _ARM_GROUPS
    if group not in groups:
        raise RegisterIdError(f"{format_id(kvm_id)}: group {group:#x} is no register group of KVM.")
    return arch, size, group, index


def qemu_key_to_kvm_id(key: int) -> int:
    """QEMU's internal cpreg key (as 11.1 prints it under TCG) to the id the stream carries."""
    if not 0 <= key < 1 << 32:
        raise RegisterIdError(f"{key:#x} is too large for a QEMU register key (32 bits).")
    if key & QEMU_AA64_KEY:
        if key >> 16 != (QEMU_AA64_KEY | GROUP_SYSREG << 16) >> 16:
            raise RegisterIdError(f"{key:#x} is not a QEMU AArch64 system register key.")
        return ARM64_BASE | SIZE_U64 << 52 | (key & ~QEMU_AA64_KEY)
    if key & ~(NS_BIT | 0x0FFFFFFF) or key & 0x0FFF0000 == 0:
        raise RegisterIdError(f"{key:#x} is not a QEMU register key.")
    cp = key >> 16 & 0xFFF
    if cp not in (14, 15):
        raise RegisterIdError(f"{key:#x} is not a QEMU register key (coprocessor {cp}).")
    if key & QEMU_KEY_IS64 and key & 0x7807:
        raise RegisterIdError(
            f"{key:#x} is not a QEMU register key (a 64-bit access has no CRn or opc2)."
        )
    is64 = bool(key & QEMU_KEY_IS64)
    size = SIZE_U64 if is64 else SIZE_U32
    return ARCH_ARM << 56 | size << 52 | (key & ~QEMU_KEY_IS64)


def kvm_id_to_qemu_key(kvm_id: int) -> int | None:
    """QEMU's key for a coprocessor or system register id, None for other groups."""
    arch, size, group, index = split_id(kvm_id)
    if arch == ARCH_ARM64:
        return QEMU_AA64_KEY | GROUP_SYSREG << 16 | index if group == GROUP_SYSREG else None
    if group > 15:
        return None
    key = kvm_id & 0xFFFFFFFF
    return key | QEMU_KEY_IS64 if size == SIZE_U64 else key
