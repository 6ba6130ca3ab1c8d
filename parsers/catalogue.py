"""Register names: the architectural AArch64 table and QEMU's own definitions (package data),
plus KVM's pseudo-registers. Unknown encodings get the assembler's generic name, marked unknown.

The names are read from two sorted tables in ``parsers/data`` that ``parsers.catalogue_build``
makes from the vendored TSVs: one read and split, then a binary search per register.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import bisect
import functools
import os
from collections.abc import Iterator
from typing import NamedTuple

from parsers.regids import (
    ARCH_ARM64,
    GROUP_CORE,
    GROUP_DEMUX,
    GROUP_FW,
    GROUP_FW_FEAT,
    GROUP_SVE,
    GROUP_SYSREG,
    GROUP_VFP,
    NS_BIT,
    SIZE_U32,
    SIZE_U64,
    SIZE_U128,
    SIZE_U256,
    SIZE_U2048,
    SVE_VLS,
    Accel,
    RegisterIdError,
    cp_fields,
    format_id,
    kvm_id_to_qemu_key,
    split_id,
    sysreg_fields,
    sysreg_id,
)


class RegisterInfo(NamedTuple):
    kvm_id: int
    name: str
    aliases: tuple[str, ...]
    kind: str  # sysreg, cp14, cp15 (cpN), core, demux, fw, fw-feat, sve, vfp
    encoding: str
    fields: tuple[tuple[str, int], ...]
    known: bool
    qemu_key: int | None
    note: str


FW_NAMES = {
    0: "KVM_REG_ARM_PSCI_VERSION",
    1: "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1",
    2: "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2",
    3: "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3",
}
FW_FEAT_NAMES = {
    0: "KVM_REG_ARM_STD_BMAP",
    1: "KVM_REG_ARM_STD_HYP_BMAP",
    2: "KVM_REG_ARM_VENDOR_HYP_BMAP",
    3: "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
}
FW_FEAT_NOTES = {
    3: "Linux 6.16 exposes it unconditionally: a guest started there carries it, and an older "
    "destination fails on it (QEMU 11.1 tolerates it when its value is 0).",
}

# KVM's uapi defines the virtual timer registers with the encodings of CNTV_CVAL_EL0 and
# CNTVCT_EL0 swapped; the ABI is frozen, so the same id means different registers under KVM.
TIMER_CNT = sysreg_id(3, 3, 14, 3, 2)  # CNTV_CVAL_EL0's encoding
TIMER_CVAL = sysreg_id(3, 3, 14, 0, 2)  # CNTVCT_EL0's encoding
TIMER_QUIRK = {
    TIMER_CNT: ("KVM_REG_ARM_TIMER_CNT", "the virtual counter"),
    TIMER_CVAL: ("KVM_REG_ARM_TIMER_CVAL", "the virtual timer's compare value"),
}


def _core_names() -> dict[int, tuple[str, int]]:
    """Offset (in 32-bit units) of ``struct kvm_regs`` -> (name, size field)."""
    names: dict[int, tuple[str, int]] = {2 * n: (f"x{n}", SIZE_U64) for n in range(31)}
    names.update({62: ("sp", SIZE_U64), 64: ("pc", SIZE_U64), 66: ("pstate", SIZE_U64)})
    names.update({68: ("sp_el1", SIZE_U64), 70: ("elr_el1", SIZE_U64)})
    names.update({72 + 2 * n: (f"spsr[{n}]", SIZE_U64) for n in range(5)})
    names.update({84 + 4 * n: (f"v{n}", SIZE_U128) for n in range(32)})
    names.update({212: ("fpsr", SIZE_U32), 213: ("fpcr", SIZE_U32)})
    return names


CORE_NAMES = _core_names()


IDS_TABLE = "catalogue-ids.tsv"
NAMES_TABLE = "catalogue-names.tsv"


class _Tables(NamedTuple):
    ids: list[str]  # IDS_TABLE's rows: first id, count, note, names; by id
    names: list[str]  # NAMES_TABLE's rows: lower-case name, its ids; by name


@functools.cache
def _tables() -> _Tables:
    return _Tables(_table_rows(IDS_TABLE), _table_rows(NAMES_TABLE))


def _table_rows(filename: str) -> list[str]:
    # Read beside this module rather than through importlib.resources, whose imports (pathlib,
    # tempfile, zipfile...) cost more start-up than everything else here: the package is files.
    path = os.path.join(os.path.dirname(__file__), "data", filename)
    with open(path, encoding="utf-8") as table:
        text = table.read()
    start = 0
    while text.startswith("#", start):
        start = text.index("\n", start) + 1
    return text[start:].rstrip("\n").split("\n")


def _row_name(row: str) -> str:
    return row[: row.index("\t")]


def _entry(kvm_id: int) -> tuple[list[str], str]:
    """The names (preferred first) and the note of an id, ([], "") where the tables have none."""
    rows = _tables().ids
    # Rows begin with their first id in 16 lower-case hex digits, so text order is id order;
    # "\x7f" sorts after the tab, so a row starting at this very id comes before the key.
    at = bisect.bisect_right(rows, f"{kvm_id:016x}\x7f") - 1
    if at >= 0:
        first, count, note, *names = rows[at].split("\t")
        if kvm_id < int(first, 16) + int(count):
            return names, note
    return [], ""


def pseudo_names() -> Iterator[tuple[int, str]]:
    """(id, name) of KVM's registers that only KVM names: core, firmware, timer, SVE VLS."""
    arm64 = ARCH_ARM64 << 56
    for offset, (name, size) in CORE_NAMES.items():
        yield arm64 | size << 52 | GROUP_CORE << 16 | offset, name
    for index, name in FW_NAMES.items():
        yield arm64 | SIZE_U64 << 52 | GROUP_FW << 16 | index, name
    for index, name in FW_FEAT_NAMES.items():
        yield arm64 | SIZE_U64 << 52 | GROUP_FW_FEAT << 16 | index, name
    for kvm_id, (name, _) in TIMER_QUIRK.items():
        yield kvm_id, name
    yield SVE_VLS, "KVM_REG_ARM64_SVE_VLS"


def cp_generic_name(kvm_id: int) -> str:
    """``p15, 4, c1, c0, 3`` (32-bit access) or ``p15, 0, c15`` (64-bit access)."""
    cp = kvm_id >> 16 & 0xFFF
    opc1, crn, crm, opc2 = cp_fields(kvm_id & 0xFFFF)
    if kvm_id >> 52 & 0xF == SIZE_U64:
        return f"p{cp}, {opc1}, c{crm}"
    return f"p{cp}, {opc1}, c{crn}, c{crm}, {opc2}"


def lookup_name(name: str) -> list[int]:
    """Every id a name (any case; architectural, QEMU's, KVM's, aliases) stands for."""
    wanted = name.strip().lower()
    rows = _tables().names
    at = bisect.bisect_left(rows, wanted, key=_row_name)
    if at == len(rows) or _row_name(rows[at]) != wanted:
        return []
    ids: list[int] = []
    for run in rows[at][len(wanted) + 1 :].split(" "):
        first, _, count = run.partition("+")
        start = int(first, 16)
        ids.extend(range(start, start + int(count or 1)))
    return ids


def catalogue_ids() -> list[int]:
    """Every id the catalogue names, in order: what it can decode."""
    ids = {kvm_id for kvm_id, _ in pseudo_names()}
    for row in _tables().ids:
        first, count, _ = row.split("\t", 2)
        start = int(first, 16)
        ids.update(range(start, start + int(count)))
    return sorted(ids)


def load() -> None:
    """Read the name tables now (about a millisecond), e.g. in a thread while logs are read,
    rather than on the first describe()."""
    _tables()


# Bounded: a real log names a few hundred registers, a log of random ids must not grow it.
@functools.lru_cache(maxsize=2048)
def describe(kvm_id: int, accel: Accel = Accel.UNKNOWN) -> RegisterInfo:
    """Everything known about one register id. RegisterIdError for what is no Arm register."""
    arch, size, group, index = split_id(kvm_id)
    if arch == ARCH_ARM64:
        return _describe_arm64(kvm_id, size, group, index, accel)
    return _describe_arm(kvm_id, size, group, index)


@functools.cache
def _field(name: str, value: int) -> tuple[str, int]:
    """One (name, value) pair, shared by every register that has it: a log naming a hundred
    thousand AArch32 registers would otherwise hold half a million small tuples."""
    return (name, int(value))


@functools.cache
def _cp_kind(group: int) -> str:
    return f"cp{group}"


def _expect_size(kvm_id: int, size: int, *allowed: int) -> None:
    if size not in allowed:
        raise RegisterIdError(
            f"{format_id(kvm_id)}: size field {size} is impossible for this register group."
        )


def _describe_arm64(kvm_id: int, size: int, group: int, index: int, accel: Accel) -> RegisterInfo:
    if group == GROUP_SYSREG:
        _expect_size(kvm_id, size, SIZE_U64)
        op0, op1, crn, crm, op2 = sysreg_fields(index)
        if op0 < 2:
            raise RegisterIdError(f"{format_id(kvm_id)}: op0={op0} is not a system register.")
        fields: tuple[tuple[str, int], ...] = (
            ("op0", op0),
            ("op1", op1),
            ("CRn", crn),
            ("CRm", crm),
            ("op2", op2),
        )
        encoding = f"op0={op0} op1={op1} CRn={crn} CRm={crm} op2={op2}"
        generic = f"S{op0}_{op1}_C{crn}_C{crm}_{op2}"
        names, note = _entry(kvm_id)
        key = kvm_id_to_qemu_key(kvm_id)
        if kvm_id in TIMER_QUIRK:
            kvm_name, meaning = TIMER_QUIRK[kvm_id]
            arch_name = names[0] if names else generic
            quirk = (
                f"KVM's uapi swapped the encodings of CNTV_CVAL_EL0 and CNTVCT_EL0: under KVM "
                f"this id is {kvm_name}, {meaning}; under TCG it is {arch_name}."
            )
            if accel is Accel.KVM:
                return RegisterInfo(
                    kvm_id,
                    kvm_name,
                    (arch_name, generic),
                    "sysreg",
                    encoding,
                    fields,
                    True,
                    key,
                    quirk,
                )
            aliases = (*names[1:], kvm_name)
            return RegisterInfo(
                kvm_id, arch_name, aliases, "sysreg", encoding, fields, True, key, quirk
            )
        if names:
            return RegisterInfo(
                kvm_id, names[0], tuple(names[1:]), "sysreg", encoding, fields, True, key, note
            )
        return RegisterInfo(
            kvm_id,
            generic,
            (),
            "sysreg",
            encoding,
            fields,
            False,
            key,
            "No name in the catalogue: an implementation-defined or newer register.",
        )
    if group == GROUP_CORE:
        entry = CORE_NAMES.get(index)
        fields = (("offset", index),)
        if entry is not None:
            _expect_size(kvm_id, size, entry[1])
            return RegisterInfo(
                kvm_id,
                entry[0],
                (),
                "core",
                f"struct kvm_regs offset {index} (32-bit words)",
                fields,
                True,
                None,
                "",
            )
        _expect_size(kvm_id, size, SIZE_U32, SIZE_U64, SIZE_U128)
        return RegisterInfo(
            kvm_id,
            f"core[{index}]",
            (),
            "core",
            f"struct kvm_regs offset {index}",
            fields,
            False,
            None,
            "",
        )
    if group == GROUP_DEMUX:
        _expect_size(kvm_id, size, SIZE_U32)
        demux_id, value = index >> 8, index & 0xFF
        if demux_id != 0:
            raise RegisterIdError(f"{format_id(kvm_id)}: demux id {demux_id} is not CCSIDR (0).")
        level, instruction = (value >> 1) + 1, value & 1
        what = "instruction" if instruction else "data or unified"
        return RegisterInfo(
            kvm_id,
            f"CCSIDR_EL1[CSSELR={value}]",
            ("CCSIDR",),
            "demux",
            f"CSSELR={value}",
            (("csselr", value),),
            value <= 13,
            None,
            f"Cache size of the level {level} {what} cache, one per CSSELR value.",
        )
    if group in (GROUP_FW, GROUP_FW_FEAT):
        _expect_size(kvm_id, size, SIZE_U64)
        table = FW_NAMES if group == GROUP_FW else FW_FEAT_NAMES
        kind = "fw" if group == GROUP_FW else "fw-feat"
        text = "fw reg" if group == GROUP_FW else "fw feat reg"
        name = table.get(index)
        note = FW_FEAT_NOTES.get(index, "") if group == GROUP_FW_FEAT else ""
        if name is None:
            label = "KVM_REG_ARM_FW_REG" if group == GROUP_FW else "KVM_REG_ARM_FW_FEAT_BMAP_REG"
            return RegisterInfo(
                kvm_id,
                f"{label}({index})",
                (f"{text} {index}",),
                kind,
                f"{text} {index}",
                (("index", index),),
                False,
                None,
                "",
            )
        return RegisterInfo(
            kvm_id,
            name,
            (f"{text} {index}",),
            kind,
            f"{text} {index}",
            (("index", index),),
            True,
            None,
            note,
        )
    if group == GROUP_SVE:
        return _describe_sve(kvm_id, size, index)
    raise RegisterIdError(f"{format_id(kvm_id)}: group {group:#x} is no arm64 register group.")


def _describe_sve(kvm_id: int, size: int, index: int) -> RegisterInfo:
    if kvm_id == SVE_VLS:
        return RegisterInfo(
            kvm_id,
            "KVM_REG_ARM64_SVE_VLS",
            ("SVE VLS",),
            "sve",
            "SVE VLS",
            (),
            True,
            None,
            "The vector lengths the vCPU supports.",
        )
    if index < 0x400:
        _expect_size(kvm_id, size, SIZE_U2048)
        return _sve_slice(kvm_id, "Z", "zreg", index >> 5, index & 0x1F)
    if index < 0x600:
        _expect_size(kvm_id, size, SIZE_U256)
        return _sve_slice(kvm_id, "P", "preg", index >> 5 & 0xF, index & 0x1F)
    if index < 0x620:
        _expect_size(kvm_id, size, SIZE_U256)
        return _sve_slice(kvm_id, "FFR", "ffr", None, index & 0x1F)
    raise RegisterIdError(f"{format_id(kvm_id)}: SVE index {index:#x} names no SVE register.")


def _sve_slice(kvm_id: int, letter: str, form: str, n: int | None, piece: int) -> RegisterInfo:
    """One slice of an SVE Z or P register, or of FFR, named as KVM's text forms name it."""
    number = "" if n is None else str(n)
    text = f"SVE {form} " + ("" if n is None else f"n:{n} ") + f"slice:{piece}"
    fields = (("slice", piece),) if n is None else (("n", n), ("slice", piece))
    encoding = f"{form} " + ("" if n is None else f"n={n} ") + f"slice={piece}"
    name = f"{letter}{number}" + (f"[slice {piece}]" if piece else "")
    return RegisterInfo(kvm_id, name, (text,), "sve", encoding, fields, True, None, "")


def _describe_arm(kvm_id: int, size: int, group: int, index: int) -> RegisterInfo:
    if group > 15:
        if group in (GROUP_CORE, GROUP_DEMUX, GROUP_VFP, GROUP_FW):
            kind = {GROUP_CORE: "core", GROUP_DEMUX: "demux", GROUP_VFP: "vfp", GROUP_FW: "fw"}[
                group
            ]
            name = FW_NAMES.get(index) if group == GROUP_FW else None
            return RegisterInfo(
                kvm_id,
                name or f"{kind}[{index}]",
                (),
                kind,
                f"{kind} index {index}",
                (("index", index),),
                name is not None,
                None,
                "",
            )
        raise RegisterIdError(f"{format_id(kvm_id)}: group {group:#x} is no Arm register group.")
    _expect_size(kvm_id, size, SIZE_U32, SIZE_U64)
    is64 = size == SIZE_U64
    ns = bool(kvm_id & NS_BIT)
    opc1, crn, crm, opc2 = cp_fields(index)
    if is64:
        if index & ~0x7F8:
            raise RegisterIdError(f"{format_id(kvm_id)}: a 64-bit access has only opc1 and CRm.")
        fields: tuple[tuple[str, int], ...] = (
            _field("cp", group),
            _field("opc1", opc1),
            _field("CRm", crm),
            _field("ns", ns),
        )
    else:
        if index & 0x8000:
            raise RegisterIdError(f"{format_id(kvm_id)}: bit 15 is set in a 32-bit access.")
        fields = (
            _field("cp", group),
            _field("opc1", opc1),
            _field("CRn", crn),
            _field("CRm", crm),
            _field("opc2", opc2),
            _field("ns", ns),
        )
    generic = cp_generic_name(kvm_id)
    encoding = generic + (" (64-bit access)" if is64 else "") + ("" if ns else " (Secure)")
    kind = _cp_kind(group)
    key = kvm_id_to_qemu_key(kvm_id)
    names, note = _entry(kvm_id)
    if names:
        aliases = tuple(n for n in (*names[1:], generic) if n != names[0])
        return RegisterInfo(
            kvm_id,
            names[0],
            aliases,
            kind,
            encoding,
            fields,
            True,
            key,
            note,
        )
    banked = _entry(kvm_id | NS_BIT)[0] if not ns else None
    if banked:
        return RegisterInfo(
            kvm_id,
            f"{banked[0]}_S",
            (generic,),
            kind,
            encoding,
            fields,
            True,
            key,
            f"The Secure copy of the banked register {banked[0]}.",
        )
    return RegisterInfo(
        kvm_id,
        generic,
        (),
        kind,
        encoding,
        fields,
        False,
        key,
        "No name in the catalogue: an implementation-defined or newer register.",
    )
