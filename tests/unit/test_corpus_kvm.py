"""`report` over every real KVM migration of the corpus (tests/corpus/kvm), checked against its
oracle: the outcome, the registers QEMU 11.1 names (in KVM's text forms), and the failures KVM
itself reports after the load."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parsers.catalogue import describe
from parsers.logevents import MessageKind, Status
from parsers.regids import Accel
from reginspect.analyze import session_report
from reginspect.configuration import PSCI_VERSION
from reginspect.ingest import read_logs
from reginspect.results import AttemptResult, Outcome, Suggestion
from reginspect.streams import compare_files, load_register_list
from reginspect.tolerances import Verdict, judge, way_back
from tests.conftest import KVM_CASES, CorpusCase

OUTCOMES = {"fail": "failed", "ok": "succeeded"}


def _report(run_cli: Any, case: CorpusCase) -> dict[str, Any]:
    status, out, err = run_cli("report", "--format", "json", *map(str, case.destination_logs()))
    assert err == ""
    assert status in (0, 1)
    data: dict[str, Any] = json.loads(out)
    return data


def test_the_kvm_corpus_is_there() -> None:
    assert len(KVM_CASES) >= 6


@pytest.mark.parametrize("case", KVM_CASES, ids=[case.name for case in KVM_CASES])
def test_outcome_as_the_oracle_never_in_progress(run_cli: Any, case: CorpusCase) -> None:
    (attempt,) = _report(run_cli, case)["attempts"]
    assert attempt["outcome"] == OUTCOMES[case.expected["outcome"]], attempt["outcome_detail"]


@pytest.mark.parametrize(
    "case",
    [case for case in KVM_CASES if "q11" in case.name.split("-to-")[-1]],
    ids=lambda case: case.name,
)
def test_11_1_names_exactly_the_streams_difference(run_cli: Any, case: CorpusCase) -> None:
    """Extra (tolerated or not) and missing (tolerated or not) equal the saved streams'."""
    (attempt,) = _report(run_cli, case)["attempts"]
    (cpu,) = attempt["cpus"]
    named = {status: set() for status in ("extra", "missing")}  # type: dict[str, set[str]]
    for register in cpu["registers"]:
        named[register["status"]].add(register["id"])
        assert register["known"], register
    assert named["extra"] == set(case.expected["only_in_stream"])
    assert named["missing"] == set(case.expected["only_on_destination"])
    if cpu["registers"]:  # KVM's text forms tell the accelerator
        assert attempt["accel"] == "kvm"


def _streams(case: CorpusCase) -> tuple[str, str] | None:
    found = [case.path / f"{side}.mig.xz" for side in ("src", "dst")]
    if not all(path.exists() for path in found):
        return None
    return str(found[0]), str(found[1])


def _case(name: str) -> CorpusCase:
    return next(case for case in KVM_CASES if case.name == name)


def test_psci_version_refused_by_an_older_kernel_is_named(run_cli: Any) -> None:
    (attempt,) = _report(run_cli, _case("kvm-o72-k73-to-k612-q11"))["attempts"]
    (refused,) = attempt["refused"]
    assert refused["name"] == "KVM_REG_ARM_PSCI_VERSION"
    assert (refused["refusal"], refused["value"], refused["current"]) == (
        "value",
        "0x10003",
        "0x10001",
    )
    assert "PMMIR_EL1" in attempt["outcome_detail"]
    assert "KVM_REG_ARM_PSCI_VERSION" in attempt["outcome_detail"]
    texts = [error["text"] for error in attempt["errors"]]
    assert any("Failed to put registers after init" in text for text in texts)


def test_a_register_unknown_to_kvm_fails_the_migration(run_cli: Any) -> None:
    (attempt,) = _report(run_cli, _case("kvm-k612-to-k73-q11"))["attempts"]
    (refused,) = attempt["refused"]
    assert (refused["name"], refused["refusal"]) == ("SCTLR2_EL1", "unknown")


def test_an_unknown_subsection_is_a_state_failure_not_a_register_one(run_cli: Any) -> None:
    (attempt,) = _report(run_cli, _case("kvm-k612-q11-to-q10-traced"))["attempts"]
    state = [error for error in attempt["errors"] if error["kind"] == "state"]
    assert [error["text"] for error in state] == [
        "vmstate_subsection_load_bad cpu: cpu/fpmr/(lookup)"
    ]
    assert "cpu/fpmr" in attempt["outcome_detail"]


# -- every case, through the core: failing lines, sets, tolerances, the way back ----------------

RUNS = [(case, False) for case in KVM_CASES] + [
    (case, True) for case in KVM_CASES if _streams(case) is not None
]


def _result(case: CorpusCase, with_streams: bool) -> tuple[AttemptResult, list[Suggestion]]:
    """The case's one attempt (completed by its saved streams if asked) and the fixes."""
    session, _ = read_logs([str(path) for path in case.destination_logs()])
    compared = None
    if with_streams:
        pair = _streams(case)
        assert pair is not None
        compared, _ = compare_files(*pair)
    report = session_report(session, compared=compared)
    (result,) = report.attempts
    return result, list(report.suggestions)


def _run_id(run: tuple[CorpusCase, bool]) -> str:
    return run[0].name + ("+streams" if run[1] else "")


@pytest.mark.parametrize("run", RUNS, ids=_run_id)
def test_outcome_as_the_oracle_with_or_without_streams(run: tuple[CorpusCase, bool]) -> None:
    case, with_streams = run
    result, _ = _result(case, with_streams)
    assert result.summary.outcome is Outcome(OUTCOMES[case.expected["outcome"]])
    assert result.summary.outcome is not Outcome.IN_PROGRESS  # the file is finished


REFUSALS = (MessageKind.KVM_SET_VALUE, MessageKind.KVM_SET_UNKNOWN, MessageKind.KVM_SET_ERROR)
FAILED = [case for case in KVM_CASES if case.expected["outcome"] == "fail"]


@pytest.mark.parametrize("case", FAILED, ids=lambda case: case.name)
def test_every_failing_line_is_an_error_or_a_failing_register(case: CorpusCase) -> None:
    """Each line QEMU printed as an error (not a warning, not a trace) is among the attempt's
    errors, or names a register of the stream the load fails on; each refusal names its
    register on its own line."""
    result, _ = _result(case, False)
    (log,) = [path for path in case.destination_logs() if path.name == "dst.stderr"]
    error_lines = {error.line for error in result.errors}
    failing_register_lines = {
        spot.line
        for register in result.registers()
        if register.status is Status.EXTRA and not register.tolerated
        for spot in register.lines
    }
    printed = [
        number
        for number, text in enumerate(log.read_text().splitlines(), 1)
        if text.startswith("qemu-system-aarch64: ") and ": warning: " not in text
    ]
    assert printed
    for number in printed:
        assert number in error_lines | failing_register_lines, number
    refusals = [error for error in result.errors if error.message in REFUSALS]
    for error in refusals:  # KVM prints each refusal twice (post-load, then the put)
        assert any(
            f"Could not set register {refused.reference}" in error.text
            for refused in result.summary.refused
        ), error.text
    assert bool(refusals) is bool(result.summary.refused)
    for refused in result.summary.refused:
        assert describe(refused.kvm_id).known
        assert describe(refused.kvm_id).name in result.summary.outcome_detail


def _stream_values(path: str) -> dict[int, int]:
    (values,) = load_register_list(path).cpus.values()
    return {kvm_id: value for kvm_id, value in values.items() if value is not None}


NAMED = [case for case in KVM_CASES if case.expected["qemu_dst"].startswith("11.1")]


@pytest.mark.parametrize("case", NAMED, ids=lambda case: case.name)
def test_what_11_1_tolerated_is_what_its_tolerances_say(case: CorpusCase) -> None:
    """The registers the log shows tolerated are exactly the streams' differences that QEMU
    11.1's own tolerances let through for -cpu host under KVM, judged with the saved values."""
    pair = _streams(case)
    assert pair is not None
    source = _stream_values(pair[0])
    cpu = case.expected["cpu"]
    result, _ = _result(case, False)
    sets = result.summary.registers
    expected = {
        int(kvm_id, 0)
        for kvm_id in case.expected["only_in_stream"]
        if judge(int(kvm_id, 0), Status.EXTRA, Accel.KVM, cpu, source.get(int(kvm_id, 0))).verdict
        is Verdict.YES
    } | {
        int(kvm_id, 0)
        for kvm_id in case.expected["only_on_destination"]
        if judge(int(kvm_id, 0), Status.MISSING, Accel.KVM, cpu, None).verdict is Verdict.YES
    }
    assert sets.tolerated == expected
    assert sets.extra | sets.all_missing == {
        int(kvm_id, 0)
        for kvm_id in case.expected["only_in_stream"] + case.expected["only_on_destination"]
    }


HIDING = ("x-mig-safe-missing-regs", "x-mig-hidden-regs", "tolerance")


@pytest.mark.parametrize("run", RUNS, ids=_run_id)
def test_no_fix_hides_or_tolerates_what_the_destination_tolerates(
    run: tuple[CorpusCase, bool],
) -> None:
    """No hide or tolerate fix names a register the log shows tolerated, nor (for a tolerance
    patch, which is for QEMU >= 11.1) one that QEMU 11.1 tolerates by itself under the
    accelerator the log shows."""
    case, with_streams = run
    result, suggestions = _result(case, with_streams)
    summary = result.summary
    values = dict(summary.registers.stream_values)
    destination = dict(summary.registers.destination_values)
    tolerated_here = summary.registers.tolerated
    for suggestion in suggestions:
        if suggestion.property not in HIDING:
            continue
        assert not tolerated_here & set(suggestion.ids), suggestion
        if suggestion.property != "tolerance":
            continue
        for kvm_id in suggestion.ids:
            extra = kvm_id in summary.registers.extra
            status, value = (Status.EXTRA, values.get(kvm_id)) if extra else (Status.MISSING, None)
            verdict = judge(kvm_id, status, summary.accel, case.expected["cpu"], value)
            assert verdict.verdict is not Verdict.YES, describe(kvm_id).name
            if not extra:  # the way back: it arrives in that stream with this end's value
                back = judge(
                    kvm_id,
                    Status.EXTRA,
                    summary.accel,
                    case.expected["cpu"],
                    destination.get(kvm_id),
                )
                assert back.verdict is not Verdict.YES, describe(kvm_id).name


PSCI_REFUSED = [
    case
    for case in KVM_CASES
    if "Could not set register fw reg 0 to" in (case.path / "dst.stderr").read_text()
]


def test_the_corpus_has_a_psci_refusal() -> None:
    assert PSCI_REFUSED


@pytest.mark.parametrize("case", PSCI_REFUSED, ids=lambda case: case.name)
def test_the_psci_refusal_is_named_and_its_values_explained(case: CorpusCase) -> None:
    result, suggestions = _result(case, False)
    (refused,) = [r for r in result.summary.refused if r.kvm_id == PSCI_VERSION]
    assert refused.kind is MessageKind.KVM_SET_VALUE
    assert refused.value is not None
    assert refused.current is not None
    [sentence] = [text for text in result.advice if "KVM_REG_ARM_PSCI_VERSION" in text]
    # Each value with the version it encodes (major << 16 | minor).
    for value in (refused.value, refused.current):
        assert f"{value:#x} (PSCI {value >> 16}.{value & 0xFFFF})" in sentence
    if refused.value > refused.current:
        assert "Linux 6.13" in sentence
        [psci] = [s for s in suggestions if s.property == "kvm-psci-version"]
        assert psci.side == "source"
        assert psci.value == f"{refused.current >> 16}.{refused.current & 0xFFFF}"


# -- the way back: the cases that are each other's reverse ---------------------------------------


def _reverse_pairs() -> list[tuple[CorpusCase, CorpusCase]]:
    """(case, the real run the other way): kernels swapped, the same QEMU 11.1 on both ends,
    the same emulated host CPU and -cpu."""
    pairs = []
    for case in NAMED:
        for other in NAMED:
            e, o = case.expected, other.expected
            if (
                (e["kernel_src"], e["kernel_dst"]) == (o["kernel_dst"], o["kernel_src"])
                and e["kernel_src"] != e["kernel_dst"]
                and e["qemu_src"] == e["qemu_dst"] == o["qemu_src"] == o["qemu_dst"]
                and e["outer_tcg"] == o["outer_tcg"]
                and e["cpu"] == o["cpu"]
            ):
                pairs.append((case, other))
    return pairs


REVERSE = _reverse_pairs()


def test_the_corpus_has_a_pair_run_both_ways() -> None:
    assert {(a.name, b.name) for a, b in REVERSE} >= {
        ("kvm-o72-k612-to-k73-q11", "kvm-o72-k73-to-k612-q11"),
        ("kvm-o72-k73-to-k612-q11", "kvm-o72-k612-to-k73-q11"),
    }


@pytest.mark.parametrize(("case", "reverse"), REVERSE, ids=[f"{a.name}-back" for a, _ in REVERSE])
@pytest.mark.parametrize("with_streams", [False, True], ids=["log", "streams"])
def test_the_way_back_is_predicted_as_the_real_reverse_run_did(
    case: CorpusCase, reverse: CorpusCase, with_streams: bool
) -> None:
    result, _ = _result(case, with_streams)
    summary = result.summary
    back = way_back(
        summary.registers.all_missing,
        summary.accel,
        case.expected["cpu"],
        dict(summary.registers.destination_values),
    )
    real, _ = _result(reverse, False)
    assert {kvm_id for kvm_id, _ in back.fails} == real.summary.registers.fatal
    passed = {kvm_id for kvm_id, _ in back.tolerated}
    assert passed == real.summary.registers.extra_tolerated
    # The advice says the same: what fails, and what 11.1 there tolerates.
    fails = [
        text for text in result.advice if text.startswith("Migrating back to the source would fail")
    ]
    tolerates = [text for text in result.advice if "11.1 or later there tolerates" in text]
    for kvm_id in real.summary.registers.fatal:
        (sentence,) = fails
        assert describe(kvm_id).name in sentence
    for kvm_id in passed:
        assert all(describe(kvm_id).name not in text for text in fails)
        (sentence,) = tolerates
        assert describe(kvm_id).name in sentence
