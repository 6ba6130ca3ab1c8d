"""The suggestion engine's pieces: settings, forms, the x-mig postings' data, QEMU 11.1's
tolerances, and the remedies for the samples (the corpus checks are in test_fixes_corpus)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parsers.logevents import Status
from parsers.regids import Accel
from reginspect.results import Form
from reginspect.suggest import (
    SettingError,
    command_line_forms,
    compat_form,
    format_value,
    parse_id_list,
    parse_setting,
)
from reginspect.tolerances import Tolerance, Verdict, c_id, judge, patch_lines
from reginspect.xmig import (
    DBGDTRTX,
    HIDDEN,
    PIR_EL1,
    PIRE0_EL1,
    SAFE_MISSING,
    TCR2_EL1,
    VENDOR_HYP_BMAP_2,
    CompatStyle,
    MachineCompat,
    postings_for,
)
from tests.conftest import CASES, SAMPLES, CorpusCase

SEED_VALUE = "0x40200000200e0298,0x603000000013c103,0x603000000013c512,0x603000000013c513"
SEED_LOG = str(SAMPLES / "seed-thread-set-twice.log")


# -- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0x603000000013C103, 0x603000000013c103", {TCR2_EL1}),
        ("0X603000000013C512,0x603000000013c513", {PIRE0_EL1, PIR_EL1}),
        ("tcr2_el1,PIR_EL1", {TCR2_EL1, PIR_EL1}),
        ("BOGUS_DBGDTR_EL0", {DBGDTRTX}),
        (str(TCR2_EL1), {TCR2_EL1}),
        # x-mig v5/v6 write the compat's aggregated value in decimal, ", "-separated.
        (f"{DBGDTRTX}, {TCR2_EL1}", {DBGDTRTX, TCR2_EL1}),
        ("", set()),
    ],
)
def test_id_lists_parse(text: str, expected: set[int]) -> None:
    assert parse_id_list(text, SAFE_MISSING) == expected


@pytest.mark.parametrize(
    "text",
    ["0xZZ", "0x2030000000000011", "not_a_register", "0x603000000013c103-0x603000000013c513"],
)
def test_invalid_values_are_rejected_with_a_sentence(text: str) -> None:
    with pytest.raises(SettingError) as error:
        parse_id_list(text, SAFE_MISSING)
    assert str(error.value).startswith(SAFE_MISSING)


def test_dbgdtrtx_is_the_id_the_series_means_with_a_note() -> None:
    # DBGDTRTX names the real p14, 0, c0, c5, 0, QEMU's bogus p14, 3, c0, c5, 0 and an AArch64
    # alias; the series' hw/arm/virt.c defines DBGDTRTX as the bogus one.
    setting = parse_setting("x-mig-safe-missing-regs=DBGDTRTX")
    assert setting.ids == {DBGDTRTX}
    [note] = setting.notes
    assert "0x40200000200e0298" in note
    assert "0x40200000200e0280" in note


def test_other_ambiguous_names_are_refused_with_their_ids() -> None:
    with pytest.raises(SettingError) as error:
        parse_id_list("MIDR", SAFE_MISSING)
    assert "fits several ids" in str(error.value)


def test_settings_parse_with_driver_prefix() -> None:
    setting = parse_setting("arm-cpu.x-mig-hidden-regs=0x603000000013c103")
    assert (setting.property, setting.ids, setting.notes) == (HIDDEN, frozenset({TCR2_EL1}), ())
    with pytest.raises(SettingError):
        parse_setting("x-mig-other=1")


def test_have_by_name_prints_one_note(run_cli: Any) -> None:
    status, out, err = run_cli(
        "suggest", SEED_LOG, "--form", "compat", "--have", "x-mig-safe-missing-regs=DBGDTRTX"
    )
    assert status == 1
    assert err.count("\n") == 1
    assert err.startswith("reginspect: note: --have x-mig-safe-missing-regs: DBGDTRTX read as")
    assert SEED_VALUE in out


def test_have_invalid_value_is_a_usage_error(run_cli: Any) -> None:
    status, out, err = run_cli("suggest", SEED_LOG, "--have", "x-mig-safe-missing-regs=0xZZ")
    assert status == 2
    assert out == ""
    assert "--have" in err
    assert "Traceback" not in err


def test_value_is_sorted_deduplicated_hex() -> None:
    assert format_value([PIR_EL1, TCR2_EL1, PIR_EL1]) == "0x603000000013c103,0x603000000013c513"


def test_command_line_forms() -> None:
    forms = dict(command_line_forms(SAFE_MISSING, "0x1,0x2"))
    assert forms[Form.COMMAND_LINE] == "-global arm-cpu.x-mig-safe-missing-regs=0x1,0x2"
    assert "<qemu:arg value='-global'/>" in forms[Form.LIBVIRT]
    assert "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" in forms[Form.LIBVIRT]


# -- the x-mig postings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "safe", "hidden"),
    [
        ("virt-11.0", False, False),  # v5/v6's latest sets nothing
        ("virt-10.2", None, False),  # v2: nothing; v3-v6: DBGDTRTX
        ("virt-10.1", True, True),  # every posting's example patch
        ("virt-7.2", True, True),  # older types inherit
        ("virt", None, False),  # the latest, which differs between postings
        (None, None, None),
    ],
)
def test_what_a_machine_types_compat_sets(
    machine: str | None, safe: bool | None, hidden: bool | None
) -> None:
    compat = MachineCompat(machine, postings_for(machine))
    assert compat.sets(SAFE_MISSING) is safe
    assert compat.sets(HIDDEN) is hidden


def test_evidence_narrows_the_postings() -> None:
    assert [p.name for p in postings_for("virt-11.0")] == ["v5", "v6"]
    assert postings_for("virt-11.1") == ()  # after the series
    # A -global refused on virt-10.2: its compat sets the property (v3-v6, not v2).
    twice = postings_for("virt-10.2", sets=[SAFE_MISSING])
    assert [p.name for p in twice] == ["v3", "v4", "v5", "v6"]
    assert [p.name for p in postings_for("virt-10.1", "10.1.94")] == ["v4"]
    aggregated = postings_for("virt-10.1", style=CompatStyle.REGISTER_CALLS)
    assert [p.name for p in aggregated] == ["v5", "v6"]
    # v3/v4's virt-10.1 sets x-mig-safe-missing-regs at two levels: the seed thread's abort.
    compat = MachineCompat("virt-10.1", postings_for("virt-10.1"))
    assert [p.name for p in compat.twice(SAFE_MISSING)] == ["v3", "v4"]
    assert compat.ids(SAFE_MISSING) == {DBGDTRTX, TCR2_EL1, PIRE0_EL1, PIR_EL1}


def test_compat_form_follows_each_posting() -> None:
    compat = MachineCompat("virt-10.2", postings_for("virt-10.2", sets=[SAFE_MISSING]))
    text = compat_form(SAFE_MISSING, compat, frozenset({TCR2_EL1}), frozenset())
    lines = text.splitlines()
    assert "/* x-mig v5/v6: in virt_machine_10_2_options() */" in lines
    assert "arm_virt_compat_register_safe_missing_reg(vmc, 0x603000000013c103); /* TCR2_EL1 */" in (
        lines
    )
    # v3/v4: one GlobalProperty holding the compat's DBGDTRTX and the new id.
    assert (
        '{ TYPE_ARM_CPU, "x-mig-safe-missing-regs", "0x40200000200e0298,0x603000000013c103" },'
        in lines
    )
    # v5/v6 collect ids per machine type: no GlobalProperty for them.
    after_series = MachineCompat("virt-11.0", postings_for("virt-11.0"))
    hidden = compat_form(HIDDEN, after_series, frozenset({TCR2_EL1}), frozenset())
    assert "GlobalProperty" not in hidden
    assert "TYPE_ARM_CPU" not in hidden
    assert "arm_virt_compat_register_hidden_reg(vmc, 0x603000000013c103);" in hidden


# -- QEMU 11.1's tolerances ---------------------------------------------------------------------


def test_builtin_tolerances_hold_only_where_11_1_registers_them() -> None:
    extra = Status.EXTRA
    assert judge(TCR2_EL1, extra, Accel.TCG, "max", None).verdict is Verdict.NO
    assert judge(TCR2_EL1, extra, Accel.KVM, "host", None).verdict is Verdict.YES
    assert judge(TCR2_EL1, extra, Accel.KVM, "cortex-a57", None).verdict is Verdict.NO
    unknown = judge(TCR2_EL1, extra, Accel.UNKNOWN, None, None)
    assert unknown.verdict is Verdict.IF
    assert unknown.conditions == ("under KVM", "with -cpu host or max")
    assert judge(VENDOR_HYP_BMAP_2, extra, Accel.KVM, "host", 0).verdict is Verdict.YES
    assert judge(VENDOR_HYP_BMAP_2, extra, Accel.KVM, "host", 1).verdict is Verdict.NO
    # ToleranceOnlySrcTestValue never covers a register missing from the stream.
    assert judge(VENDOR_HYP_BMAP_2, Status.MISSING, Accel.KVM, "host", None).verdict is Verdict.NO
    assert judge(DBGDTRTX, extra, Accel.TCG, "cortex-a57", None).verdict is Verdict.YES
    assert judge(0x603000000013C4F6, extra, Accel.KVM, "host", None).verdict is Verdict.NO


def test_ids_are_written_with_the_kernels_macros() -> None:
    assert c_id(TCR2_EL1) == "ARM64_SYS_REG(3, 0, 2, 0, 3)"
    assert c_id(VENDOR_HYP_BMAP_2) == "KVM_REG_ARM_FW_FEAT_BMAP_REG(3)"
    assert c_id(0x6030000000140000) == "KVM_REG_ARM_FW_REG(0)"
    assert c_id(DBGDTRTX) == "0x40200000200e0298ULL"


def test_patch_lines_choose_the_tolerance_by_the_saved_value() -> None:
    pmmir = 0x603000000013C4F6
    registers = {TCR2_EL1: Status.EXTRA, pmmir: Status.EXTRA, PIR_EL1: Status.MISSING}
    lines = {
        line.kvm_id: line for line in patch_lines(registers, {TCR2_EL1: 0, pmmir: 2}, Accel.TCG)
    }
    assert lines[TCR2_EL1].tolerance is Tolerance.ONLY_SRC_TEST_VALUE
    assert "UINT64_MAX, 0, ToleranceOnlySrcTestValue);" in lines[TCR2_EL1].text()
    assert lines[pmmir].tolerance is Tolerance.NOT_ON_BOTH_ENDS
    assert "0x2 would be lost" in lines[pmmir].text()
    assert lines[PIR_EL1].tolerance is Tolerance.NOT_ON_BOTH_ENDS
    # Under KVM, 11.1 registers one for TCR2_EL1 already: a second registration asserts.
    kvm = {line.kvm_id: line for line in patch_lines(registers, {}, Accel.KVM)}
    assert kvm[TCR2_EL1].tolerance is None
    assert "registers one already" in kvm[TCR2_EL1].text()


# -- samples ------------------------------------------------------------------------------------


def _json(run_cli: Any, *args: str) -> dict[str, Any]:
    _, out, _ = run_cli(*args)
    result: dict[str, Any] = json.loads(out)
    return result


def test_seed_thread_without_a_machine_type_prints_no_global(run_cli: Any) -> None:
    status, out, err = run_cli(
        "suggest", SEED_LOG, "--have", "x-mig-safe-missing-regs=0x40200000200e0298"
    )
    assert status == 1
    assert err == ""
    # The set-twice line says something sets the property already: most likely the compat.
    assert "\n-global arm-cpu.x-mig-safe-missing-regs" not in out
    assert "(nothing in the command-line form: see --form compat)" in out
    _, compat, _ = run_cli(
        "suggest",
        SEED_LOG,
        "--form",
        "compat",
        "--have",
        "x-mig-safe-missing-regs=0x40200000200e0298",
    )
    assert f'{{ TYPE_ARM_CPU, "x-mig-safe-missing-regs", "{SEED_VALUE}" }},' in compat
    assert "arm_virt_compat_register_safe_missing_reg(vmc, 0x603000000013c512);" in compat


def test_seed_thread_report_explains_the_abort(run_cli: Any) -> None:
    data = _json(
        run_cli,
        "report",
        "--format",
        "json",
        SEED_LOG,
        "--have",
        "x-mig-safe-missing-regs=BOGUS_DBGDTR_EL0",
        "--dst-machine",
        "virt-10.1",
    )
    (attempt,) = data["attempts"]
    assert attempt["outcome"] == "failed"
    advice = " ".join(attempt["advice"])
    assert "more than once" in advice
    assert "10.x or older" not in advice  # the can't-apply line is an x-mig build's
    [safe] = [s for s in data["suggestions"] if s["property"] == SAFE_MISSING]
    assert safe["value"] == SEED_VALUE
    assert safe["side"] == "destination"
    assert safe["route"] == "x-mig"
    assert safe["forms"]["command_line"] is None
    assert "aborts at start" in safe["reason"]
    assert "virt_machine_10_1_options()" in safe["forms"]["compat"]


def _xmig_counts_log(tmp_path: Path, accel: str) -> str:
    path = tmp_path / f"xmig-{accel}.log"
    path.write_text(
        f"qemu-system-aarch64 -M virt-11.0 -cpu max -accel {accel} -incoming unix:m.sock\n"
        "cpu_post_load_len cpreg_array_len=361 cpreg_vmstate_array_len=362\n"
        "qemu-system-aarch64: load of migration failed: Operation not permitted: error while "
        "loading state for instance 0x0 of device 'cpu': post load hook failed for: cpu, "
        "version_id: 22, minimum_version: 22, ret: -1\n"
    )
    return str(path)


@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_trace_advice_fits_the_build_and_accelerator(
    run_cli: Any, tmp_path: Path, accel: str
) -> None:
    data = _json(run_cli, "report", "--format", "json", _xmig_counts_log(tmp_path, accel))
    [trace] = [s for s in data["suggestions"] if s["property"] == "trace"]
    assert trace["route"] == "x-mig"
    assert "cpu_post_load*" in trace["value"]
    assert ("kvm_arm" in trace["value"]) is (accel == "kvm")
    advice = " ".join(data["attempts"][0]["advice"])
    assert "10.x or older" not in advice
    assert ("kvm_arm" in advice) is (accel == "kvm")


def test_upgrading_holds_under_kvm_with_the_host_cpu(run_cli: Any) -> None:
    log = str(SAMPLES / "xmig-kvm-forward.log")
    host = _json(run_cli, "report", "--format", "json", log, "--dst-cpu", "host")
    [upgrade] = [s for s in host["suggestions"] if s["property"] == "qemu-version"]
    assert upgrade["route"] == "upstream"
    assert upgrade["qemu"] == "QEMU >= 11.1 on the destination"
    assert set(upgrade["ids"]) == {"0x603000000013c103", "0x603000000013c512", "0x603000000013c513"}
    # 11.1 registers those for -cpu host (and max) only.
    other = _json(
        run_cli,
        "report",
        "--format",
        "json",
        log,
        "--src-cpu",
        "cortex-a72",
        "--dst-cpu",
        "cortex-a57",
    )
    assert not [s for s in other["suggestions"] if s["property"] == "qemu-version"]
    [cpu] = [s for s in other["suggestions"] if s["property"] == "cpu"]
    assert cpu["forms"]["command_line"] == "-cpu cortex-a72"


NAMED_FAILURES = [
    case
    for case in CASES
    if case.expected["outcome"] == "fail" and case.expected["dst"]["qemu"] == "11.1"
]


@pytest.mark.parametrize("case", NAMED_FAILURES, ids=[case.name for case in NAMED_FAILURES])
def test_an_11_1_log_gets_tolerances_not_properties(run_cli: Any, case: CorpusCase) -> None:
    # Stock 11.1 has no x-mig property: its remedy is a tolerance (a downstream patch).
    data = _json(run_cli, "report", "--format", "json", *map(str, case.destination_logs()))
    suggestions = data["suggestions"]
    assert not [s for s in suggestions if s["route"] == "x-mig"]
    assert not [s for s in suggestions if s["property"] == "qemu-version"]
    extra = set(case.expected["only_in_stream"])
    tolerance = [s for s in suggestions if s["property"] == "tolerance"]
    if extra:
        [patch] = tolerance
        assert extra <= set(patch["ids"])
        assert "not a command-line switch" in patch["reason"]
    else:
        assert tolerance == []
