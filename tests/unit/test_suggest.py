"""Suggested fixes: aggregated x-mig property values, merging, forms and stock remedies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reginspect.suggest import (
    SAFE_MISSING,
    SettingError,
    format_value,
    forms_for,
    parse_id_list,
    parse_setting,
)
from tests.conftest import CASES, SAMPLES, CorpusCase

DBGDTRTX = 0x40200000200E0298
TCR2_EL1 = 0x603000000013C103
PIRE0_EL1 = 0x603000000013C512
PIR_EL1 = 0x603000000013C513
SEED_VALUE = "0x40200000200e0298,0x603000000013c103,0x603000000013c512,0x603000000013c513"


def test_seed_thread_merges_both_levels_into_one_value(run_cli: Any) -> None:
    status, out, err = run_cli(
        "suggest",
        str(SAMPLES / "seed-thread-set-twice.log"),
        "--have",
        "x-mig-safe-missing-regs=0x40200000200e0298",
    )
    assert status == 1
    assert err == ""
    assert f"-global arm-cpu.x-mig-safe-missing-regs={SEED_VALUE}\n" in out
    assert out.count("x-mig-safe-missing-regs=") == 1


def test_seed_thread_report_explains_the_abort(run_cli: Any) -> None:
    status, out, _ = run_cli(
        "report",
        "--format",
        "json",
        str(SAMPLES / "seed-thread-set-twice.log"),
        "--have",
        "x-mig-safe-missing-regs=BOGUS_DBGDTR_EL0",
    )
    assert status == 1
    data = json.loads(out)
    (attempt,) = data["attempts"]
    assert attempt["outcome"] == "failed"
    assert "more than once" in " ".join(attempt["advice"])
    safe = [s for s in data["suggestions"] if s["property"] == SAFE_MISSING]
    assert len(safe) == 1
    assert safe[0]["value"] == SEED_VALUE
    assert safe[0]["side"] == "destination"
    assert safe[0]["applies_to"] == "x-mig series"
    assert set(safe[0]["forms"]) == {"command_line", "libvirt", "compat"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0x603000000013C103, 0x603000000013c103", {TCR2_EL1}),
        ("0X603000000013C512,0x603000000013c513", {PIRE0_EL1, PIR_EL1}),
        ("tcr2_el1,PIR_EL1", {TCR2_EL1, PIR_EL1}),
        ("BOGUS_DBGDTR_EL0", {DBGDTRTX}),
        (str(TCR2_EL1), {TCR2_EL1}),
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


def test_an_ambiguous_name_is_refused_with_its_ids() -> None:
    # DBGDTRTX names both the real p14, 0, c0, c5, 0 and QEMU's bogus p14, 3, c0, c5, 0.
    with pytest.raises(SettingError) as error:
        parse_id_list("DBGDTRTX", SAFE_MISSING)
    assert "0x40200000200e0298" in str(error.value)
    assert "0x40200000200e0280" in str(error.value)


def test_settings_parse_with_driver_prefix() -> None:
    assert parse_setting("arm-cpu.x-mig-hidden-regs=0x603000000013c103") == (
        "x-mig-hidden-regs",
        {TCR2_EL1},
    )
    with pytest.raises(SettingError):
        parse_setting("x-mig-other=1")


def test_have_invalid_value_is_a_usage_error(run_cli: Any) -> None:
    status, out, err = run_cli(
        "suggest",
        str(SAMPLES / "seed-thread-set-twice.log"),
        "--have",
        "x-mig-safe-missing-regs=0xZZ",
    )
    assert status == 2
    assert out == ""
    assert "--have" in err
    assert "Traceback" not in err


def test_value_is_sorted_deduplicated_hex() -> None:
    assert format_value([PIR_EL1, TCR2_EL1, PIR_EL1]) == "0x603000000013c103,0x603000000013c513"


def test_forms() -> None:
    forms = {str(form): text for form, text in forms_for(SAFE_MISSING, "0x1,0x2")}
    assert forms["command_line"] == "-global arm-cpu.x-mig-safe-missing-regs=0x1,0x2"
    assert "<qemu:arg value='-global'/>" in (forms["libvirt"] or "")
    assert "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" in (forms["libvirt"] or "")
    assert forms["compat"] == '{ TYPE_ARM_CPU, "x-mig-safe-missing-regs", "0x1,0x2" },'


NAMED_FAILURES = [
    case
    for case in CASES
    if case.expected["outcome"] == "fail" and case.expected["dst"]["qemu"] == "11.1"
]


@pytest.mark.parametrize("case", NAMED_FAILURES, ids=[case.name for case in NAMED_FAILURES])
def test_corpus_safe_missing_suggestion_equals_only_in_stream(
    run_cli: Any, case: CorpusCase
) -> None:
    _, out, _ = run_cli("report", "--format", "json", *map(str, case.destination_logs()))
    suggestions = json.loads(out)["suggestions"]
    safe = [s for s in suggestions if s["property"] == SAFE_MISSING and s["side"] == "destination"]
    expected = set(case.expected["only_in_stream"])
    if expected:
        assert len(safe) == 1
        assert set(safe[0]["ids"]) == expected
    else:
        assert safe == []


def test_stock_remedies_for_builtin_tolerances_and_cpu(run_cli: Any) -> None:
    _, out, _ = run_cli(
        "report",
        "--format",
        "json",
        str(SAMPLES / "xmig-kvm-forward.log"),
        "--src-cpu",
        "host",
        "--dst-cpu",
        "cortex-a57",
    )
    stock = {
        s["property"]: s for s in json.loads(out)["suggestions"] if s["applies_to"] == "stock qemu"
    }
    assert "11.1" in stock["qemu-version"]["reason"]
    assert stock["cpu"]["forms"]["command_line"] == "-cpu host"
