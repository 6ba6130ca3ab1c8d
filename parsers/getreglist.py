"""The register list Linux's KVM selftest prints: ``get-reg-list --config=CONFIG --list``.

One C expression per register, as the arm64 ``print_reg()`` writes it (a tab first, a comma
last; tools/testing/selftests/kvm/arm64/get-reg-list.c)::

    KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.regs[0]),
    KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_DEMUX | KVM_REG_ARM_DEMUX_ID_CCSIDR | 1,
    ARM64_SYS_REG(3, 0, 2, 0, 3),
    KVM_REG_ARM_FW_REG(0),
    KVM_REG_ARM_FW_FEAT_BMAP_REG(3),
    KVM_REG_ARM64_SVE_VLS,   KVM_REG_ARM64_SVE_ZREG(0, 0),   KVM_REG_ARM64_SVE_PREG(15, 0),
    KVM_REG_ARM64_SVE_FFR(0),

``--list`` leaves out the DEMUX registers (the selftest's ``filter_reg()``: their presence
depends on the host's caches); ``--list-filtered`` prints only them. Around the list: empty
lines, ``Random seed: 0x…`` from the selftest library, kselftest skip messages. The test mode
(no ``--list``) prints only the registers that differ from the selftest's blessed list, behind
counts such as ``vregs: Number registers: 271``: that is no host's list, and it is reported as
such. The common file's fallback ``0x…,`` (other architectures) is read as a bare id.

``parse_get_reg_list`` is total: any text gives ids and problems, never an exception.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from parsers.catalogue import CORE_NAMES
from parsers.regids import (
    ARM64_BASE,
    FW_BASE,
    FW_FEAT_BASE,
    GROUP_CORE,
    GROUP_DEMUX,
    SIZE_U32,
    SVE_VLS,
    RegisterIdError,
    check_fields,
    format_id,
    split_id,
    sve_ffr_id,
    sve_preg_id,
    sve_zreg_id,
    sysreg_id,
)

# KVM_REG_SIZE_U8 ... U2048: the size field is log2 of the size in bytes.
SIZES: Final = {f"U{8 << shift}": shift for shift in range(9)}
_N: Final = r"\s*\d{1,9}\s*"  # the selftest prints small decimal numbers


def _number(name: str) -> str:
    return rf"\s*(?P<{name}>\d{{1,9}})\s*"


_REGISTER: Final = re.compile(
    r"^\s*(?:"
    + "|".join(
        (
            r"KVM_REG_ARM64\s*\|\s*KVM_REG_SIZE_(?P<core_size>U\d{1,4})\s*\|\s*KVM_REG_ARM_CORE"
            r"\s*\|\s*KVM_REG_ARM_CORE_REG\(\s*(?P<core>[\w.\[\]]{1,40})\s*\)",
            r"KVM_REG_ARM64\s*\|\s*KVM_REG_SIZE_(?P<demux_size>U\d{1,4})\s*\|\s*KVM_REG_ARM_DEMUX"
            r"\s*\|\s*KVM_REG_ARM_DEMUX_ID_CCSIDR\s*\|" + _number("demux"),
            r"ARM64_SYS_REG\((?P<sysreg>(?:" + _N + ",){4}" + _N + r")\)",
            r"KVM_REG_ARM_FW_REG\(" + _number("fw") + r"\)",
            r"KVM_REG_ARM_FW_FEAT_BMAP_REG\(" + _number("fw_feat") + r"\)",
            r"(?P<vls>KVM_REG_ARM64_SVE_VLS)",
            r"KVM_REG_ARM64_SVE_ZREG\((?P<zreg>" + _N + "," + _N + r")\)",
            r"KVM_REG_ARM64_SVE_PREG\((?P<preg>" + _N + "," + _N + r")\)",
            r"KVM_REG_ARM64_SVE_FFR\(" + _number("ffr") + r"\)",
            r"0x(?P<hex>[0-9a-fA-F]{1,16})",
        )
    )
    + r")\s*,?\s*$"
)
# A line that means to be a register (one of the selftest's macros) but did not read as one.
_LOOKS_LIKE: Final = re.compile(r"^\s*(?:KVM_REG_ARM|ARM64_SYS_REG|0x[0-9a-fA-F]+\s*,)")
# What the selftest prints in its test mode, never with --list.
_TEST_MODE: Final = re.compile(
    r"Number blessed registers:|Number registers:|There are \d+ (?:new|missing) registers"
    r"|: Failed to (?:get|set|reject)|^\S+: PASS\s*$"
)
MAX_SHOWN: Final = 120  # characters of a bad line repeated in its problem


class ListProblem(NamedTuple):
    line: int  # 1-based
    message: str  # one sentence, the line's text shortened


class GetRegList(NamedTuple):
    ids: tuple[int, ...]  # in the order printed, each once
    problems: tuple[ListProblem, ...]
    register_lines: int  # lines that were registers (duplicates included)
    test_output: bool  # the selftest's test mode: no host's list


def _core_offsets() -> dict[str, tuple[int, int]]:
    """The selftest's ``KVM_REG_ARM_CORE_REG(...)`` names -> (offset in 32-bit words, size)."""
    found: dict[str, tuple[int, int]] = {}
    for offset, (name, size) in CORE_NAMES.items():
        if name[0] == "x" and name[1:].isdigit():
            spelled = f"regs.regs[{name[1:]}]"
        elif name in ("sp", "pc", "pstate"):
            spelled = f"regs.{name}"
        elif name[0] == "v" and name[1:].isdigit():
            spelled = f"fp_regs.vregs[{name[1:]}]"
        elif name in ("fpsr", "fpcr"):
            spelled = f"fp_regs.{name}"
        else:  # sp_el1, elr_el1, spsr[N]: as struct kvm_regs names them
            spelled = name
        found[spelled] = (offset, size)
    return found


CORE_OFFSETS: Final = _core_offsets()


def _size(text: str) -> int:
    size = SIZES.get(text)
    if size is None:
        raise RegisterIdError(f"KVM_REG_SIZE_{text[:8]} is no KVM register size.")
    return size


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def register_id(match: re.Match[str]) -> int:
    """The 64-bit id of one register line; RegisterIdError when the numbers are impossible."""
    groups = match.groupdict()
    if groups["core"] is not None:
        size = _size(groups["core_size"])
        core = CORE_OFFSETS.get(groups["core"])
        if core is None:
            raise RegisterIdError(f"{groups['core']} is no field of struct kvm_regs.")
        offset, wanted = core
        if size != wanted:
            raise RegisterIdError(f"{groups['core']} is not of size {groups['core_size']}.")
        return ARM64_BASE | size << 52 | GROUP_CORE << 16 | offset
    if groups["demux"] is not None:
        size = _size(groups["demux_size"])
        level = int(groups["demux"])
        check_fields(CCSIDR=(level, 0xFF))
        if size != SIZE_U32:
            raise RegisterIdError("a CCSIDR (DEMUX) register is of size U32.")
        return ARM64_BASE | size << 52 | GROUP_DEMUX << 16 | level
    if groups["sysreg"] is not None:
        op0, op1, crn, crm, op2 = _numbers(groups["sysreg"])
        return sysreg_id(op0, op1, crn, crm, op2)
    if groups["fw"] is not None or groups["fw_feat"] is not None:
        fw = groups["fw"] is not None
        number = int(groups["fw"] if fw else groups["fw_feat"])
        check_fields(register=(number, 0xFFFF))
        return (FW_BASE if fw else FW_FEAT_BASE) | number
    if groups["vls"] is not None:
        return SVE_VLS
    if groups["zreg"] is not None:
        n, piece = _numbers(groups["zreg"])
        return sve_zreg_id(n, piece)
    if groups["preg"] is not None:
        n, piece = _numbers(groups["preg"])
        return sve_preg_id(n, piece)
    if groups["ffr"] is not None:
        return sve_ffr_id(int(groups["ffr"]))
    kvm_id = int(groups["hex"], 16)
    split_id(kvm_id)
    return kvm_id


def _shown(line: str) -> str:
    text = line.strip().rstrip(",")
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def parse_get_reg_list(text: str) -> GetRegList:
    """The register ids of a ``get-reg-list --list`` output, with a problem for each line that
    means to be a register and is not one, and for each register listed twice."""
    ids: dict[int, int] = {}  # id -> first line
    problems: list[ListProblem] = []
    register_lines = 0
    test_output = False
    for number, line in enumerate(text.splitlines(), 1):
        match = _REGISTER.match(line)
        if match is None:
            if _TEST_MODE.search(line):
                test_output = True
            elif _LOOKS_LIKE.match(line):
                problems.append(
                    ListProblem(number, f"not a register line get-reg-list prints: {_shown(line)}")
                )
            continue
        try:
            kvm_id = register_id(match)
        except RegisterIdError as error:
            problems.append(ListProblem(number, f"{_shown(line)}: {error}"))
            continue
        register_lines += 1
        first = ids.setdefault(kvm_id, number)
        if first != number:
            problems.append(
                ListProblem(
                    number,
                    f"{format_id(kvm_id)} is listed twice (first on line {first}); kept once",
                )
            )
    return GetRegList(tuple(ids), tuple(problems), register_lines, test_output)
