"""Register id layouts, QEMU keys and KVM text forms."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import catalogue, regforms
from parsers.catalogue import cp_generic_name, describe
from parsers.regforms import RegisterRef, describe_references, find_references, parse_reference
from parsers.regids import (
    Accel,
    RegisterIdError,
    accel_named,
    cp_fields,
    cp_id,
    format_id,
    kvm_id_to_qemu_key,
    qemu_key_to_kvm_id,
    sysreg_fields,
    sysreg_id,
)

# The accelerator each form implies: QEMU prints its own keys under TCG, KVM's text under KVM.
ACCEL_OF_FORM = {
    "kvm-id": Accel.UNKNOWN,
    "qemu-key": Accel.TCG,
    "kvm-text": Accel.KVM,
    "name": Accel.UNKNOWN,
}
# Texts of each form and the register id they stand for.
FORMS: dict[str, list[tuple[str, int]]] = {
    "kvm-id": [("0x603000000013c103", 0x603000000013C103)],
    "qemu-key": [
        ("system register 0x1013c030", 0x603000000013C030),
        ("system register 0x200f0823", 0x40200000200F0823),
        ("0x200f8780", 0x40300000200F0780),
    ],
    "kvm-text": [
        ("op0:3 op1:0 crn:2 crm:0 op2:3", 0x603000000013C103),
        ("system register op0:3 op1:0 crn:10 crm:2 op2:2", 0x603000000013C512),
        ("fw reg 1", 0x6030000000140001),
        ("fw feat reg 3", 0x6030000000160003),
        ("core reg 6030000000100040", 0x6030000000100040),
        ("demuxed reg 6020000000110002", 0x6020000000110002),
        ("SVE zreg n:3 slice:0", 0x6080000000150060),
        ("SVE preg n:2 slice:0", 0x6050000000150440),
        ("SVE ffr slice:0", 0x6050000000150600),
        ("SVE VLS", 0x606000000015FFFF),
    ],
    "name": [
        ("S3_0_C15_C2_7", 0x603000000013C797),
        ("p15, 4, c1, c0, 3", 0x40200000200F0823),
        ("tcr2_el1", 0x603000000013C103),
        ("KVM_REG_ARM_VENDOR_HYP_BMAP_2", 0x6030000000160003),
        ("pc", 0x6030000000100040),
    ],
}


@pytest.mark.parametrize(
    ("text", "kvm_id", "form"),
    [(text, kvm_id, form) for form, texts in FORMS.items() for text, kvm_id in texts],
)
def test_every_form_parses(text: str, kvm_id: int, form: str) -> None:
    ref = parse_reference(text)
    assert (ref.kvm_id, ref.form, ref.accel) == (kvm_id, form, ACCEL_OF_FORM[form])


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


def test_describe_references_describes_each_register_once(monkeypatch: pytest.MonkeyPatch) -> None:
    timer = sysreg_id(3, 3, 14, 3, 2)  # named differently under KVM and TCG
    text = (
        f"{format_id(timer)} op0:3 op1:3 crn:14 crm:3 op2:2 {format_id(timer)} TCR2_EL1 "
        "0x6030000000130000 TCR2_EL1 0x6030000000130000 system register 0x1013c103"
    )
    calls: list[tuple[int, Accel]] = []

    def counted(kvm_id: int, accel: Accel = Accel.UNKNOWN) -> catalogue.RegisterInfo:
        calls.append((kvm_id, accel))
        return describe(kvm_id, accel)

    monkeypatch.setattr(catalogue, "describe", counted)
    found = list(describe_references(text))
    # Once per register and accelerator: the timer (as such and as KVM's), TCR2_EL1 (as such and
    # as TCG's key), and the impossible 0x...130000.
    assert len(calls) == len(set(calls)) == 5
    monkeypatch.undo()
    # The same hits as find_references (0x...130000, op0=0, is no register), each described as
    # its form implies; the KVM text form names the timer as KVM does.
    assert [(start, end, ref) for start, end, ref, _ in found] == find_references(text)
    assert all(text[start:end] == ref.text for start, end, ref, _ in found)  # repeats too
    assert [info for *_, info in found] == [describe(ref.kvm_id, ref.accel) for *_, ref, _ in found]
    assert [info.name for *_, info in found][:3] == [
        "CNTV_CVAL_EL0",
        "KVM_REG_ARM_TIMER_CNT",
        "CNTV_CVAL_EL0",
    ]
    forced = list(describe_references(text, Accel.KVM))
    assert [info.name for *_, info in forced][:3] == ["KVM_REG_ARM_TIMER_CNT"] * 3


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


@given(sysregs)
def test_sysreg_fields_undo_sysreg_id(kvm_id: int) -> None:
    assert sysreg_id(*sysreg_fields(kvm_id & 0xFFFF)) == kvm_id


@given(
    st.sampled_from([14, 15]),
    st.integers(0, 15),
    st.integers(0, 15),
    st.integers(0, 15),
    st.integers(0, 7),
    st.booleans(),
)
def test_cp_fields_undo_cp_id(
    cp: int, opc1: int, crn: int, crm: int, opc2: int, is64: bool
) -> None:
    kvm_id = cp_id(cp, opc1, crn, crm, opc2, is64=is64)
    want = (opc1, 0, crm, 0) if is64 else (opc1, crn, crm, opc2)
    assert cp_fields(kvm_id & 0xFFFF) == want


@settings(max_examples=1000)
@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_describe_raises_only_register_errors(kvm_id: int) -> None:
    with contextlib.suppress(RegisterIdError):
        describe(kvm_id)


@settings(max_examples=500)
@given(st.text(max_size=200))
def test_find_references_never_raises(text: str) -> None:
    """Any text: references in order, each a piece of the text that describe() accepts."""
    found = find_references(text)
    assert all(0 <= start < end <= len(text) for start, end, _ in found)
    assert [start for start, _, _ in found] == sorted(start for start, _, _ in found)


@pytest.mark.parametrize(
    ("text", "kvm_id"),
    [
        ("system register fw feat reg 3", 0x6030000000160003),
        ("system register op0:3 op1:0 crn:2 crm:0 op2:3", 0x603000000013C103),
        ("core reg 0x6030000000100040", 0x6030000000100040),
        ("SYSTEM REGISTER 0x1013C103".lower(), 0x603000000013C103),
        ("  0x603000000013C103\n", 0x603000000013C103),
        ("p15, 0, c7", 0x40300000200F0380),  # 64-bit access: opc1 and CRm only
        ("p14,3,c0,c5,0", 0x40200000200E0298),
        ("0x200e0298", 0x40200000200E0298),
        ("0x000f0800", 0x40200000000F0800),  # a Secure bank: no NS bit
    ],
)
def test_more_spellings(text: str, kvm_id: int) -> None:
    assert parse_reference(text).kvm_id == kvm_id


def test_a_64_bit_id_after_system_register_implies_no_accelerator() -> None:
    ref = parse_reference("system register 0x603000000013c103")
    assert (ref.form, ref.accel) == ("kvm-id", Accel.UNKNOWN)


@pytest.mark.parametrize(
    "text", ["0xZZ", "0x2030000000000011", "op0:3 op1:0 crn:16 crm:0 op2:0", "0x" + "1" * 30]
)
def test_refusals_are_one_sentence(text: str) -> None:
    with pytest.raises(RegisterIdError) as error:
        parse_reference(text)
    message = str(error.value)
    assert message.endswith(".")
    assert "\n" not in message
    assert len(message) < 200


def test_x86_ids_are_named_as_not_arm() -> None:
    with pytest.raises(RegisterIdError, match="not an Arm register id"):
        describe(0x2030000000000011)


def test_find_references_reads_every_form_in_one_log() -> None:
    log = "\n".join(
        [
            "qemu-system-aarch64: warning: handle_cpreg_missing_in_incoming_stream: "
            "system register 0x1013c103 expected by the destination",
            "qemu-system-arm: handle_cpreg_only_in_incoming_stream: system register 0x200f0823 in",
            "handle_cpreg_only_in_incoming_stream: op0:3 op1:0 crn:10 crm:2 op2:2 in the stream",
            "Could not set register core reg 6030000000100040 to 0",
            "Could not set register demuxed reg 6020000000110000: unknown to KVM",
            "Could not set register SVE zreg n:1 slice:0 to 5",
            "cpu_post_load_missing missing register in input stream: i=3 index=0x6030000000160003",
            "Invalid value 304 expecting positive value <= 258",
            "error while loading state for instance 0x0 of device 'cpu'",
        ]
    )
    found = [(ref.kvm_id, ref.form, ref.accel) for _, _, ref in find_references(log)]
    assert found == [
        (0x603000000013C103, "qemu-key", Accel.TCG),
        (0x40200000200F0823, "qemu-key", Accel.TCG),
        (0x603000000013C512, "kvm-text", Accel.KVM),
        (0x6030000000100040, "kvm-text", Accel.KVM),
        (0x6020000000110000, "kvm-text", Accel.KVM),
        (0x6080000000150020, "kvm-text", Accel.KVM),
        (0x6030000000160003, "kvm-id", Accel.UNKNOWN),
    ]
    for start, end, ref in find_references(log):
        assert log[start:end] == ref.text


def test_find_references_takes_register_names_but_not_ordinary_words() -> None:
    text = "SCTLR_EL1 and TCR2_EL1 differ; QEMU KVM RAM the pc x0 sp"
    assert [ref.text for _, _, ref in find_references(text)] == ["SCTLR_EL1", "TCR2_EL1"]


core_ids = st.sampled_from(
    [0x6030000000100000 | 2 * n for n in range(31)]
    + [0x6030000000100000 | offset for offset in (62, 64, 66, 68, 70, 72, 74, 76, 78, 80)]
    + [0x6040000000100054 + 4 * n for n in range(32)]
    + [0x60200000001000D4, 0x60200000001000D5]
)
other_arm64_ids = st.one_of(
    core_ids,
    st.integers(0, 13).map(lambda v: 0x6020000000110000 | v),
    st.integers(0, 0xFFFF).map(lambda n: 0x6030000000140000 | n),
    st.integers(0, 0xFFFF).map(lambda n: 0x6030000000160000 | n),
    st.tuples(st.integers(0, 31), st.integers(0, 31)).map(
        lambda t: 0x6080000000150000 | t[0] << 5 | t[1]
    ),
    st.tuples(st.integers(0, 15), st.integers(0, 31)).map(
        lambda t: 0x6050000000150400 | t[0] << 5 | t[1]
    ),
    st.integers(0, 31).map(lambda i: 0x6050000000150600 | i),
    st.just(0x606000000015FFFF),
)
secure_cpregs = st.builds(
    lambda cp, opc1, crn, crm, opc2: cp_id(cp, opc1, crn, crm, opc2, ns=False),
    st.sampled_from([14, 15]),
    st.integers(0, 7),
    st.integers(0, 15),
    st.integers(0, 15),
    st.integers(0, 7),
)
wide_cpregs = st.builds(
    lambda cp, opc1, crm, ns: cp_id(cp, opc1, 0, crm, 0, is64=True, ns=ns),
    st.sampled_from([14, 15]),
    st.integers(0, 15),
    st.integers(0, 15),
    st.booleans(),
)
any_valid_id = st.one_of(sysregs, cpregs, secure_cpregs, wide_cpregs, other_arm64_ids)


@settings(max_examples=1000)
@given(any_valid_id)
def test_every_kind_of_id_is_described_and_parses_back(kvm_id: int) -> None:
    info = describe(kvm_id)
    assert info.kvm_id == kvm_id
    assert info.name
    assert parse_reference(format_id(kvm_id)) == RegisterRef(
        kvm_id, "kvm-id", format_id(kvm_id), Accel.UNKNOWN
    )
    assert info.qemu_key == kvm_id_to_qemu_key(kvm_id)
    if info.qemu_key is not None:
        assert qemu_key_to_kvm_id(info.qemu_key) == kvm_id


arm_like = st.tuples(
    st.sampled_from([0x40, 0x60]), st.integers(0, 15), st.integers(0, 0xFFF), st.integers()
).map(lambda t: t[0] << 56 | t[1] << 52 | t[2] << 16 | (t[3] & 0xFFFF))


@settings(max_examples=2000)
@given(st.one_of(arm_like, st.integers()))
def test_describe_raises_only_register_errors_near_arm_ids(kvm_id: int) -> None:
    with contextlib.suppress(RegisterIdError):
        info = describe(kvm_id)
        assert info.name


form_text = st.lists(
    st.sampled_from(
        [
            "system register ",
            "0x",
            "op0:",
            " op1:",
            " crn:",
            " crm:",
            " op2:",
            "fw feat reg ",
            "fw reg ",
            "core reg ",
            "demuxed reg ",
            "SVE zreg n:",
            "SVE preg n:",
            " slice:",
            "SVE ffr slice:",
            "SVE VLS",
            "p15, ",
            "p14, ",
            "c",
            ", ",
            "S3_",
            "_C",
            "_EL1",
            "TCR2",
            "DBGDTRTX",
            "6030000000",
            "13c103",
            "ffffffffffffffffffff",
            "9",
            "99999999999999999999",
            " ",
            "\n",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=1000)
@given(st.one_of(form_text, st.text(max_size=300)))
def test_find_references_never_raises_on_near_misses(text: str) -> None:
    for start, end, ref in find_references(text):
        assert text[start:end] == ref.text
    with contextlib.suppress(RegisterIdError):
        parse_reference(text)


@settings(max_examples=300)
@given(st.lists(any_valid_id, max_size=5), st.sampled_from([" ", ", ", "\n", " = "]))
def test_find_references_finds_every_embedded_id(ids: list[int], separator: str) -> None:
    text = "start" + separator + separator.join(format_id(i) for i in ids) + separator + "end"
    assert [ref.kvm_id for _, _, ref in find_references(text)] == ids


def test_bare_small_numbers_in_free_text_are_not_registers() -> None:
    trace = (
        "ram_load_loop mach-virt.ram: addr: 0xe0000 flags: 0x22 host: 0x7fde53ee0000\n"
        "vmstate_load_state cpu v22 instance 0x0\n"
    )
    assert find_references(trace) == []
    keys = "keys 0x1013c103 0x200f0823 0x200e0298, and after the prefix: system register 0xf0800"
    assert [ref.kvm_id for _, _, ref in find_references(keys)] == [
        0x603000000013C103,
        0x40200000200F0823,
        0x40200000200E0298,
        0x40200000000F0800,
    ]
    # parse_reference, given one thing, still takes any key
    assert parse_reference("0xf0800").kvm_id == 0x40200000000F0800


@pytest.mark.parametrize("key", [0x00019000, 0x200F8781, 0x20100000, 0x1014C103])
def test_impossible_keys_are_refused(key: int) -> None:
    with pytest.raises(RegisterIdError):
        qemu_key_to_kvm_id(key)


def _through_every_form(text: str) -> RegisterRef | str:
    """``parse_reference`` by the expression of every form alone, or its refusal."""
    stripped = text.strip()
    match = regforms._FORMS.fullmatch(stripped)
    if match is None:
        return "no form"
    try:
        return regforms._checked(regforms._ref_from_match(match))
    except RegisterIdError as error:
        return str(error)


@settings(max_examples=1000)
@given(
    st.one_of(
        st.integers(0, (1 << 32) - 1).map(lambda key: f"{key:x}"),
        st.text("0123456789abcdefABCDEFxg_ ", max_size=12),
    ),
    st.sampled_from(["system register 0x", "system register 0X", "system register ", " "]),
)
def test_the_qemu_key_shortcut_reads_as_every_form_does(digits: str, prefix: str) -> None:
    text = prefix + digits
    try:
        found: RegisterRef | str = regforms.parse_reference(text)
    except RegisterIdError as error:
        found = str(error) if regforms._FORMS.fullmatch(text.strip()) else "no form"
    assert found == _through_every_form(text)


@pytest.mark.parametrize(
    ("text", "accel"),
    [("kvm", Accel.KVM), ("TCG", Accel.TCG), ("hvf", None), ("unknown", None), ("", None)],
)
def test_accel_named(text: str, accel: Accel | None) -> None:
    """What -accel (or plan's --accel) names; another accelerator, or none, is no answer."""
    assert accel_named(text) is accel
