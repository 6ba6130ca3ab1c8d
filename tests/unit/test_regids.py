"""Register id layouts, QEMU keys and KVM text forms."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.catalogue import cp_generic_name, describe
from parsers.regids import (
    Accel,
    RegisterIdError,
    cp_id,
    find_references,
    format_id,
    kvm_id_to_qemu_key,
    parse_reference,
    qemu_key_to_kvm_id,
    sysreg_id,
)


@pytest.mark.parametrize(
    ("text", "kvm_id", "form", "accel"),
    [
        ("0x603000000013c103", 0x603000000013C103, "kvm-id", Accel.UNKNOWN),
        ("system register 0x1013c030", 0x603000000013C030, "qemu-key", Accel.TCG),
        ("system register 0x200f0823", 0x40200000200F0823, "qemu-key", Accel.TCG),
        ("0x200f8780", 0x40300000200F0780, "qemu-key", Accel.TCG),
        ("op0:3 op1:0 crn:2 crm:0 op2:3", 0x603000000013C103, "kvm-text", Accel.KVM),
        (
            "system register op0:3 op1:0 crn:10 crm:2 op2:2",
            0x603000000013C512,
            "kvm-text",
            Accel.KVM,
        ),
        ("fw reg 1", 0x6030000000140001, "kvm-text", Accel.KVM),
        ("fw feat reg 3", 0x6030000000160003, "kvm-text", Accel.KVM),
        ("core reg 6030000000100040", 0x6030000000100040, "kvm-text", Accel.KVM),
        ("demuxed reg 6020000000110002", 0x6020000000110002, "kvm-text", Accel.KVM),
        ("SVE zreg n:3 slice:0", 0x6080000000150060, "kvm-text", Accel.KVM),
        ("SVE preg n:2 slice:0", 0x6050000000150440, "kvm-text", Accel.KVM),
        ("SVE ffr slice:0", 0x6050000000150600, "kvm-text", Accel.KVM),
        ("SVE VLS", 0x606000000015FFFF, "kvm-text", Accel.KVM),
        ("S3_0_C15_C2_7", 0x603000000013C797, "name", Accel.UNKNOWN),
        ("p15, 4, c1, c0, 3", 0x40200000200F0823, "name", Accel.UNKNOWN),
        ("tcr2_el1", 0x603000000013C103, "name", Accel.UNKNOWN),
        ("KVM_REG_ARM_VENDOR_HYP_BMAP_2", 0x6030000000160003, "name", Accel.UNKNOWN),
        ("pc", 0x6030000000100040, "name", Accel.UNKNOWN),
    ],
)
def test_every_form_parses(text: str, kvm_id: int, form: str, accel: Accel) -> None:
    ref = parse_reference(text)
    assert (ref.kvm_id, ref.form, ref.accel) == (kvm_id, form, accel)


@pytest.mark.parametrize(
    "text",
    [
        "0xZZ",
        "0x2030000000000011",  # x86
        "op0:3 op1:9 crn:0 crm:0 op2:0",
        "op0:1 op1:0 crn:0 crm:0 op2:0",  # op0 1 is an instruction
        "0x" + "f" * 40,
        "fw reg 99999999999",
        "SVE zreg n:40 slice:0",
        "0x603000000023c103",  # reserved bits
        "DBGDTRTX",  # two registers by that name: the id is needed
        "",
    ],
)
def test_what_is_not_an_arm_register_is_refused(text: str) -> None:
    with pytest.raises(RegisterIdError) as error:
        parse_reference(text)
    assert str(error.value)


def test_keys_convert_both_ways() -> None:
    assert qemu_key_to_kvm_id(0x1013C103) == 0x603000000013C103
    assert qemu_key_to_kvm_id(0x200E0298) == 0x40200000200E0298
    assert qemu_key_to_kvm_id(0x200F8780) == 0x40300000200F0780
    assert kvm_id_to_qemu_key(0x40300000200F0780) == 0x200F8780
    assert kvm_id_to_qemu_key(0x6030000000160003) is None


def test_the_kvm_timer_quirk_is_named_by_accelerator() -> None:
    cnt = sysreg_id(3, 3, 14, 3, 2)
    assert describe(cnt, Accel.TCG).name == "CNTV_CVAL_EL0"
    assert describe(cnt, Accel.KVM).name == "KVM_REG_ARM_TIMER_CNT"
    assert "swapped" in describe(cnt).note
    assert describe(sysreg_id(3, 3, 14, 0, 2), Accel.KVM).name == "KVM_REG_ARM_TIMER_CVAL"


def test_find_references_in_free_text() -> None:
    text = (
        "qemu-system-aarch64: handle_cpreg_only_in_incoming_stream: system register 0x1013c103 "
        "in the incoming stream; KVM says op0:3 op1:0 crn:10 crm:2 op2:3 and fw feat reg 3; "
        "see PIRE0_EL1, page 0x7f0000000000, the word pc stays a word"
    )
    found = [ref.kvm_id for _, _, ref in find_references(text)]
    assert found == [0x603000000013C103, 0x603000000013C513, 0x6030000000160003, 0x603000000013C512]


sysregs = st.builds(
    sysreg_id,
    st.integers(2, 3),
    st.integers(0, 7),
    st.integers(0, 15),
    st.integers(0, 15),
    st.integers(0, 7),
)
cpregs = st.builds(
    cp_id,
    st.sampled_from([14, 15]),
    st.integers(0, 7),
    st.integers(0, 15),
    st.integers(0, 15),
    st.integers(0, 7),
)


@settings(max_examples=500)
@given(st.one_of(sysregs, cpregs))
def test_formatted_ids_parse_back(kvm_id: int) -> None:
    assert parse_reference(format_id(kvm_id)).kvm_id == kvm_id
    key = kvm_id_to_qemu_key(kvm_id)
    assert key is not None
    assert parse_reference(f"system register 0x{key:x}").kvm_id == kvm_id
    generic = (
        cp_generic_name(kvm_id)
        if kvm_id >> 56 == 0x40
        else "S{}_{}_C{}_C{}_{}".format(*dict(describe(kvm_id).fields).values())
    )
    assert parse_reference(generic).kvm_id == kvm_id


@settings(max_examples=500)
@given(sysregs)
def test_kvm_text_round_trip(kvm_id: int) -> None:
    fields = dict(describe(kvm_id).fields)
    text = "op0:{op0} op1:{op1} crn:{CRn} crm:{CRm} op2:{op2}".format(**fields)
    assert parse_reference(text).kvm_id == kvm_id


@settings(max_examples=1000)
@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_describe_raises_only_register_errors(kvm_id: int) -> None:
    with contextlib.suppress(RegisterIdError):
        describe(kvm_id)


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_find_references_never_raises(text: str) -> None:
    find_references(text)
