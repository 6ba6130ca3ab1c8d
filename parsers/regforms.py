"""The text forms of Arm CPU registers: what QEMU and KVM print in logs, and what people type.

QEMU 11.1 prints its own 32-bit key under TCG (``system register 0x1013c103``); KVM builds print
``kvm_print_register_name``'s text (``op0:3 op1:0 crn:2 crm:0 op2:3``, ``fw feat reg 3``...);
people give ids, generic names (``S3_0_C15_C2_7``, ``p15, 4, c1, c0, 3``) and register names.
Each form becomes a ``RegisterRef``: the 64-bit id (``parsers.regids``) that the catalogue
(``parsers.catalogue``) checks and names.
"""

# Annotations are evaluated at import (no `from __future__ import annotations`): typing's
# NamedTuple compiles every string annotation, a tenth of a small report's start-up.

import re
from collections.abc import Iterator
from typing import Final, NamedTuple

from parsers import catalogue
from parsers.lazyre import LazyPattern
from parsers.regids import (
    FW_BASE,
    FW_FEAT_BASE,
    GROUP_CORE,
    GROUP_DEMUX,
    MAX_HEX_DIGITS,
    SVE_VLS,
    Accel,
    RegisterIdError,
    cp_id,
    format_id,
    qemu_key_to_kvm_id,
    split_id,
    sve_ffr_id,
    sve_preg_id,
    sve_zreg_id,
    sysreg_id,
)


class RegisterRef(NamedTuple):
    kvm_id: int
    form: str  # "kvm-id" | "qemu-key" | "kvm-text" | "name"
    text: str  # the text matched
    accel: Accel  # what the form implies: QEMU key => TCG, KVM text => KVM


_KVM_SYSREG = r"op0:(?P<s0>\d+) op1:(?P<s1>\d+) crn:(?P<sn>\d+) crm:(?P<sm>\d+) op2:(?P<s2>\d+)"
# QEMU under KVM prints kvm_print_register_name()'s text; 11.1's messages put "system register "
# before it, older ones do not. Accepted with or without the prefix, for every KVM form.
_PREFIX = r"(?:system register )?"
_FORMS: Final = LazyPattern(
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
        return RegisterRef(sve_zreg_id(n, i), "kvm-text", text, Accel.KVM)
    if kind == "preg":
        n, i = int(match.group("p_n")[:4]), int(match.group("p_i")[:4])
        return RegisterRef(sve_preg_id(n, i), "kvm-text", text, Accel.KVM)
    if kind == "ffr":
        return RegisterRef(sve_ffr_id(int(match.group("f_i")[:4])), "kvm-text", text, Accel.KVM)
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


def _ref_from_hex(digits: str, text: str) -> RegisterRef:
    """A bare number: a 64-bit id when it has an architecture byte, else QEMU's 32-bit key."""
    value = _hex(digits)
    if value >= 1 << 32:
        split_id(value)
        return RegisterRef(value, "kvm-id", text, Accel.UNKNOWN)
    return RegisterRef(qemu_key_to_kvm_id(value), "qemu-key", text, Accel.TCG)


def _ref_from_name(text: str) -> RegisterRef:
    found = resolve_name(text)
    if not found:
        raise RegisterIdError(f"{text!r} is not a register name, id or QEMU/KVM register form.")
    if len(found) > 1:
        choices = ", ".join(format_id(kvm_id) for kvm_id in found)
        raise RegisterIdError(f"{text!r} names several registers ({choices}); give the id.")
    return RegisterRef(found[0], "name", text, Accel.UNKNOWN)


def resolve_name(name: str) -> list[int]:
    """The register a name means: of the ids ``lookup_name`` gives, the one whose display name it
    is when there is exactly one (``SCTLR_EL1`` is the AArch64 register, ``SCTLR`` its AArch32
    view); otherwise all of them (``DBGDTRTX``)."""
    ids = catalogue.lookup_name(name)
    if len(ids) < 2:
        return ids
    wanted = name.strip().lower()
    own = [kvm_id for kvm_id in ids if catalogue.describe(kvm_id).name.lower() == wanted]
    return own if len(own) == 1 else ids


_KEY_PREFIX: Final = "system register 0x"
_HEX_DIGITS: Final = "0123456789abcdefABCDEF"


def _qemu_key(text: str) -> RegisterRef | None:
    """``system register 0x1013c103``, the form QEMU 11.1's TCG lines use, read without the
    expression of every form (compiling it is a fiftieth of a small report's start-up); None
    for anything else."""
    digits = text[len(_KEY_PREFIX) :]
    if not text.startswith(_KEY_PREFIX) or not 0 < len(digits) <= 8 or digits.strip(_HEX_DIGITS):
        return None
    return RegisterRef(qemu_key_to_kvm_id(int(digits, 16)), "qemu-key", text, Accel.TCG)


def parse_reference(text: str) -> RegisterRef:
    """Exactly one register in any form: id, QEMU key, KVM text, name. RegisterIdError if not."""
    stripped = text.strip()
    ref = _qemu_key(stripped)
    if ref is not None:
        return _checked(ref)
    match = _FORMS.fullmatch(stripped)
    if match is None:
        raise RegisterIdError(
            f"{stripped[:80]!r} is not a register id, name or QEMU/KVM register form."
        )
    return _checked(_ref_from_match(match))


def _checked(ref: RegisterRef) -> RegisterRef:
    """The reference, once the catalogue agrees it is a possible register (sizes, indexes)."""
    catalogue.describe(ref.kvm_id, ref.accel)
    return ref


# A bare number in free text is mostly something else (RAM addresses such as ``addr: 0xe0000``
# in ``ram_load_loop`` traces): only 64-bit ids and the keys QEMU prints for registers it really
# migrates (AArch64 ``0x1013....``, AArch32 non-secure ``0x200e....``/``0x200f....``) count.
# QEMU's ``system register 0x...`` form takes any key.
# These and _PATTERN_STARTS are compiled on first use (re caches them): only searches of free text
# need them, and reading a log usually makes none, so start-up does not pay for them.
_WORTH_A_KEY: Final = r"0*(?:[0-9a-fA-F]{9,}|1013[0-9a-fA-F]{4}|200[efEF][0-9a-fA-F]{4})"
_WORTH_A_NAME: Final = r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{2,}[A-Z0-9]*\d[A-Z0-9]*|[A-Z]{4,}"


def find_references(text: str) -> list[tuple[int, int, RegisterRef]]:
    """Every register reference in free text, as (start, end, ref). Never raises.

    Every form ``parse_reference`` takes, with two limits against false hits: a bare number
    counts when it is a valid 64-bit id or an 8-digit QEMU key of a migrated register
    (``0x1013....``, ``0x200e....``, ``0x200f....``; any key after ``system register ``), and a
    bare word when it looks like a register name (upper case, ``TCR2_EL1``) the catalogue knows.
    Every reference is one ``describe`` accepts.
    """
    return [(start, end, ref) for start, end, ref, _ in describe_references(text)]


def describe_references(
    text: str, accel: Accel | None = None
) -> Iterator[tuple[int, int, RegisterRef, catalogue.RegisterInfo]]:
    """Every register reference ``find_references`` finds in free text, in order, with its
    description under ``accel`` (default: what each form implies). Never raises.

    Each distinct register is described once: a large log names more of them than describe()'s
    cache holds, and would otherwise pay for every repeat again.
    """
    infos: dict[tuple[int, Accel], catalogue.RegisterInfo | None] = {}
    for start, end, ref in candidate_references(text):
        key = (ref.kvm_id, accel or ref.accel)
        if key in infos:
            info = infos[key]
        else:
            try:
                info = catalogue.describe(*key)
            except RegisterIdError:
                info = None
            infos[key] = info
        if info is not None:
            yield start, end, ref, info


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
    if kind == "name" and not re.fullmatch(_WORTH_A_NAME, match.group(0)):
        return None
    if kind == "hex" and not re.fullmatch(_WORTH_A_KEY, match.group("hex_digits")):
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
    r"0[xX]0*(?:[46]0[0-9a-fA-F]{14}|1013[0-9a-fA-F]{4}|200[efEF][0-9a-fA-F]{4})\b",
    r"p1[45],",
    r"\b(?:[A-Z][A-Z0-9]*_|[A-Z]{2})",  # what _WORTH_A_NAME may take; S3_0_C15_C2_7
)


def _candidates(text: str) -> list[int]:
    starts: set[int] = set()
    for literal in _LITERAL_STARTS:
        position = text.find(literal)
        while position >= 0:
            starts.add(position)
            position = text.find(literal, position + 1)
    for pattern in _PATTERN_STARTS:
        starts.update(match.start() for match in re.finditer(pattern, text))
    return sorted(starts)
