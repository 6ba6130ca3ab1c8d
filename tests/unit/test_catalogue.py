"""The name catalogue: every row round-trips, and every register of the real corpus is named."""

from __future__ import annotations

import lzma
import re

import pytest

from parsers.catalogue import catalogue_ids, describe, lookup_name
from parsers.regforms import parse_reference, resolve_name
from parsers.regids import Accel, RegisterIdError, cp_id, format_id
from parsers.stream import parse_stream
from tests.conftest import CASES, CorpusCase, require_corpus


def test_every_catalogue_id_round_trips_through_its_name() -> None:
    ids = catalogue_ids()
    assert len(ids) > 1500
    for kvm_id in ids:
        info = describe(kvm_id)
        assert info.known, format_id(kvm_id)
        assert kvm_id in lookup_name(info.name), (format_id(kvm_id), info.name)


def test_names_are_case_insensitive_and_aliases_count() -> None:
    assert lookup_name("tcr2_el1") == [0x603000000013C103]
    assert lookup_name("BOGUS_DBGDTR_EL0") == [0x40200000200E0298]
    assert 0x40200000200E0298 in lookup_name("dbgdtrtx")


def test_unknown_encodings_get_generic_names_marked_unknown() -> None:
    info = describe(parse_reference("S3_7_C15_C15_7").kvm_id)
    assert (info.name, info.known) == ("S3_7_C15_C15_7", False)
    aarch32 = describe(parse_reference("p14, 7, c15, c15, 7").kvm_id)
    assert (aarch32.name, aarch32.known) == ("p14, 7, c15, c15, 7", False)


def test_the_issue_examples() -> None:
    names = [describe(i).name for i in (0x603000000013C103, 0x603000000013C512, 0x603000000013C513)]
    assert names == ["TCR2_EL1", "PIRE0_EL1", "PIR_EL1"]
    assert describe(0x6030000000160003).name == "KVM_REG_ARM_VENDOR_HYP_BMAP_2"
    bogus = describe(0x40200000200E0298)
    assert bogus.name == "DBGDTRTX"
    assert "BOGUS_DBGDTR_EL0" in bogus.aliases
    assert bogus.kind == "cp14"


_KEY = re.compile(r"system register (0x[0-9a-f]+)")


def _logs_text(case: CorpusCase) -> str:
    return "".join(case.text(path) for path in case.destination_logs())


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_id_of_the_corpus_is_named(case: CorpusCase) -> None:
    ids = {int(key, 16) for key in _KEY.findall(_logs_text(case))}
    ids = {parse_reference(f"system register 0x{key:x}").kvm_id for key in ids}
    ids |= {int(value, 16) for value in case.expected["only_in_stream"]}
    ids |= {int(value, 16) for value in case.expected["only_on_destination"]}
    for side in ("src", "dst"):
        stream = case.file(case.expected["streams"][side])
        if stream is None:
            continue
        contents = parse_stream(lzma.decompress(stream.read_bytes()))
        assert contents.error is None, contents.error
        for cpu in contents.cpus:
            ids |= set(cpu.indexes)
    unnamed = sorted(format_id(i) for i in ids if not describe(i).known)
    assert unnamed == []


def test_corpus_streams_ids_are_all_named() -> None:
    require_corpus()
    ids: set[int] = set()
    for case in CASES:
        for side in ("src", "dst"):
            stream = case.file(case.expected["streams"][side])
            if stream is not None:
                for cpu in parse_stream(lzma.decompress(stream.read_bytes())).cpus:
                    ids |= set(cpu.indexes)
    assert len(ids) >= 386
    assert all(describe(i).known for i in ids)


def test_both_state_registers_show_their_aarch32_name() -> None:
    sctlr = describe(0x603000000013C080)
    assert (sctlr.name, sctlr.aliases[:2]) == ("SCTLR_EL1", ("SCTLR", "p15, 0, c1, c0, 0"))
    assert "both states" in sctlr.note
    hsr = describe(parse_reference("ESR_EL2").kvm_id)
    assert "HSR" in hsr.aliases
    assert "DBGBVR0" in describe(0x6030000000138004).aliases
    # QEMU's own AArch64/AArch32 pairs, as on the 32-bit corpus streams
    assert "PMEVCNTR4" in describe(0x603000000013DF44).aliases
    # the AArch32 view itself, and its Secure bank
    view = describe(0x40200000200F0800)
    assert (view.name, view.kind, view.known) == ("SCTLR", "cp15", True)
    assert "SCTLR_EL1" in view.aliases
    assert describe(0x40200000000F0800).name == "SCTLR_S"


def test_a_name_means_its_own_register_first() -> None:
    assert sorted(lookup_name("SCTLR_EL1")) == [0x40200000200F0800, 0x603000000013C080]
    assert parse_reference("SCTLR_EL1").kvm_id == 0x603000000013C080
    assert parse_reference("sctlr").kvm_id == 0x40200000200F0800
    assert resolve_name("DBGDTRTX") == lookup_name("DBGDTRTX")  # two of that name: all


def test_kvm_pseudo_registers() -> None:
    expected = {
        0x6030000000100000: ("x0", "core"),
        0x603000000010003C: ("x30", "core"),
        0x603000000010003E: ("sp", "core"),
        0x6030000000100040: ("pc", "core"),
        0x6030000000100042: ("pstate", "core"),
        0x6030000000100044: ("sp_el1", "core"),
        0x6030000000100046: ("elr_el1", "core"),
        0x6030000000100048: ("spsr[0]", "core"),
        0x6030000000100050: ("spsr[4]", "core"),
        0x6040000000100054: ("v0", "core"),
        0x60400000001000D0: ("v31", "core"),
        0x60200000001000D4: ("fpsr", "core"),
        0x60200000001000D5: ("fpcr", "core"),
        0x6030000000140000: ("KVM_REG_ARM_PSCI_VERSION", "fw"),
        0x6030000000140003: ("KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3", "fw"),
        0x6030000000160000: ("KVM_REG_ARM_STD_BMAP", "fw-feat"),
        0x6030000000160003: ("KVM_REG_ARM_VENDOR_HYP_BMAP_2", "fw-feat"),
        0x606000000015FFFF: ("KVM_REG_ARM64_SVE_VLS", "sve"),
        0x6080000000150000: ("Z0", "sve"),
        0x6050000000150400: ("P0", "sve"),
        0x6050000000150600: ("FFR", "sve"),
    }
    for kvm_id, (name, kind) in expected.items():
        info = describe(kvm_id)
        assert (info.name, info.kind, info.known) == (name, kind, True), format_id(kvm_id)
        assert kvm_id in lookup_name(name) or kind == "sve"
    assert describe(0x6020000000110002).name == "CCSIDR_EL1[CSSELR=2]"
    assert "Linux 6.16" in describe(0x6030000000160003).note


@pytest.mark.parametrize(
    ("kvm_id", "why"),
    [
        (0x6040000000100040, "size"),  # pc is 64 bits
        (0x6030000000110000, "size"),  # CCSIDR is 32 bits
        (0x6020000000110100, "demux"),  # demux id 1
        (0x6030000000150000, "size"),  # a Z slice is 2048 bits
        (0x6030000000130000, "op0"),  # op0 0 is no system register
        (0x6030000000170000, "group"),
        (0x40300000200F0781, "64-bit"),  # a 64-bit access has no opc2
    ],
)
def test_impossible_ids_are_refused(kvm_id: int, why: str) -> None:
    with pytest.raises(RegisterIdError, match=why):
        describe(kvm_id)


def test_unknown_registers_are_never_guessed() -> None:
    info = describe(0x603000000013FFFF)
    assert (info.name, info.aliases, info.known) == ("S3_7_C15_C15_7", (), False)
    assert lookup_name("S3_7_C15_C15_7") == []
    cp = describe(cp_id(14, 5, 15, 15, 7))
    assert (cp.name, cp.known) == ("p14, 5, c15, c15, 7", False)
    assert describe(cp_id(15, 7, 15, 15, 7)).name == "C15_IMPDEF"  # QEMU's CP_ANY row


def test_the_timer_quirk() -> None:
    cnt, cval = 0x603000000013DF1A, 0x603000000013DF02
    assert describe(cnt, Accel.KVM).name == "KVM_REG_ARM_TIMER_CNT"
    assert describe(cval, Accel.KVM).name == "KVM_REG_ARM_TIMER_CVAL"
    for accel in (Accel.TCG, Accel.UNKNOWN):
        assert describe(cnt, accel).name == "CNTV_CVAL_EL0"
        assert describe(cval, accel).name == "CNTVCT_EL0"
        assert "KVM_REG_ARM_TIMER_CNT" in describe(cnt, accel).note
    assert lookup_name("KVM_REG_ARM_TIMER_CNT") == [cnt]


def test_the_tables_are_package_data_read_once() -> None:
    assert describe.cache_info().maxsize  # functools.lru_cache
    before = resources_reads()
    describe(0x603000000013C100)
    lookup_name("TTBR0_EL1")
    assert resources_reads() == before


def resources_reads() -> int:
    from parsers import catalogue

    return catalogue._tables.cache_info().misses


def test_the_decoder_imports_only_the_standard_library() -> None:
    import ast
    import sys
    from pathlib import Path

    import parsers

    root = Path(parsers.__file__).parent
    for module in ("regids.py", "catalogue.py"):
        tree = ast.parse((root / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in {"parsers", "__future__"}, name
    assert (root / "data" / "PROVENANCE.md").exists()


def test_every_reference_in_the_corpus_logs_and_samples_is_known() -> None:
    from parsers.regforms import find_references
    from tests.conftest import SAMPLES

    require_corpus()
    texts = [(path.name, path.read_text("utf-8", "replace")) for path in SAMPLES.iterdir()]
    for case in CASES:
        for name in ("dst_stderr", "dst_trace", "src_stderr"):
            path = case.file(case.expected["logs"].get(name))
            if path is not None:
                texts.append((f"{case.name}/{path.name}", case.text(path)))
    unknown = set()
    count = 0
    for where, text in texts:
        for _, _, ref in find_references(text):
            count += 1
            if not describe(ref.kvm_id, ref.accel).known:
                unknown.add((where, ref.text))
    assert count > 400
    assert unknown == set()
