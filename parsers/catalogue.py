"""Register names: the architectural AArch64 table and QEMU's own definitions (package data),
plus KVM's pseudo-registers. Unknown encodings get the assembler's generic name, marked unknown.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

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
    cp_id,
    format_id,
    kvm_id_to_qemu_key,
    split_id,
    sysreg_id,
)


@dataclass(frozen=True, slots=True)
class RegisterInfo:
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

BOGUS_DBGDTRTX = cp_id(14, 3, 0, 5, 0)
DISPLAY_OVERRIDES = {
    BOGUS_DBGDTRTX: (
        "DBGDTRTX",
        "QEMU keeps this bogus AArch32 encoding (p14, 3, c0, c5, 0) registered only so that "
        'streams of older QEMU still load (commit 4f2b82f60, "Reinstate bogus AArch32 '
        'DBGDTRTX register for migration compat"); QEMU names it BOGUS_DBGDTR_EL0.',
    ),
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


# The AArch32 name of registers QEMU defines for both states (``both`` in qemu-cpregs.tsv, where
# QEMU spells both views alike) and of AArch64 registers architecturally mapped to AArch32 ones
# (Arm ARM, "AArch32 System register ... is architecturally mapped to AArch64 ..."). Every name
# here is also QEMU's own name for an AArch32 definition or a standard Arm ARM name. Where a
# register has none it is left out rather than guessed: the ``p15, ...`` view still shows.
AARCH32_NAMES: dict[str, tuple[str, ...]] = {
    # cp14 debug registers (``both``)
    "MDSCR_EL1": ("DBGDSCRext",),
    "OSDTRRX_EL1": ("DBGDTRRXext",),
    "OSDTRTX_EL1": ("DBGDTRTXext",),
    "OSECCR_EL1": ("DBGOSECCR",),
    "OSLAR_EL1": ("DBGOSLAR",),
    "OSLSR_EL1": ("DBGOSLSR",),
    "OSDLR_EL1": ("DBGOSDLR",),
    "MDCCINT_EL1": ("DBGDCCINT",),
    "DBGCLAIMSET_EL1": ("DBGCLAIMSET",),
    "DBGCLAIMCLR_EL1": ("DBGCLAIMCLR",),
    # cp15 (``both``)
    "PMMIR_EL1": ("PMMIR",),
    "CONTEXTIDR_EL1": ("CONTEXTIDR",),
    "CPACR_EL1": ("CPACR",),
    "AFSR0_EL1": ("ADFSR",),
    "AFSR1_EL1": ("AIFSR",),
    "ISR_EL1": ("ISR",),
    "CNTKCTL_EL1": ("CNTKCTL",),
    "TTBR0_EL1": ("TTBR0",),
    "TTBR1_EL1": ("TTBR1",),
    "AMAIR_EL1": ("AMAIR0",),
    "HACR_EL2": ("HACR",),
    "ESR_EL2": ("HSR",),
    "FAR_EL2": ("HDFAR",),
    "VBAR_EL2": ("HVBAR",),
    "CPTR_EL2": ("HCPTR",),
    "MAIR_EL2": ("HMAIR0",),
    "AMAIR_EL2": ("HAMAIR0",),
    "AFSR0_EL2": ("HADFSR",),
    "AFSR1_EL2": ("HAIFSR",),
    "TCR_EL2": ("HTCR",),
    "SCTLR_EL2": ("HSCTLR",),
    "TPIDR_EL2": ("HTPIDR",),
    "CNTHCTL_EL2": ("CNTHCTL",),
    "CNTHP_TVAL_EL2": ("CNTHP_TVAL",),
    "CNTHP_CTL_EL2": ("CNTHP_CTL",),
    "HSTR_EL2": ("HSTR",),
    "DISR_EL1": ("DISR",),
    "ERRIDR_EL1": ("ERRIDR",),
    "VDISR_EL2": ("VDISR",),
    "VSESR_EL2": ("VDFSR",),
    "RVBAR_EL1": ("RVBAR",),
    "RMR_EL1": ("RMR",),
    "MDCR_EL2": ("HDCR",),
    "MIDR_EL1": ("MIDR",),
    "REVIDR_EL1": ("REVIDR",),
    "MPIDR_EL1": ("MPIDR",),
    "ACTLR_EL1": ("ACTLR",),
    "ACTLR_EL2": ("HACTLR",),
    "VBAR_EL1": ("VBAR",),
    "SCTLR_EL1": ("SCTLR",),
    # AArch64-only definitions in QEMU whose AArch32 views QEMU defines separately
    "TCR_EL1": ("TTBCR", "TTBCR2"),
    "ESR_EL1": ("DFSR",),
    "FAR_EL1": ("DFAR", "IFAR"),
    "MAIR_EL1": ("MAIR0", "MAIR1"),
    "TPIDR_EL1": ("TPIDRPRW",),
    "TPIDR_EL0": ("TPIDRURW",),
    "TPIDRRO_EL0": ("TPIDRURO",),
    "MDRAR_EL1": ("DBGDRAR",),
    "MDCCSR_EL0": ("DBGDSCRint",),
    "DBGVCR32_EL2": ("DBGVCR",),
    "IFSR32_EL2": ("IFSR",),
    "DACR32_EL2": ("DACR",),
    "TEECR32_EL1": ("TEECR",),
    "TEEHBR32_EL1": ("TEEHBR",),
}
_DEBUG_LOOP = re.compile(r"(DBG[BW][VC]R\d+)_EL1")


def aarch32_names(aa64_name: str) -> tuple[str, ...]:
    """The AArch32 name(s) of an AArch64 register, () where the tables give none."""
    match = _DEBUG_LOOP.fullmatch(aa64_name)
    if match:
        return (match.group(1),)
    return AARCH32_NAMES.get(aa64_name, ())


@dataclass(slots=True)
class _Tables:
    names: dict[int, list[str]]  # id -> names, preferred first
    notes: dict[int, str]
    by_name: dict[str, list[int]]  # lower-case name -> ids


def _rows(filename: str) -> Iterator[list[str]]:
    text = resources.files("parsers").joinpath("data", filename).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            yield line.split("\t")


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _add(names: dict[int, list[str]], kvm_id: int, *new: str) -> None:
    entry = names.setdefault(kvm_id, [])
    for name in new:
        if name and name not in entry:
            entry.append(name)


@dataclass(frozen=True, slots=True)
class _QemuRow:
    state: str  # aa64 | aa32 | both
    cp: int | None  # 14 or 15 for an AArch32 view
    op0: int | None  # the AArch64 view's op0
    fields: tuple[int | None, ...]  # op1, CRn, CRm, op2; None = CP_ANY
    name: str
    flags: str


def _qemu_rows() -> Iterator[_QemuRow]:
    for row in _rows("qemu-cpregs.tsv"):
        if len(row) < 9:
            continue
        state, cp_text, op0_text, *encoding = row[:7]
        numbers = tuple(None if value == "CP_ANY" else _number(value) for value in encoding)
        if any(n is None and v != "CP_ANY" for n, v in zip(numbers, encoding, strict=True)):
            continue  # an expression, not an encoding
        cp = _number(cp_text) if cp_text else 15
        yield _QemuRow(state, cp, _number(op0_text), numbers, row[7], row[8])


@functools.cache
def _tables() -> _Tables:
    names: dict[int, list[str]] = {}
    notes: dict[int, str] = {}
    for line in _rows("sysregs-aarch64.tsv"):
        fields = [_number(value) for value in line[:5]]
        if None in fields or len(line) < 6:
            continue
        op0, op1, crn, crm, op2 = (value or 0 for value in fields)
        aliases = line[6].replace(",", " ").split() if len(line) > 6 else []
        _add(names, sysreg_id(op0, op1, crn, crm, op2), line[5], *aliases)
    any_value: list[_QemuRow] = []
    aa32_by_name: dict[str, list[int]] = {}  # QEMU's AArch32 name -> ids (exact rows)
    aa64_by_name: dict[str, int] = {}  # QEMU's AArch64-only name -> id
    for row in _qemu_rows():
        has_aa64_view = row.state in ("aa64", "both") and row.op0 is not None and row.op0 >= 2
        aa64: int | None = None
        if has_aa64_view and row.op0 is not None and None not in row.fields:
            aa64 = sysreg_id(row.op0, *(n or 0 for n in row.fields))
            _add(names, aa64, row.name)
            if row.state == "aa64":
                aa64_by_name.setdefault(row.name, aa64)
        if row.state not in ("aa32", "both") or row.cp is None:
            continue
        is64 = "ARM_CP_64BIT" in row.flags
        if None in row.fields:
            any_value.append(row)  # named after the exact rows
            continue
        op1, crn, crm, op2 = (n or 0 for n in row.fields)
        kvm_id = cp_id(row.cp, op1, crn, crm, op2, is64=is64)
        if row.state == "aa32":
            _add(names, kvm_id, row.name)
            if "ARM_CP_NOP" not in row.flags:
                aa32_by_name.setdefault(row.name, []).append(kvm_id)
            continue
        # ``both``: one definition, two views under one QEMU name.
        view = cp_generic_name(kvm_id)
        aa32 = aarch32_names(row.name) or ((row.name,) if "_EL" not in row.name else ())
        _add(names, kvm_id, *aa32, row.name)
        if aa64 is None:
            continue
        _add(names, aa64, *aa32, view)
        label = f"{aa32[0]} ({view})" if aa32 else view
        notes.setdefault(
            aa64,
            "QEMU defines it for both states; on 32-bit guests it is the AArch32 register "
            f"{label} and still migrates under this AArch64 id.",
        )
        notes.setdefault(
            kvm_id,
            f"The AArch32 view of {row.name}, which QEMU defines for both states "
            f"(AArch64 id {format_id(aa64)}).",
        )
    # QEMU registers a CP_ANY field once per value, under the same name: name every value that
    # no exact definition names.
    for row in any_value:
        is64 = "ARM_CP_64BIT" in row.flags
        ranges = [range(8), range(16), range(16), range(8)]
        choices = [
            [n] if n is not None else list(r) for n, r in zip(row.fields, ranges, strict=True)
        ]
        for op1, crn, crm, op2 in itertools.product(*choices):
            kvm_id = cp_id(
                row.cp or 15, op1, 0 if is64 else crn, crm, 0 if is64 else op2, is64=is64
            )
            if kvm_id not in names:
                names[kvm_id] = [row.name]
    # AArch32 views of AArch64 registers: the Arm ARM mappings above, and QEMU's own pairs
    # (an AArch64 ``X_EL0``/``X_EL1`` defined beside an AArch32 ``X``).
    for name, aa64 in aa64_by_name.items():
        twins = list(aarch32_names(name))
        match = re.fullmatch(r"(.+)_EL[01]", name)
        if match and match.group(1) in aa32_by_name:
            twins.append(match.group(1))
        for twin in twins:
            _add(names, aa64, twin)
            for kvm_id in aa32_by_name.get(twin, []):
                _add(names, kvm_id, name)
    for kvm_id, (display, note) in DISPLAY_OVERRIDES.items():
        names[kvm_id] = [display, *[n for n in names.get(kvm_id, []) if n != display]]
        notes[kvm_id] = note
    by_name: dict[str, list[int]] = {}
    for kvm_id, entry in names.items():
        for name in entry:
            ids = by_name.setdefault(name.lower(), [])
            if kvm_id not in ids:
                ids.append(kvm_id)
    for kvm_id, name in _pseudo_names():
        ids = by_name.setdefault(name.lower(), [])
        if kvm_id not in ids:
            ids.append(kvm_id)
    for ids in by_name.values():
        ids.sort()
    return _Tables(names, notes, by_name)


def _pseudo_names() -> Iterator[tuple[int, str]]:
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
    index = kvm_id & 0xFFFF
    opc1 = index >> 3 & 0xF
    crm = index >> 7 & 0xF
    if kvm_id >> 52 & 0xF == SIZE_U64:
        return f"p{cp}, {opc1}, c{crm}"
    return f"p{cp}, {opc1}, c{index >> 11 & 0xF}, c{crm}, {index & 0x7}"


def lookup_name(name: str) -> list[int]:
    """Every id a name (any case; architectural, QEMU's, KVM's, aliases) stands for."""
    return list(_tables().by_name.get(name.strip().lower(), []))


def catalogue_ids() -> list[int]:
    """Every id the catalogue names (for round-trip tests)."""
    tables = _tables()
    return sorted(set(tables.names) | {kvm_id for kvm_id, _ in _pseudo_names()})


def load() -> None:
    """Build the name tables now (a tenth of a second), e.g. in a thread while logs are read,
    rather than on the first describe()."""
    _tables()


@functools.lru_cache(maxsize=8192)
def describe(kvm_id: int, accel: Accel = Accel.UNKNOWN) -> RegisterInfo:
    """Everything known about one register id. RegisterIdError for what is no Arm register."""
    arch, size, group, index = split_id(kvm_id)
    if arch == ARCH_ARM64:
        return _describe_arm64(kvm_id, size, group, index, accel)
    return _describe_arm(kvm_id, size, group, index)


def _expect_size(kvm_id: int, size: int, *allowed: int) -> None:
    if size not in allowed:
        raise RegisterIdError(
            f"{format_id(kvm_id)}: size field {size} is impossible for this register group."
        )


def _describe_arm64(kvm_id: int, size: int, group: int, index: int, accel: Accel) -> RegisterInfo:
    tables = _tables()
    if group == GROUP_SYSREG:
        _expect_size(kvm_id, size, SIZE_U64)
        op0, op1, crn, crm, op2 = (
            index >> 14,
            index >> 11 & 7,
            index >> 7 & 15,
            index >> 3 & 15,
            index & 7,
        )
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
        names = tables.names.get(kvm_id, [])
        note = tables.notes.get(kvm_id, "")
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
    tables = _tables()
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
    opc1, crm = index >> 3 & 0xF, index >> 7 & 0xF
    if is64:
        if index & ~0x7F8:
            raise RegisterIdError(f"{format_id(kvm_id)}: a 64-bit access has only opc1 and CRm.")
        fields: tuple[tuple[str, int], ...] = (("cp", group), ("opc1", opc1), ("CRm", crm))
    else:
        crn, opc2 = index >> 11 & 0xF, index & 7
        if index & 0x8000:
            raise RegisterIdError(f"{format_id(kvm_id)}: bit 15 is set in a 32-bit access.")
        fields = (("cp", group), ("opc1", opc1), ("CRn", crn), ("CRm", crm), ("opc2", opc2))
    fields = (*fields, ("ns", int(ns)))
    generic = cp_generic_name(kvm_id)
    encoding = generic + (" (64-bit access)" if is64 else "") + ("" if ns else " (Secure)")
    kind = f"cp{group}"
    key = kvm_id_to_qemu_key(kvm_id)
    names = tables.names.get(kvm_id)
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
            tables.notes.get(kvm_id, ""),
        )
    banked = tables.names.get(kvm_id | NS_BIT) if not ns else None
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
