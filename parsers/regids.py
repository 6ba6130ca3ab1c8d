"""Arm CPU register ids in every form QEMU and KVM print them: pure functions on ints and strings.

The 64-bit id (what a migration stream carries, for KVM and TCG alike) is KVM's
``KVM_REG_ARM*`` layout: architecture (bits 63-56: 0x60 arm64, 0x40 arm), size (55-52, log2 of
bytes), group (27-16) and a group-specific index (15-0). QEMU 11.1 prints its own 32-bit key
under TCG (``system register 0x1013c103``); KVM builds print text (``op0:3 op1:0 crn:2 crm:0
op2:3``, ``fw feat reg 3``...). Layouts: Linux ``arch/arm64/include/uapi/asm/kvm.h``,
``arch/arm/include/uapi/asm/kvm.h``; QEMU ``target/arm/cpregs.h`` and ``kvm_print_register_name``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final


class RegisterIdError(ValueError):
    """Not a register of this architecture; ``str()`` is one sentence for a person."""


class Accel(enum.StrEnum):
    KVM = "kvm"
    TCG = "tcg"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class RegisterRef:
    kvm_id: int
    form: str  # "kvm-id" | "qemu-key" | "kvm-text" | "name"
    text: str  # the text matched
    accel: Accel  # what the form implies: QEMU key => TCG, KVM text => KVM


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
    _check_fields(op0=(op0, 3), op1=(op1, 7), CRn=(crn, 15), CRm=(crm, 15), op2=(op2, 7))
    if op0 < 2:
        raise RegisterIdError(f"op0={op0} encodes an instruction, not a system register.")
    return SYSREG_BASE | op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2


def cp_id(
    cp: int, opc1: int, crn: int, crm: int, opc2: int, *, is64: bool = False, ns: bool = True
) -> int:
    """The id of an AArch32 coprocessor register (``p15, opc1, cN, cM, opc2``), as QEMU
    migrates it: the non-secure bit kept, 64-bit accesses without CRn and opc2."""
    _check_fields(cp=(cp, 15), opc1=(opc1, 15), CRn=(crn, 15), CRm=(crm, 15), opc2=(opc2, 7))
    size = SIZE_U64 if is64 else SIZE_U32
    index = opc1 << 3 | crm << 7 if is64 else crn << 11 | crm << 7 | opc1 << 3 | opc2
    return ARCH_ARM << 56 | size << 52 | (NS_BIT if ns else 0) | cp << 16 | index


def _check_fields(**fields: tuple[int, int]) -> None:
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


# -- text forms ---------------------------------------------------------------------------------

_KVM_SYSREG = r"op0:(?P<s0>\d+) op1:(?P<s1>\d+) crn:(?P<sn>\d+) crm:(?P<sm>\d+) op2:(?P<s2>\d+)"
# QEMU under KVM prints kvm_print_register_name()'s text; 11.1's messages put "system register "
# before it, older ones do not. Accepted with or without the prefix, for every KVM form.
_PREFIX = r"(?:system register )?"
_FORMS: Final = re.compile(
    r"(?P<sysreg_text>" + _PREFIX + _KVM_SYSREG + r")"
    r"|(?P<key>system register 0x(?P<key_hex>[0-9a-fA-F]+)\b)"
    r"|(?P<fw_feat>" + _PREFIX + r"fw feat reg (?P<fw_feat_n>\d+))"
    r"|(?P<fw>" + _PREFIX + r"fw reg (?P<fw_n>\d+))"
    r"|(?P<core>" + _PREFIX + r"core reg (?:0x)?(?P<core_hex>[0-9a-fA-F]+)\b)"
    r"|(?P<demux>" + _PREFIX + r"demuxed reg (?:0x)?(?P<demux_hex>[0-9a-fA-F]+)\b)"
    r"|(?P<zreg>" + _PREFIX + r"SVE zreg n:(?P<z_n>\d+) slice:(?P<z_i>\d+))"
    r"|(?P<preg>" + _PREFIX + r"SVE preg n:(?P<p_n>\d+) slice:(?P<p_i>\d+))"
    r"|(?P<ffr>" + _PREFIX + r"SVE ffr slice:(?P<f_i>\d+))"
    r"|(?P<vls>" + _PREFIX + r"SVE VLS)"
    r"|(?P<generic>\bS(?P<g0>[0-3])_(?P<g1>[0-7])_C(?P<gn>\d+)_C(?P<gm>\d+)_(?P<g2>[0-7])\b)"
    r"|(?P<cp>\bp(?P<c_cp>1[45]), ?(?P<c_op1>\d+), ?c(?P<c_n>\d+)"
    r"(?:, ?c(?P<c_m>\d+), ?(?P<c_op2>\d+))?)"
    r"|(?P<hex>\b0[xX](?P<hex_digits>[0-9a-fA-F]+)\b)"
    r"|(?P<name>\b[A-Za-z][A-Za-z0-9_]*\b)"
)


def _ref_from_match(match: re.Match[str]) -> RegisterRef:
    text = match.group(0)
    kind = match.lastgroup
    if match.group("sysreg_text"):
        fields = (int(match.group(g)[:4]) for g in ("s0", "s1", "sn", "sm", "s2"))
        return RegisterRef(sysreg_id(*fields), "kvm-text", text, Accel.KVM)
    if kind == "key":
        digits = match.group("key_hex")
        value = _hex(digits)
        if len(digits) > 8:  # not what QEMU prints, but unambiguous: a 64-bit id
            split_id(value)
            return RegisterRef(value, "kvm-id", text, Accel.UNKNOWN)
        return RegisterRef(qemu_key_to_kvm_id(value), "qemu-key", text, Accel.TCG)
    if kind == "fw_feat":
        return RegisterRef(
            FW_FEAT_BASE | _index(match.group("fw_feat_n")), "kvm-text", text, Accel.KVM
        )
    if kind == "fw":
        return RegisterRef(FW_BASE | _index(match.group("fw_n")), "kvm-text", text, Accel.KVM)
    if kind in ("core", "demux"):
        kvm_id = _hex(match.group("core_hex") or match.group("demux_hex"))
        _, _, group, _ = split_id(kvm_id)
        wanted = GROUP_CORE if kind == "core" else GROUP_DEMUX
        if group != wanted:
            raise RegisterIdError(f"{text!r}: {format_id(kvm_id)} is not a {kind} register id.")
        return RegisterRef(kvm_id, "kvm-text", text, Accel.KVM)
    if kind == "zreg":
        n, i = int(match.group("z_n")[:4]), int(match.group("z_i")[:4])
        _check_fields(n=(n, 31), slice=(i, 31))
        return RegisterRef(_sve(SIZE_U2048, n << 5 | i), "kvm-text", text, Accel.KVM)
    if kind == "preg":
        n, i = int(match.group("p_n")[:4]), int(match.group("p_i")[:4])
        _check_fields(n=(n, 15), slice=(i, 31))
        return RegisterRef(_sve(SIZE_U256, 0x400 | n << 5 | i), "kvm-text", text, Accel.KVM)
    if kind == "ffr":
        i = int(match.group("f_i")[:4])
        _check_fields(slice=(i, 31))
        return RegisterRef(_sve(SIZE_U256, 0x600 | i), "kvm-text", text, Accel.KVM)
    if kind == "vls":
        return RegisterRef(SVE_VLS, "kvm-text", text, Accel.KVM)
    if kind == "generic":
        fields = (int(match.group(g)[:4]) for g in ("g0", "g1", "gn", "gm", "g2"))
        return RegisterRef(sysreg_id(*fields), "name", text, Accel.UNKNOWN)
    if kind == "cp":
        cp, opc1, n = (int(match.group(g)[:4]) for g in ("c_cp", "c_op1", "c_n"))
        if match.group("c_op2") is None:  # 64-bit access: p15, opc1, cM
            kvm_id = cp_id(cp, opc1, 0, n, 0, is64=True)
        else:
            kvm_id = cp_id(cp, opc1, n, int(match.group("c_m")[:4]), int(match.group("c_op2")[:4]))
        return RegisterRef(kvm_id, "name", text, Accel.UNKNOWN)
    if kind == "hex":
        return _ref_from_hex(match.group("hex_digits"), text)
    return _ref_from_name(text)


def _hex(digits: str) -> int:
    if len(digits.lstrip("0")) > MAX_HEX_DIGITS:
        raise RegisterIdError(f"0x{digits[:20]}… has more digits than a 64-bit register id.")
    return int(digits, 16)


def _index(digits: str) -> int:
    value = int(digits[:8])
    if value > 0xFFFF or len(digits) > 8:
        raise RegisterIdError(f"register number {digits[:12]} is out of range (0..65535).")
    return value


def _sve(size: int, index: int) -> int:
    return ARM64_BASE | size << 52 | GROUP_SVE << 16 | index


def _ref_from_hex(digits: str, text: str) -> RegisterRef:
    """A bare number: a 64-bit id when it has an architecture byte, else QEMU's 32-bit key."""
    value = _hex(digits)
    if value >= 1 << 32:
        split_id(value)
        return RegisterRef(value, "kvm-id", text, Accel.UNKNOWN)
    return RegisterRef(qemu_key_to_kvm_id(value), "qemu-key", text, Accel.TCG)


def _ref_from_name(text: str) -> RegisterRef:
    from parsers.catalogue import resolve_name  # the catalogue imports this module

    found = resolve_name(text)
    if not found:
        raise RegisterIdError(f"{text!r} is not a register name, id or QEMU/KVM register form.")
    if len(found) > 1:
        choices = ", ".join(format_id(kvm_id) for kvm_id in found)
        raise RegisterIdError(f"{text!r} names several registers ({choices}); give the id.")
    return RegisterRef(found[0], "name", text, Accel.UNKNOWN)


def parse_reference(text: str) -> RegisterRef:
    """Exactly one register in any form: id, QEMU key, KVM text, name. RegisterIdError if not."""
    stripped = text.strip()
    match = _FORMS.fullmatch(stripped)
    if match is None:
        raise RegisterIdError(
            f"{stripped[:80]!r} is not a register id, name or QEMU/KVM register form."
        )
    return _checked(_ref_from_match(match))


def _checked(ref: RegisterRef) -> RegisterRef:
    """The reference, once the catalogue agrees it is a possible register (sizes, indexes)."""
    from parsers.catalogue import describe  # the catalogue imports this module

    describe(ref.kvm_id, ref.accel)
    return ref


# A bare number in free text is mostly something else (RAM addresses such as ``addr: 0xe0000``
# in ``ram_load_loop`` traces): only 64-bit ids and the keys QEMU prints for registers it really
# migrates (AArch64 ``0x1013....``, AArch32 non-secure ``0x200e....``/``0x200f....``) count.
# QEMU's ``system register 0x...`` form takes any key.
_WORTH_A_KEY = re.compile(r"0*(?:[0-9a-fA-F]{9,}|1013[0-9a-fA-F]{4}|200[efEF][0-9a-fA-F]{4})")
_WORTH_A_NAME = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{2,}[A-Z0-9]*\d[A-Z0-9]*|[A-Z]{4,}")


def find_references(text: str) -> list[tuple[int, int, RegisterRef]]:
    """Every register reference in free text, as (start, end, ref). Never raises.

    Every form ``parse_reference`` takes, with two limits against false hits: a bare number
    counts when it is a valid 64-bit id or an 8-digit QEMU key of a migrated register
    (``0x1013....``, ``0x200e....``, ``0x200f....``; any key after ``system register ``), and a
    bare word when it looks like a register name (upper case, ``TCR2_EL1``) the catalogue knows.
    Every reference is one ``describe`` accepts.
    """
    from parsers.catalogue import describe_references  # the catalogue imports this module

    return [(start, end, ref) for start, end, ref, _ in describe_references(text)]


def candidate_references(text: str) -> Iterator[tuple[int, int, RegisterRef]]:
    """``find_references``' hits before the catalogue has checked them: each may still be an
    impossible register (a size or index no register has). Never raises."""
    # A log repeats its references: each distinct one is parsed once (a ref is immutable).
    refs: dict[tuple[str | None, str], RegisterRef | None] = {}
    end = 0
    for start in _candidates(text):
        if start < end:
            continue  # inside the previous match
        match = _FORMS.match(text, start)
        if match is None:
            continue
        end = match.end()
        key = (match.lastgroup, match.group(0))
        if key in refs:
            ref = refs[key]
        else:
            ref = refs[key] = _candidate(match)
        if ref is not None:
            yield start, end, ref


def _candidate(match: re.Match[str]) -> RegisterRef | None:
    """The reference a match stands for, None for a false hit or an impossible value."""
    kind = match.lastgroup
    if kind == "name" and not _WORTH_A_NAME.fullmatch(match.group(0)):
        return None
    if kind == "hex" and not _WORTH_A_KEY.fullmatch(match.group("hex_digits")):
        return None
    try:
        return _ref_from_match(match)
    except ValueError:  # RegisterIdError included
        return None


# Where a reference may start. Scanning for these separately (literal prefixes, simple classes)
# is many times faster than letting one big alternation try every position of a large log.
_LITERAL_STARTS: Final = (
    "system register ",
    "op0:",
    "fw reg ",
    "fw feat reg ",
    "core reg ",
    "demuxed reg ",
    "SVE ",
)
_PATTERN_STARTS: Final = (
    re.compile(r"0[xX]0*(?:[46]0[0-9a-fA-F]{14}|1013[0-9a-fA-F]{4}|200[efEF][0-9a-fA-F]{4})\b"),
    re.compile(r"p1[45],"),
    re.compile(r"\b(?:[A-Z][A-Z0-9]*_|[A-Z]{2})"),  # what _WORTH_A_NAME may take; S3_0_C15_C2_7
)


def _candidates(text: str) -> list[int]:
    starts: set[int] = set()
    for literal in _LITERAL_STARTS:
        position = text.find(literal)
        while position >= 0:
            starts.add(position)
            position = text.find(literal, position + 1)
    for pattern in _PATTERN_STARTS:
        starts.update(match.start() for match in pattern.finditer(text))
    return sorted(starts)
