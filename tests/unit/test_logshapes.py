"""Log shapes the corpus lacks, written from the reference: KVM text forms, the x-mig series,
libvirt domain logs, concatenated logs, and every prefix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parsers.logevents import (
    CpuCounts,
    FailureKind,
    LoadFailed,
    MessageKind,
    Problem,
    RegisterRefused,
    RegisterSeen,
    Status,
)
from parsers.logshapes import read_line
from tests.conftest import SAMPLES, answer_key, parse_bytes

TCR2_EL1 = "0x603000000013c103"
PIRE0_EL1 = "0x603000000013c512"
PIR_EL1 = "0x603000000013c513"
BMAP_2 = "0x6030000000160003"


def report(run_cli: Any, *paths: Path | str) -> dict[str, Any]:
    status, out, err = run_cli("report", "--format", "json", *map(str, paths))
    assert err == "", err
    assert status in (0, 1)
    data: dict[str, Any] = json.loads(out)
    return data


def ids(attempt: dict[str, Any], status: str, cpu: int = 0) -> set[str]:
    registers = next(c for c in attempt["cpus"] if c["cpu"] == cpu)["registers"]
    return {r["id"] for r in registers if r["status"] == status}


@pytest.mark.parametrize(
    ("line", "body", "time"),
    [
        ("qemu-system-aarch64: Failed to load cpu:x", "Failed to load cpu:x", None),
        (
            "2026-11-25T00:12:05.101809Z qemu-system-aarch64: warning: handle_cpreg_x",
            "handle_cpreg_x",
            "2026-11-25T00:12:05.101809Z",
        ),
        (
            "4027@1795565524.880272:vmstate_load_state configuration v0",
            "vmstate_load_state configuration v0",
            "1795565524.880272",
        ),
        (
            "2026-11-25T00:19:24.084400Z loadvm_state_setup ",
            "loadvm_state_setup",
            "2026-11-25T00:19:24.084400Z",
        ),
        (
            "2026-11-20 09:12:50.702+0000: shutting down, reason=failed",
            "shutting down, reason=failed",
            "2026-11-20 09:12:50.702+0000",
        ),
        (
            "Nov 25 00:12:05 host qemu-system-aarch64[4027]: load of migration failed: x",
            "load of migration failed: x",
            None,
        ),
        ("\x1b[31mqemu-system-arm: Failed to load cpu:x\x1b[0m\r", "Failed to load cpu:x", None),
        (
            "/usr/libexec/qemu-kvm: error while loading state for instance 0x0 of device 'cpu'",
            "error while loading state for instance 0x0 of device 'cpu'",
            None,
        ),
    ],
)
def test_prefixes_are_removed(line: str, body: str, time: str | None) -> None:
    read = read_line(1, 0, line.encode())
    assert read.body == body
    assert read.time == time


def test_xmig_series_traces_name_extra_and_matched(run_cli: Any) -> None:
    data = report(run_cli, SAMPLES / "xmig-kvm-forward.log")
    (attempt,) = data["attempts"]
    assert attempt["outcome"] == "failed"
    assert attempt["naming"] == "named"
    assert ids(attempt, "extra") == {TCR2_EL1, PIRE0_EL1, PIR_EL1}
    assert ids(attempt, "missing") == set()
    cpu = attempt["cpus"][0]
    assert (cpu["stream_count"], cpu["destination_count"]) == (17, 14)
    assert len(ids(attempt, "matched")) == 14
    names = {r["name"] for r in cpu["registers"] if r["status"] == "extra"}
    assert names == {"TCR2_EL1", "PIRE0_EL1", "PIR_EL1"}


def test_kvm_text_forms(run_cli: Any) -> None:
    data = report(run_cli, SAMPLES / "kvm-11.1-text-forms.log")
    (attempt,) = data["attempts"]
    assert attempt["outcome"] == "failed"
    assert ids(attempt, "extra") == {BMAP_2, PIRE0_EL1}
    assert ids(attempt, "missing") == {TCR2_EL1}
    names = {r["name"] for r in attempt["cpus"][0]["registers"]}
    assert "KVM_REG_ARM_VENDOR_HYP_BMAP_2" in names


def test_libvirt_log_starts_are_separate_labelled_attempts(run_cli: Any) -> None:
    data = report(run_cli, SAMPLES / "libvirt-guest1.log")
    first, second = data["attempts"]
    assert first["outcome"] == second["outcome"] == "failed"
    assert first["qemu"]["version"].startswith("10.0.13")
    assert second["qemu"]["version"].startswith("11.1.3")
    for attempt in (first, second):
        assert attempt["qemu"]["machine"] == "virt-7.2"
        assert attempt["qemu"]["cpu"] == "cortex-a57"
        assert attempt["qemu"]["time"] is not None
    assert first["naming"] == "counts"
    assert (first["cpus"][0]["stream_count"], first["cpus"][0]["destination_count"]) == (304, 258)
    assert ids(second, "extra") == {"0x603000000013c030"}


def test_concatenated_logs_stay_separate_attempts(run_cli: Any, tmp_path: Path) -> None:
    combined = tmp_path / "both.log"
    combined.write_bytes(
        (SAMPLES / "7.2-max-to-cortex-a57.dst.stderr").read_bytes()
        + (SAMPLES / "11.1-cortex-a57-to-max.dst.stderr").read_bytes()
        + (SAMPLES / "10.0-neoverse-n1-to-cortex-a76.dst.stderr").read_bytes()
    )
    data = report(run_cli, combined)
    assert [a["outcome"] for a in data["attempts"]] == ["failed", "failed", "failed"]
    assert [a["naming"] for a in data["attempts"]] == ["counts", "named", "counts"]
    assert len(ids(data["attempts"][1], "missing")) == len(
        answer_key("11.1-cortex-a57-to-max")["only_on_destination"]
    )


def test_stderr_and_trace_file_give_one_answer(run_cli: Any) -> None:
    data = report(
        run_cli,
        SAMPLES / "11.1-max-to-cortex-a57.dst.stderr",
        SAMPLES / "11.1-max-to-cortex-a57.dst.trace.log",
    )
    (attempt,) = data["attempts"]
    assert attempt["outcome"] == "failed"
    assert len(attempt["sources"]) == 2
    cpu = attempt["cpus"][0]
    key = answer_key("11.1-max-to-cortex-a57")
    assert (cpu["stream_count"], cpu["destination_count"]) == (key["src_regs"], key["dst_regs"])
    assert cpu["extra_count"] == len(key["only_in_stream"])


def test_count_failure_events() -> None:
    events = parse_bytes(
        b"qemu-system-aarch64: Invalid value 304 expecting positive value <= 258\r\n"
        b"qemu-system-aarch64: Failed to load cpu:cpreg_vmstate_array_len\r\n"
    )
    counts = [e for e in events if isinstance(e, CpuCounts)]
    assert [(c.stream_count, c.destination_count) for c in counts] == [(304, 258)]
    assert sum(isinstance(e, LoadFailed) for e in events) == 2


def test_tolerate_traces_are_tolerated_registers() -> None:
    events = parse_bytes(
        b"tolerate_cpreg_only_in_incoming_stream system register 0x1013c103\n"
        b"tolerate_cpreg_missing_in_incoming_stream: 0x6030000000160003 value=0x0\n"
    )
    seen = [e for e in events if isinstance(e, RegisterSeen)]
    assert [(hex(e.kvm_id), e.status, e.tolerated) for e in seen] == [
        (TCR2_EL1, Status.EXTRA, True),
        (BMAP_2, Status.MISSING, True),
    ]


def test_no_migration_is_a_clear_error(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "boot.log"
    log.write_text("qemu-system-aarch64: warning: Machine type 'virt-7.2' is deprecated\n")
    status, out, err = run_cli("report", str(log))
    assert status == 2
    assert out == ""
    assert "no migration attempt" in err
    assert "Traceback" not in err


def test_a_qemu_11_trace_file_alone_says_where_the_names_are(run_cli: Any) -> None:
    data = report(run_cli, SAMPLES / "11.1-max-to-cortex-a57.dst.trace.log")
    (attempt,) = data["attempts"]
    assert attempt["outcome"] == "failed"
    assert attempt["naming"] == "counts"  # names are on standard error, not in the trace
    advice = " ".join(attempt["advice"])
    assert "standard error" in advice
    assert "compatible" not in advice
    assert [s["property"] for s in data["suggestions"]] == ["log"]


# -- KVM refusing the CPU state, and device state a destination cannot read ----------------------


def _one(line: str) -> list[Any]:
    return list(parse_bytes(line.encode() + b"\n"))


@pytest.mark.parametrize(
    ("line", "kvm_id", "value", "current", "kind"),
    [
        (
            "qemu-system-aarch64: Could not set register fw reg 0 to 10003 (is 10001)",
            0x6030000000140000,
            0x10003,
            0x10001,
            MessageKind.KVM_SET_VALUE,
        ),
        (
            "qemu-system-aarch64: Could not set register system register op0:3 op1:0 crn:1 "
            "crm:0 op2:3: unknown to KVM",
            0x603000000013C083,
            None,
            None,
            MessageKind.KVM_SET_UNKNOWN,
        ),
        (  # QEMU 10.2 prints the system register without its prefix
            "qemu-system-aarch64: Could not set register op0:3 op1:0 crn:9 crm:14 op2:6 to 5",
            0x603000000013C4F6,
            5,
            None,
            MessageKind.KVM_SET_VALUE,
        ),
        (
            "qemu-system-aarch64: Could not set register demuxed reg 6020000000110001: "
            "Invalid argument",
            0x6020000000110001,
            None,
            None,
            MessageKind.KVM_SET_ERROR,
        ),
    ],
)
def test_kvm_refusing_a_register_names_it(
    line: str, kvm_id: int, value: int | None, current: int | None, kind: MessageKind
) -> None:
    (event,) = _one(line)
    assert isinstance(event, RegisterRefused)
    assert (event.kvm_id, event.value, event.current, event.kind) == (kvm_id, value, current, kind)


def test_an_unreadable_kvm_register_name_is_a_problem_not_a_crash() -> None:
    (event,) = _one("qemu-system-aarch64: Could not set register SVE ??? to 1")
    assert isinstance(event, Problem)


@pytest.mark.parametrize(
    ("line", "kind", "detail"),
    [
        (
            "vmstate_subsection_load_bad cpu: cpu/fpmr/(lookup)",
            MessageKind.SUBSECTION_BAD,
            "cpu/fpmr",
        ),
        (
            "qemu-system-aarch64: Unknown savevm section or instance 'cpx' 0. Make sure that "
            "your current VM setup matches your saved VM setup, including any hotplugged devices",
            MessageKind.UNKNOWN_SECTION,
            "cpx instance 0",
        ),
        (
            "qemu-system-aarch64: savevm: unsupported version 23 for 'cpu' v22",
            MessageKind.UNSUPPORTED_VERSION,
            "cpu: version 23 in the stream, 22 here",
        ),
        (
            "qemu-system-aarch64: Missing section footer for timer",
            MessageKind.MISSING_FOOTER,
            "timer",
        ),
        (
            "qemu-system-aarch64: Machine type received is 'virt-10.0' and local is 'virt-9.2'",
            MessageKind.MACHINE_MISMATCH,
            "virt-10.0 in the stream, virt-9.2 here",
        ),
        (
            "qemu-system-aarch64: Unknown savevm section type 51",
            MessageKind.UNKNOWN_SECTION_TYPE,
            "section type 51",
        ),
    ],
)
def test_device_state_failures_are_named(line: str, kind: MessageKind, detail: str) -> None:
    (event,) = _one(line)
    assert isinstance(event, LoadFailed)
    assert (event.kind, event.failure, event.detail) == (kind, FailureKind.STATE, detail)


def test_11_1_chains_the_state_failure_into_the_load_failure() -> None:
    state, load = _one(
        "qemu-system-aarch64: load of migration failed: Invalid argument: error while loading "
        "state for instance 0x0 of device 'cpu': VM subsection 'cpu/wfxt-timex' in 'cpu' does "
        "not exist"
    )
    assert isinstance(state, LoadFailed)
    assert isinstance(load, LoadFailed)
    assert (state.kind, state.detail, state.device) == (
        MessageKind.SUBSECTION_BAD,
        "cpu/wfxt-timex",
        "cpu",
    )
    assert load.failure is FailureKind.LOAD


@pytest.mark.parametrize("why", ["(prefix)", "(short)"])
def test_normal_end_of_subsections_is_no_failure(why: str) -> None:
    assert _one(f"vmstate_subsection_load_bad cpu/vfp: cpu/sve/{why}") == []


def test_kvm_put_failure_ends_the_attempt_as_failed(run_cli: Any) -> None:
    from tests.conftest import KVM_CASES

    case = next(case for case in KVM_CASES if case.name == "kvm-k612-to-k73-q11")
    data = report(run_cli, *case.destination_logs())
    (attempt,) = data["attempts"]
    assert attempt["outcome"] == "failed"
    kinds = [error["kind"] for error in attempt["errors"]]
    assert kinds == ["register", "register", "register"]
    assert "SCTLR2_EL1" in attempt["outcome_detail"]
