"""`reginspect decode` through the real command line entry."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest


def test_the_seed_thread_ids(run_cli: Any) -> None:
    status, out, err = run_cli(
        "decode",
        "0x603000000013c103",
        "0x603000000013c512",
        "0x603000000013c513",
        "0x6030000000160003",
        "0x40200000200e0298",
    )
    assert (status, err) == (0, "")
    for name in (
        "TCR2_EL1",
        "PIRE0_EL1",
        "PIR_EL1",
        "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
        "DBGDTRTX",
        "BOGUS_DBGDTR_EL0",
    ):
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
    assert {item["id"] for item in json.loads(out)} == {"0x40200000200e0280", "0x40200000200e0298"}


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
