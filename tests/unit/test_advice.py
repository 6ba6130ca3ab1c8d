"""What the advice says of KVM destinations: the samples copied from the KVM corpus, and the
lines each QEMU version prints under KVM (10.0: none naming a register; 10.2: KVM's refusal
without the `system register ` prefix; 11.1: names, tolerances, refusals)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.catalogue import describe
from parsers.logevents import MessageKind, Status
from reginspect.analyze import session_report
from reginspect.configuration import PSCI_VERSION, SCTLR2_EL1
from reginspect.ingest import read_logs
from reginspect.results import AttemptResult, Outcome, Suggestion
from reginspect.streams import compare_files
from reginspect.xmig import PIR_EL1, PIRE0_EL1, TCR2_EL1, VENDOR_HYP_BMAP_2
from tests.conftest import KVM_CASES, SAMPLES

PMMIR_EL1 = 0x603000000013C4F6
PSCI_SAMPLE = SAMPLES / "kvm-11.1-k7.3-to-k6.12-psci-refused.dst.stderr"
SCTLR2_SAMPLE = SAMPLES / "kvm-11.1-k6.12-to-k7.3-sctlr2-unknown-to-kvm.dst.stderr"
FPMR_SAMPLE = SAMPLES / "kvm-11.1-to-10.0-cpu-fpmr-subsection.dst.stderr"
TOLERATED_SAMPLE = SAMPLES / "kvm-11.1-k6.12-to-k7.3-tolerated.dst.stderr"
# What QEMU prints when KVM refuses the incoming CPU state.
CPU_LOAD_FAILED = "error while loading state for instance 0x0 of device 'cpu'"
PUT_FAILED = "Failed to put registers after init: Invalid argument"
KVM_SAMPLES = {
    PSCI_SAMPLE: "kvm-o72-k73-to-k612-q11",
    SCTLR2_SAMPLE: "kvm-k612-to-k73-q11",
    FPMR_SAMPLE: "kvm-k612-q11-to-q10-traced",
    TOLERATED_SAMPLE: "kvm-o72-k612-to-k73-q11",
}


def _report(path: Path) -> tuple[AttemptResult, list[Suggestion]]:
    session, _ = read_logs([str(path)])
    report = session_report(session)
    (result,) = report.attempts
    return result, list(report.suggestions)


def _report_of_lines(tmp_path: Path, *lines: str) -> tuple[AttemptResult, list[Suggestion]]:
    """``_report`` of a destination's standard error holding ``lines``, as QEMU prints them."""
    path = tmp_path / "dst.stderr"
    path.write_text("".join(f"qemu-system-aarch64: {line}\n" for line in lines))
    return _report(path)


@pytest.mark.parametrize("sample", list(KVM_SAMPLES), ids=lambda path: path.name)
def test_the_samples_are_the_corpus_logs(sample: Path) -> None:
    (case,) = [case for case in KVM_CASES if case.name == KVM_SAMPLES[sample]]
    assert sample.read_bytes() == (case.path / "dst.stderr").read_bytes()
    result, _ = _report(sample)
    outcome = {"fail": Outcome.FAILED, "ok": Outcome.SUCCEEDED}[case.expected["outcome"]]
    assert result.summary.outcome is outcome


def test_psci_refusal_explains_both_values_and_the_way_back() -> None:
    result, suggestions = _report(PSCI_SAMPLE)
    advice = result.advice
    [psci] = [text for text in advice if "KVM_REG_ARM_PSCI_VERSION" in text]
    assert "0x10003 (PSCI 1.3)" in psci
    assert "0x10001 (PSCI 1.1)" in psci
    # PMMIR_EL1 is what the load fails on; QEMU 11.1 tolerated the rest on purpose.
    assert any("so the load fails: PMMIR_EL1" in text for text in advice)
    # Migrating back (6.12 -> 7.3, as kvm-o72-k612-to-k73-q11 did): 11.1 tolerates all three.
    assert not [text for text in advice if "would fail" in text]
    [back] = [text for text in advice if text.startswith("Migrating back")]
    for kvm_id in (TCR2_EL1, PIRE0_EL1, PIR_EL1):
        assert describe(kvm_id).name in back
    assert "11.1 or later there tolerates" in back
    names = {s.property for s in suggestions}
    assert names == {"tolerance", "kvm-psci-version"}
    [tolerance] = [s for s in suggestions if s.property == "tolerance"]
    assert tolerance.ids == (PMMIR_EL1,)


def test_tolerated_success_predicts_the_way_back() -> None:
    result, suggestions = _report(TOLERATED_SAMPLE)
    assert result.summary.registers.extra_tolerated == {TCR2_EL1, PIRE0_EL1, PIR_EL1}
    advice = result.advice
    [fails] = [text for text in advice if text.startswith("Migrating back to the source would")]
    assert describe(PMMIR_EL1).name in fails
    for kvm_id in (TCR2_EL1, PIRE0_EL1, PIR_EL1, VENDOR_HYP_BMAP_2):
        assert describe(kvm_id).name not in fails
    [passes] = [text for text in advice if "11.1 or later there tolerates" in text]
    # BMAP_2 arrives in that stream; ToleranceOnlySrcTestValue lets it through at value 0 only.
    assert "KVM_REG_ARM_VENDOR_HYP_BMAP_2 (ToleranceOnlySrcTestValue" in passes
    assert "only the value 0" in passes
    assert suggestions == []


def test_a_register_unknown_to_kvm_is_explained_by_its_id_field() -> None:
    result, suggestions = _report(SCTLR2_SAMPLE)
    (refused,) = result.summary.refused
    assert refused.kvm_id == SCTLR2_EL1
    [said] = [text for text in result.advice if "does not offer SCTLR2_EL1" in text]
    assert "ID_AA64MMFR3_EL1.SCTLRX" in said
    assert "the stream does not carry SCTLR2_EL1" in said  # the destination's own register
    assert "no property" in said
    # Nothing a stock QEMU does not have: no x-mig property, no tolerance for SCTLR2_EL1.
    assert {s.property for s in suggestions} == {"cpu"}
    assert all(not s.forms for s in suggestions)


def test_the_saved_stream_shows_the_id_field() -> None:
    (case,) = [case for case in KVM_CASES if case.name == KVM_SAMPLES[SCTLR2_SAMPLE]]
    session, _ = read_logs([str(SCTLR2_SAMPLE)])
    compared, _ = compare_files(str(case.path / "src.mig.xz"), str(case.path / "dst.mig.xz"))
    (result,) = session_report(session, compared=compared).attempts
    [said] = [text for text in result.advice if "does not offer SCTLR2_EL1" in text]
    assert "the source's ID_AA64MMFR3_EL1 is 0x101, SCTLRX = 0" in said


def test_unreadable_device_state_is_not_a_register_problem() -> None:
    result, suggestions = _report(FPMR_SAMPLE)
    assert result.summary.unreadable == ("cpu/fpmr",)
    assert [s.property for s in suggestions] == ["device-state"]
    assert not [text for text in result.advice if "Migrating back" in text]


def test_qemu_10_2_names_the_refused_register_without_the_prefix(tmp_path: Path) -> None:
    refusal = "Could not set register op0:3 op1:0 crn:1 crm:0 op2:3: unknown to KVM"
    result, suggestions = _report_of_lines(tmp_path, refusal, CPU_LOAD_FAILED, refusal, PUT_FAILED)
    assert result.summary.outcome is Outcome.FAILED
    (refused,) = result.summary.refused
    assert (refused.kvm_id, refused.kind) == (SCTLR2_EL1, MessageKind.KVM_SET_UNKNOWN)
    [said] = [text for text in result.advice if "does not offer SCTLR2_EL1" in text]
    assert "ID_AA64MMFR3_EL1.SCTLRX" in said
    assert not [s for s in suggestions if s.property == "trace"]


def test_qemu_10_0_under_kvm_names_nothing_refused(tmp_path: Path) -> None:
    result, _ = _report_of_lines(tmp_path, CPU_LOAD_FAILED, PUT_FAILED)
    assert result.summary.outcome is Outcome.FAILED
    assert result.summary.refused == ()
    [said] = [text for text in result.advice if "Failed to put registers after init" in text]
    assert "10.2 and later print a `Could not set register` line" in said


def test_a_refused_value_with_its_values(tmp_path: Path) -> None:
    refusal = (
        "Could not set register system register op0:3 op1:0 crn:0 crm:7 op2:3 to 1111 (is 101)"
    )
    result, _ = _report_of_lines(tmp_path, refusal, PUT_FAILED)
    [said] = [text for text in result.advice if "refused the value of" in text]
    assert "ID_AA64MMFR3_EL1 (0x1111 in the stream, 0x101 here)" in said


def test_psci_version_kvm_lacks_at_start_up(tmp_path: Path) -> None:
    result, suggestions = _report_of_lines(
        tmp_path, "KVM in this kernel does not support PSCI version 1.3"
    )
    assert result.summary.outcome is Outcome.FAILED
    assert result.summary.psci_unsupported == "1.3"
    assert "PSCI 1.3" in result.summary.outcome_detail
    [said] = [text for text in result.advice if "PSCI 1.3" in text]
    assert "kvm-psci-version" in said
    # A QEMU with kvm-psci-version is no 10.x: no advice or fix for one.
    assert not [text for text in result.advice if "10.x or older" in text]
    assert [(s.property, s.side) for s in suggestions] == [("kvm-psci-version", "source")]
    assert suggestions[0].ids == (PSCI_VERSION,)


def test_the_way_back_under_tcg_fails_on_what_11_1_tolerates_under_kvm_only(
    tmp_path: Path,
) -> None:
    # TCG keys: 11.1 prints `system register 0x...` under TCG.
    result, _ = _report_of_lines(
        tmp_path,
        "warning: handle_cpreg_missing_in_incoming_stream: system register 0x1013c103 expected "
        "by the destination but not in the incoming stream: skip it",
    )
    assert result.summary.registers.missing == {TCR2_EL1}
    [fails] = [text for text in result.advice if text.startswith("Migrating back")]
    assert "would fail on TCR2_EL1 (QEMU 11.1 tolerates under KVM only)" in fails
    assert result.registers()[0].status is Status.MISSING
