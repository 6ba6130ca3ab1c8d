"""The kernel selftest's `get-reg-list --list` output: every form its print_reg() writes, read
back as the ids a saved KVM stream carries; total on any text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.getreglist import ListProblem, parse_get_reg_list
from parsers.regids import GROUP_CORE, GROUP_DEMUX, GROUP_SVE, split_id
from reginspect.streams import ListKind, load_register_list
from tests.conftest import KVM_CASES, CorpusCase

# -- the selftest's print_reg(), from its format strings (tools/testing/selftests/kvm/arm64/
# get-reg-list.c); the test's own copy of struct kvm_regs' layout, in 32-bit words.


def core_name(offset: int) -> str:
    if offset < 62:
        return f"regs.regs[{offset // 2}]"
    named = {62: "regs.sp", 64: "regs.pc", 66: "regs.pstate", 68: "sp_el1", 70: "elr_el1"}
    if offset in named:
        return named[offset]
    if 72 <= offset < 82:
        return f"spsr[{(offset - 72) // 2}]"
    if 84 <= offset < 212:
        return f"fp_regs.vregs[{(offset - 84) // 4}]"
    return {212: "fp_regs.fpsr", 213: "fp_regs.fpcr"}[offset]


def print_reg(kvm_id: int) -> str:
    reg_size = f"KVM_REG_SIZE_U{8 << (kvm_id >> 52 & 0xF)}"
    group = kvm_id >> 16 & 0xFFF
    if group == 0x10:
        name = core_name(kvm_id & 0xFFFF)
        return f"\tKVM_REG_ARM64 | {reg_size} | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG({name}),\n"
    if group == 0x11:
        return (
            f"\tKVM_REG_ARM64 | {reg_size} | KVM_REG_ARM_DEMUX | KVM_REG_ARM_DEMUX_ID_CCSIDR | "
            f"{kvm_id & 0xFF},\n"
        )
    if group == 0x13:
        op0, op1 = kvm_id >> 14 & 3, kvm_id >> 11 & 7
        crn, crm, op2 = kvm_id >> 7 & 15, kvm_id >> 3 & 15, kvm_id & 7
        return f"\tARM64_SYS_REG({op0}, {op1}, {crn}, {crm}, {op2}),\n"
    if group == 0x14:
        return f"\tKVM_REG_ARM_FW_REG({kvm_id & 0xFFFF}),\n"
    if group == 0x16:
        return f"\tKVM_REG_ARM_FW_FEAT_BMAP_REG({kvm_id & 0xFFFF}),\n"
    assert group == 0x15
    if kvm_id & 0xFFFF == 0xFFFF:
        return "\tKVM_REG_ARM64_SVE_VLS,\n"
    index = kvm_id & 0xFFFF
    if index < 0x400:
        return f"\tKVM_REG_ARM64_SVE_ZREG({index >> 5}, 0),\n"
    if index < 0x600:
        return f"\tKVM_REG_ARM64_SVE_PREG({(index - 0x400) >> 5}, 0),\n"
    return "\tKVM_REG_ARM64_SVE_FFR(0),\n"


ARM64 = 0x6000000000000000
CORE = [ARM64 | 3 << 52 | 0x10 << 16 | 2 * n for n in range(31)]
CORE += [ARM64 | 3 << 52 | 0x10 << 16 | offset for offset in (62, 64, 66, 68, 70, 72, 80)]
CORE += [ARM64 | 4 << 52 | 0x10 << 16 | (84 + 4 * n) for n in (0, 31)]
CORE += [ARM64 | 2 << 52 | 0x10 << 16 | offset for offset in (212, 213)]
SVE = [ARM64 | 6 << 52 | 0x15 << 16 | 0xFFFF]  # KVM_REG_ARM64_SVE_VLS
SVE += [ARM64 | 8 << 52 | 0x15 << 16 | n << 5 for n in (0, 31)]  # Z0, Z31
SVE += [ARM64 | 5 << 52 | 0x15 << 16 | 0x400 | n << 5 for n in (0, 15)]  # P0, P15
SVE += [ARM64 | 5 << 52 | 0x15 << 16 | 0x600]  # FFR


def selftest_output(ids: Sequence[int], *, filtered: Sequence[int] = ()) -> str:
    """What `get-reg-list --config=vregs --list` prints on a host with these registers (the
    DEMUX ones filtered out), followed by `--list-filtered`'s output when ``filtered`` is given."""
    text = "Random seed: 0x6b8b4567\n" + "\n"
    text += "".join(print_reg(kvm_id) for kvm_id in ids) + "\n"
    if filtered:
        text += "Random seed: 0x327b23c6\n\n" + "".join(print_reg(k) for k in filtered) + "\n"
    return text


Run = Any  # the run_cli fixture: (*args) -> (status, stdout, stderr)


def kvm_stream(name: str) -> CorpusCase:
    return next(case for case in KVM_CASES if case.name == name)


def group(kvm_id: int) -> int:
    return split_id(kvm_id)[2]


# -- tests ----------------------------------------------------------------------------------------


def test_every_form_print_reg_writes_reads_back_as_its_id() -> None:
    stream = load_register_list(str(kvm_stream("kvm-k73-q11-to-q11").path / "src.mig.xz"))
    migrated = sorted(stream.cpus[0])
    printed = [k for k in migrated if group(k) != GROUP_DEMUX]
    demux = [k for k in migrated if group(k) == GROUP_DEMUX]
    assert demux, "a KVM stream carries CCSIDR (DEMUX) registers"
    text = selftest_output(CORE + printed + SVE, filtered=demux)
    parsed = parse_get_reg_list(text)
    assert parsed.problems == ()
    assert parsed.test_output is False
    assert list(parsed.ids) == CORE + printed + SVE + demux
    assert parsed.register_lines == len(parsed.ids)


@pytest.mark.parametrize("case", KVM_CASES, ids=lambda c: c.name)
def test_a_hosts_list_equals_its_stream_where_they_overlap(
    case: CorpusCase, tmp_path: Path
) -> None:
    stream = load_register_list(str(case.path / "src.mig.xz"))
    migrated = sorted(stream.cpus[0])
    listed = tmp_path / "host.txt"
    listed.write_text(selftest_output(CORE + [k for k in migrated if group(k) != 0x11] + SVE))
    read = load_register_list(str(listed))
    assert read.kind is ListKind.GET_REG_LIST
    assert read.covers is not None
    assert GROUP_DEMUX not in read.covers
    # Core and SVE registers travel outside QEMU's list: left out, and said so.
    assert not any(group(k) in (GROUP_CORE, GROUP_SVE) for k in read.cpus[0])
    assert any("core and SVE registers left out" in problem for problem in read.problems)
    overlap = [k for k in migrated if read.describes(k)]
    assert sorted(read.cpus[0]) == overlap
    assert all(value is None for value in read.cpus[0].values())


def test_list_filtered_output_appended_brings_the_demux_registers(tmp_path: Path) -> None:
    stream = load_register_list(str(kvm_stream("kvm-o72-k612-to-k73-q11").path / "src.mig.xz"))
    migrated = sorted(stream.cpus[0])
    demux = [k for k in migrated if group(k) == GROUP_DEMUX]
    listed = tmp_path / "host.txt"
    listed.write_text(selftest_output([k for k in migrated if k not in demux], filtered=demux))
    read = load_register_list(str(listed))
    assert read.covers is not None
    assert GROUP_DEMUX in read.covers
    assert sorted(read.cpus[0]) == migrated


def test_compare_of_a_hosts_list_with_a_stream_leaves_demux_out_and_says_so(
    tmp_path: Path, run_cli: Run
) -> None:
    case = kvm_stream("kvm-k73-q11-to-q11")
    stream = load_register_list(str(case.path / "src.mig.xz"))
    listed = tmp_path / "k73.txt"
    listed.write_text(selftest_output([k for k in sorted(stream.cpus[0]) if group(k) != 0x11]))
    status, out, _ = run_cli(
        "compare", str(listed), str(case.path / "dst.mig.xz"), "--format", "json"
    )
    report = json.loads(out)
    [attempt] = report["attempts"]
    statuses = {r["status"] for r in attempt["cpus"][0]["registers"]}
    assert statuses == {"matched"}  # the same host: nothing differs once DEMUX is left out
    assert status == 0
    assert any("DEMUX (CCSIDR) registers are compared only" in p for p in report["problems"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("\tARM64_SYS_REG(3, 0, 99, 0, 3),", "CRn=99 is out of range"),
        ("\tARM64_SYS_REG(1, 0, 0, 0, 0),", "op0=1 encodes an instruction"),
        ("\tARM64_SYS_REG(3, 0, 2),", "not a register line get-reg-list prints"),
        (
            "KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pc),",
            "regs.pc is not of size U32",
        ),
        (
            "\tKVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(foo),",
            "foo is no field of struct kvm_regs",
        ),
        (
            "KVM_REG_ARM64 | KVM_REG_SIZE_U3 | KVM_REG_ARM_DEMUX | KVM_REG_ARM_DEMUX_ID_CCSIDR | 1",
            "KVM_REG_SIZE_U3 is no KVM register size",
        ),
        ("\tKVM_REG_ARM64_SVE_PREG(16, 0),", "n=16 is out of range"),
        ("\tKVM_REG_ARM_FW_REG(70000),", "register=70000 is out of range"),
        ("\t0x1234,", "not an Arm register id"),
    ],
)
def test_a_line_that_means_a_register_but_is_none_is_a_problem_on_its_line(
    line: str, message: str
) -> None:
    parsed = parse_get_reg_list(f"Random seed: 0x1\n\n\tKVM_REG_ARM_FW_REG(0),\n{line}\n")
    assert parsed.ids == (0x6030000000140000,)
    [problem] = parsed.problems
    assert problem.line == 4
    assert message in problem.message


def test_a_register_listed_twice_is_kept_once_with_a_problem() -> None:
    parsed = parse_get_reg_list("\tKVM_REG_ARM_FW_REG(1),\n\tKVM_REG_ARM_FW_REG(1),\n")
    assert parsed.ids == (0x6030000000140001,)
    assert parsed.register_lines == 2
    assert parsed.problems == (
        ListProblem(2, "0x6030000000140001 is listed twice (first on line 1); kept once"),
    )


def test_the_test_mode_output_is_told_apart(tmp_path: Path) -> None:
    text = (
        "Random seed: 0x1\nvregs: Number blessed registers:   242\n"
        "vregs: Number registers:           245 (includes 4 filtered registers)\n\n"
        "vregs: There are 3 new registers.\n"
        "Consider adding them to the blessed reg list with the following lines:\n\n"
        "\tARM64_SYS_REG(3, 0, 2, 0, 3),\n\n"
    )
    assert parse_get_reg_list(text).test_output is True
    path = tmp_path / "test-output.txt"
    path.write_text(text)
    from reginspect.errors import UserError

    with pytest.raises(UserError, match="get-reg-list's test output"):
        load_register_list(str(path))


@pytest.mark.parametrize(
    "content",
    [b"qemu-system-aarch64: some log\n", b"Random seed: 0x1\n\n", b"\x00\x01binary\x00"],
)
def test_text_without_a_register_line_is_an_input_error(
    tmp_path: Path, run_cli: Run, content: bytes
) -> None:
    path = tmp_path / "not-a-list.txt"
    path.write_bytes(content)
    good = kvm_stream("kvm-k73-q11-to-q11").path / "src.mig.xz"
    status, out, err = run_cli("compare", str(good), str(path))
    assert status == 2
    assert out == ""
    assert "get-reg-list --list" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


# -- totality --------------------------------------------------------------------------------------

FRAGMENTS = [
    "\t",
    " ",
    ",",
    "\n",
    "\r\n",
    "Random seed: 0x1234",
    "ARM64_SYS_REG(",
    "3, 0, 2, 0, 3",
    ")",
    "KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(",
    "regs.regs[31]",
    "KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_DEMUX | KVM_REG_ARM_DEMUX_ID_CCSIDR | ",
    "999999999999",
    "KVM_REG_ARM_FW_FEAT_BMAP_REG(",
    "KVM_REG_ARM64_SVE_ZREG(",
    "KVM_REG_ARM64_SVE_FFR(0)",
    "0x6030000000140000",
    "0xffffffffffffffffff",
    "vregs: Number registers:",
    "\x00",
    "\u202e",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=20), max_size=60))
def test_any_text_gives_ids_and_problems_never_an_exception(pieces: list[str]) -> None:
    text = "".join(pieces)
    parsed = parse_get_reg_list(text)
    assert len(set(parsed.ids)) == len(parsed.ids)
    for kvm_id in parsed.ids:
        split_id(kvm_id)  # every id is a valid Arm register id
    lines = len(text.splitlines())
    assert all(1 <= problem.line <= lines for problem in parsed.problems)
    assert parsed.register_lines >= len(parsed.ids)


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(
        st.integers(2, 3),
        st.integers(0, 7),
        st.integers(0, 15),
        st.integers(0, 15),
        st.integers(0, 7),
    )
)
def test_a_printed_system_register_reads_back(fields: tuple[int, int, int, int, int]) -> None:
    op0, op1, crn, crm, op2 = fields
    kvm_id = 0x6030000000130000 | op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
    assert parse_get_reg_list(print_reg(kvm_id)).ids == (kvm_id,)


def test_a_bare_id_no_register_has_is_left_out_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "host.txt"
    path.write_text("\tKVM_REG_ARM_FW_REG(0),\n\t0x6000000000130000,\n")  # a size-0 sysreg
    read = load_register_list(str(path))
    assert list(read.cpus[0]) == [0x6030000000140000]
    assert any("0x6000000000130000: no Arm register; left out" in p for p in read.problems)
