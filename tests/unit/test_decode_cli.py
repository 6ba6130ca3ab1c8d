"""`reginspect decode` through the real command line entry."""

from __future__ import annotations

import gc
import io
import json
from typing import Any

import pytest

# The ids the seed thread names, and the name each decodes to.
SEED_THREAD = {
    "0x603000000013c103": "TCR2_EL1",
    "0x603000000013c512": "PIRE0_EL1",
    "0x603000000013c513": "PIR_EL1",
    "0x6030000000160003": "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
    "0x40200000200e0298": "DBGDTRTX",
}


def test_the_seed_thread_ids(run_cli: Any) -> None:
    status, out, err = run_cli("decode", *SEED_THREAD)
    assert (status, err) == (0, "")
    for name in (*SEED_THREAD.values(), "BOGUS_DBGDTR_EL0"):
        assert name in out


def test_qemu_key_and_name(run_cli: Any) -> None:
    status, out, _ = run_cli("decode", "--json", "system register 0x1013c030", "tcr2_el1")
    assert status == 0
    first, second = json.loads(out)
    assert (first["name"], first["id"], first["qemu_key"]) == (
        "ID_AA64ISAR0_EL1",
        "0x603000000013c030",
        "0x1013c030",
    )
    assert second["id"] == "0x603000000013c103"


def test_bad_arguments_give_a_sentence_and_status_2_but_the_rest_is_decoded(run_cli: Any) -> None:
    status, out, err = run_cli(
        "decode",
        "0xZZ",
        "0x603000000013c103",
        "0x2030000000000011",
        "op0:3 op1:0 crn:99 crm:0 op2:0",
    )
    assert status == 2
    assert "TCR2_EL1" in out
    assert err.count("reginspect: decode:") == 3
    assert "Traceback" not in err


def test_a_name_with_several_registers_lists_them_all(run_cli: Any) -> None:
    status, out, _ = run_cli("decode", "--json", "DBGDTRTX")
    assert status == 0
    found = {item["id"]: item for item in json.loads(out)}
    # QEMU's AArch32 DBGDTRTX, the bogus one kept for migration, and DBGDTRTX_EL0 whose
    # AArch32 view it is.
    assert set(found) == {"0x40200000200e0280", "0x40200000200e0298", "0x6030000000139828"}
    assert found["0x40200000200e0298"]["aliases"][0] == "BOGUS_DBGDTR_EL0"
    assert all(item["input"] == "DBGDTRTX" for item in found.values())


def test_free_text_from_stdin(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    log = (
        "qemu-system-aarch64: handle_cpreg_only_in_incoming_stream: system register 0x1013c103\n"
        "qemu-system-aarch64: kvm_arm_cpu_post_load Unexpected register: 0 0x6030000000160003 "
        "fw feat reg 3\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(log))
    status, out, _ = run_cli("decode", "--json", "-")
    assert status == 0
    assert [item["name"] for item in json.loads(out)] == [
        "TCR2_EL1",
        "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
        "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
    ]


def test_kvm_accelerator_names_the_timer(run_cli: Any) -> None:
    _, out, _ = run_cli("decode", "--accel", "kvm", "0x603000000013df1a")
    assert "KVM_REG_ARM_TIMER_CNT" in out
    assert "swapped" in out


def test_aarch32_keys_and_64_bit_accesses(run_cli: Any) -> None:
    status, out, err = run_cli("decode", "--json", "0x200f0823", "0x200f8780")
    assert (status, err) == (0, "")
    hactlr2, wide = json.loads(out)
    assert {key: hactlr2[key] for key in ("id", "name", "kind", "encoding", "fields")} == {
        "id": "0x40200000200f0823",
        "name": "HACTLR2",
        "kind": "cp15",
        "encoding": "p15, 4, c1, c0, 3",
        "fields": {"cp": 15, "opc1": 4, "CRn": 1, "CRm": 0, "opc2": 3, "ns": 1},
    }
    assert (wide["id"], wide["qemu_key"]) == ("0x40300000200f0780", "0x200f8780")
    assert "64-bit access" in wide["encoding"]


def test_the_json_is_a_stable_register_list(run_cli: Any) -> None:
    _, out, _ = run_cli("decode", "--json", "0x603000000013c103", "fw feat reg 3")
    first, second = json.loads(out)
    assert list(first) == [
        "id",
        "name",
        "aliases",
        "kind",
        "encoding",
        "fields",
        "known",
        "qemu_key",
        "note",
        "input",
    ]
    assert (first["known"], first["qemu_key"], first["input"]) == (
        True,
        "0x1013c103",
        "0x603000000013c103",
    )
    assert (second["kind"], second["qemu_key"], second["fields"]) == ("fw-feat", None, {"index": 3})


def test_text_output_shows_every_part(run_cli: Any) -> None:
    status, out, _ = run_cli("decode", "sctlr_el1", "S3_0_C15_C2_7")
    assert status == 0
    assert "0x603000000013c080  SCTLR_EL1" in out
    assert "also: SCTLR, p15, 0, c1, c0, 0" in out  # the AArch32 view of a `both` register
    assert "QEMU key: 0x1013c080" in out
    assert "note: QEMU defines it for both states" in out
    assert "0x603000000013c797  CPUPWRCTLR_EL1" in out
    assert "encoding: op0=3 op1=0 CRn=15 CRm=2 op2=7" in out
    assert out.count("0x") == 4  # one register each: SCTLR_EL1 means the AArch64 one


def test_an_unknown_encoding_is_generic_and_marked(run_cli: Any) -> None:
    status, out, _ = run_cli("decode", "--json", "0x603000000013ffff")
    assert status == 0
    (item,) = json.loads(out)
    assert (item["name"], item["known"]) == ("S3_7_C15_C15_7", False)


def test_the_timer_quirk_without_an_accelerator_says_both(run_cli: Any) -> None:
    _, out, _ = run_cli("decode", "--json", "0x603000000013df1a", "--accel", "tcg")
    (item,) = json.loads(out)
    assert item["name"] == "CNTV_CVAL_EL0"
    assert "KVM_REG_ARM_TIMER_CNT" in item["note"]
    _, out, _ = run_cli("decode", "--json", "op0:3 op1:3 crn:14 crm:0 op2:2")
    assert json.loads(out)[0]["name"] == "KVM_REG_ARM_TIMER_CVAL"  # KVM's text implies KVM


def test_stdin_without_references_prints_nothing(
    run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("nothing to see 0x0 here\n"))
    assert run_cli("decode", "-") == (0, "", "")


def test_the_sample_free_text(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import SAMPLES

    text = (SAMPLES / "decode-input.txt").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    status, out, err = run_cli("decode", "--json", "-")
    assert (status, err) == (0, "")
    items = json.loads(out)
    assert [item["name"] for item in items] == [
        "TCR2_EL1",
        "HACTLR2",
        "PIRE0_EL1",
        "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
        "PIRE0_EL1",
        "DBGDTRTX",
        "PIR_EL1",
    ]
    assert items[0]["input"] == "system register 0x1013c103"
    assert all(item["known"] for item in items)


def test_the_cycle_collector_is_on_again_after_decode(
    run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("TCR2_EL1 0x603000000013c103\n"))
    assert gc.isenabled()
    assert run_cli("decode", "-")[0] == 0
    assert gc.isenabled()

    def broken(text: str, accel: Any) -> Any:
        raise RuntimeError("broken")

    monkeypatch.setattr("reginspect.commands.decode.describe_references", broken)
    with pytest.raises(RuntimeError):
        run_cli("decode", "-")
    assert gc.isenabled()


def test_the_json_list_is_what_json_dumps_gives() -> None:
    from parsers.regforms import describe_references
    from reginspect.commands.decode import _json_list, info_json
    from tests.conftest import SAMPLES

    names = ("decode-input.txt", "kvm-11.1-text-forms.log", "11.1-max-to-cortex-a57.dst.stderr")
    text = "".join((SAMPLES / name).read_text() for name in names) + " SVE VLS"
    results = [(ref.text, info) for *_, ref, info in describe_references(text)]
    # Inputs JSON must escape; SVE VLS has no fields (an empty object) and no QEMU key.
    results += [(given, results[0][1]) for given in ('"q"\\', "tab\there", "é\u202e\x1b", "")]
    assert len({id(info) for _, info in results}) > 10
    for part in (results, results[:1], []):
        expected = json.dumps([info_json(info, given) for given, info in part], indent=2)
        assert _json_list(part) == expected
