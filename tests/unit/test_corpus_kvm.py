"""`report` over every real KVM migration of the corpus (tests/corpus/kvm), checked against its
oracle: the outcome, the registers QEMU 11.1 names (in KVM's text forms), and the failures KVM
itself reports after the load."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
