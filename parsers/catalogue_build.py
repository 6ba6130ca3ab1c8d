"""How the catalogue's name tables are made from the vendored TSVs in ``parsers/data``.

``scripts/make_catalogue.py`` writes what ``render`` gives to ``parsers/data``, where
``parsers.catalogue`` reads it: building takes a tenth of a second, reading the result about a
millisecond, so nothing here runs when reginspect does. Edit the TSVs or this module, then run
the script; a unit test fails while the files differ from what this module makes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

from parsers.catalogue import IDS_TABLE, NAMES_TABLE, cp_generic_name, pseudo_names
from parsers.regids import cp_id, format_id, sysreg_id

DATA = Path(__file__).parent / "data"
T = TypeVar("T")

BOGUS_DBGDTRTX = cp_id(14, 3, 0, 5, 0)
DISPLAY_OVERRIDES = {
    BOGUS_DBGDTRTX: (
        "DBGDTRTX",
        "QEMU keeps this bogus AArch32 encoding (p14, 3, c0, c5, 0) registered only so that "
        'streams of older QEMU still load (commit 4f2b82f60, "Reinstate bogus AArch32 '
        'DBGDTRTX register for migration compat"); QEMU names it BOGUS_DBGDTR_EL0.',
    ),
}


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


class Tables(NamedTuple):
    names: dict[int, list[str]]  # id -> names, preferred first
    notes: dict[int, str]
    by_name: dict[str, list[int]]  # lower-case name -> ids, ascending


def _rows(filename: str) -> Iterator[list[str]]:
    text = (DATA / filename).read_text(encoding="utf-8")
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


def build() -> Tables:
    """The tables from the TSVs and this module's additions (a tenth of a second)."""
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
    for kvm_id, name in pseudo_names():
        ids = by_name.setdefault(name.lower(), [])
        if kvm_id not in ids:
            ids.append(kvm_id)
    for ids in by_name.values():
        ids.sort()
    return Tables(names, notes, by_name)


HEADER = (
    "# Generated by scripts/make_catalogue.py from sysregs-aarch64.tsv, qemu-cpregs.tsv and "
    "parsers/catalogue_build.py: do not edit.\n"
)


def render(tables: Tables) -> dict[str, str]:
    """The text of each table file ``parsers.catalogue`` reads, by file name."""
    return {IDS_TABLE: _render_ids(tables), NAMES_TABLE: _render_names(tables)}


def _render_ids(tables: Tables) -> str:
    entries = [
        (kvm_id, (tables.notes.get(kvm_id, ""), *names)) for kvm_id, names in tables.names.items()
    ]
    lines = [HEADER, "# first id\tcount of consecutive ids alike\tnote\tnames, preferred first\n"]
    for first, count, entry in _runs(sorted(entries)):
        lines.append(f"{first:016x}\t{count}\t" + "\t".join(entry) + "\n")
    return "".join(lines)


def _render_names(tables: Tables) -> str:
    lines = [HEADER, "# lower-case name\tids, ascending (first+count for consecutive ids)\n"]
    for name, ids in sorted(tables.by_name.items()):
        runs = (
            f"{first:016x}" + (f"+{count}" if count > 1 else "")
            for first, count, _ in _runs([(kvm_id, None) for kvm_id in ids])
        )
        lines.append(f"{name}\t" + " ".join(runs) + "\n")
    return "".join(lines)


def _runs(entries: list[tuple[int, T]]) -> list[tuple[int, int, T]]:
    """(first id, count, value) for each run of consecutive ids with equal values, in order."""
    runs: list[tuple[int, int, T]] = []
    for kvm_id, value in entries:
        if runs:
            first, count, last = runs[-1]
            if kvm_id == first + count and value == last:
                runs[-1] = (first, count + 1, last)
                continue
        runs.append((kvm_id, 1, value))
    return runs
