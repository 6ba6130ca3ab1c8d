"""The fixes against real QEMU: the x-mig builds' verified fixes, QEMU 11.1's tolerances per
accelerator, and the same registers from every entry point (report, report --stream, compare,
suggest). Each case's oracle is its expected.json; nothing here is special-cased in the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parsers.catalogue import describe
from parsers.regids import Accel
from reginspect.tolerances import BUILTINS
from reginspect.xmig import PROPERTIES, SAFE_MISSING, machine_version, postings_for
from tests.conftest import CASES, KVM_CASES, XMIG_CASES, CorpusCase

Run = Any  # the run_cli fixture: (*args) -> (status, stdout, stderr)
ALL_CASES = CASES + KVM_CASES + XMIG_CASES


def logs(case: CorpusCase) -> list[str]:
    """The destination's standard error (and -D trace file), as a user hands them over."""
    if "logs" in case.expected:
        return [str(path) for path in case.destination_logs()]
    found = [case.path / name for name in ("dst.stderr", "dst.trace.log")]
    return [str(path) for path in found if path.exists()]


def streams(case: CorpusCase) -> list[str] | None:
    """``--stream SRC --stream DST`` for the case, or None when it has no two streams."""
    found = []
    for side in ("src", "dst"):
        path = next(
            (p for p in (case.path / f"{side}.mig.xz", case.path / f"{side}.mig") if p.exists()),
            None,
        )
        if path is None:
            return None
        found += ["--stream", str(path)]
    return found


def machines(case: CorpusCase) -> list[str]:
    options = []
    for side in ("src", "dst"):
        if f"{side}_machine" in case.expected:
            options += [f"--{side}-machine", case.expected[f"{side}_machine"]]
    return options


def report(run_cli: Run, *args: str) -> dict[str, Any]:
    _, out, err = run_cli("report", "--format", "json", *args)
    assert "Traceback" not in err
    data: dict[str, Any] = json.loads(out)
    return data


def ids(value: str) -> set[int]:
    return {int(item, 0) for item in value.split(",") if item.strip()}


def cpu0(attempt: dict[str, Any]) -> dict[str, Any]:
    cpu: dict[str, Any] = next(c for c in attempt["cpus"] if c["cpu"] == 0)
    return cpu


def status_ids(attempt: dict[str, Any], status: str) -> set[str]:
    return {r["id"] for r in cpu0(attempt)["registers"] if r["status"] == status}


def with_streams(case: CorpusCase) -> list[list[str]]:
    """The ways to run a case: its log alone, and its log with both saved streams."""
    runs = [logs(case)]
    pair = streams(case)
    if pair is not None:
        runs.append(logs(case) + pair)
    return runs


# -- the x-mig builds ---------------------------------------------------------------------------

XMIG_RUNS = [(case, run) for case in XMIG_CASES for run in with_streams(case)]
XMIG_IDS = [f"{case.name}{'+streams' if '--stream' in run else ''}" for case, run in XMIG_RUNS]


def test_xmig_corpus_is_present() -> None:
    assert {case.name for case in XMIG_CASES} >= {"hide-one", "hide-missing", "set-twice"}


@pytest.mark.parametrize(("case", "run"), XMIG_RUNS, ids=XMIG_IDS)
def test_every_verified_fix_is_suggested(run_cli: Run, case: CorpusCase, run: list[str]) -> None:
    suggestions = report(run_cli, *run, *machines(case))["suggestions"]
    lines = {
        (s["side"], s["property"], s["forms"]["command_line"])
        for s in suggestions
        if s["forms"]["command_line"]
    }
    for fix in case.expected["fix_verified"]:
        if fix["property"] not in PROPERTIES:
            continue
        line = f"-global arm-cpu.{fix['property']}={fix['value']}"
        matching = [
            s
            for s in suggestions
            if s["side"] == fix["side"]
            and s["property"] == fix["property"]
            and s["forms"]["command_line"]
            and ids(s["value"]) == ids(fix["value"])
        ]
        if fix["outcome"] == "ok":
            assert matching, f"{fix['side']} {line} worked on the real build; suggested: {lines}"
            assert all(s["route"] == "x-mig" for s in matching)
        else:
            assert not matching, f"{line} failed on the real build, yet it is suggested"


@pytest.mark.parametrize(("case", "run"), XMIG_RUNS, ids=XMIG_IDS)
def test_no_global_for_what_the_machine_type_sets(
    run_cli: Run, case: CorpusCase, run: list[str]
) -> None:
    suggestions = report(run_cli, *run, *machines(case))["suggestions"]
    for name in case.expected["compat_sets"]:
        for suggestion in suggestions:
            if suggestion["property"] == name:
                assert suggestion["forms"]["command_line"] is None, suggestion
                assert suggestion["forms"]["libvirt"] is None, suggestion
                assert "no command-line form can extend it" in suggestion["reason"]
                assert suggestion["forms"]["compat"]


@pytest.mark.parametrize(("case", "run"), XMIG_RUNS, ids=XMIG_IDS)
def test_hide_and_tolerate_fixes_say_the_value_is_not_migrated(
    run_cli: Run, case: CorpusCase, run: list[str]
) -> None:
    suggestions = report(run_cli, *run, *machines(case))["suggestions"]
    fixes = [s for s in suggestions if s["property"] in PROPERTIES]
    assert fixes
    for suggestion in fixes:
        assert "is not migrated: the destination keeps its reset value" in suggestion["reason"]


def test_the_seed_abort_keeps_dbgdtrtx_in_the_aggregated_value(run_cli: Run) -> None:
    [case] = [c for c in XMIG_CASES if c.name == "v4-seed"]
    suggestions = report(run_cli, *logs(case), *machines(case))["suggestions"]
    [safe] = [s for s in suggestions if s["property"] == SAFE_MISSING]
    assert safe["side"] == "destination"
    assert 0x40200000200E0298 in ids(safe["value"])
    assert ids(safe["value"]) >= {0x603000000013C103, 0x603000000013C512, 0x603000000013C513}
    assert f'"{safe["value"]}" }},' in safe["forms"]["compat"]  # the v3/v4 GlobalProperty
    assert "aborts at start" in safe["reason"]


def test_refused_value_in_decimal_is_read(run_cli: Run, tmp_path: Path) -> None:
    # x-mig v5/v6 aggregate a machine type's ids as decimal numbers joined by ", ".
    log = tmp_path / "decimal.log"
    log.write_text(
        "qemu-system-aarch64: can't apply global arm-cpu.x-mig-safe-missing-regs="
        "4620693218219917976, 6931039826524487939: array size property "
        "x-mig-safe-missing-regs may not be set more than once\n"
    )
    [safe] = [
        s
        for s in report(run_cli, str(log), "--dst-machine", "virt-10.2")["suggestions"]
        if s["property"] == SAFE_MISSING
    ]
    assert ids(safe["value"]) == {0x40200000200E0298, 0x603000000013C103}
    # Only v5/v6 write that form: their register calls, no GlobalProperty.
    assert "x-mig v5/v6" in safe["forms"]["compat"]
    assert "TYPE_ARM_CPU" not in safe["forms"]["compat"]


# -- QEMU 11.1's tolerances per accelerator -----------------------------------------------------

TCG_RUNS = [
    (case, run)
    for case in CASES + XMIG_CASES
    if case.expected.get("outcome") == "fail"
    for run in with_streams(case)
]


@pytest.mark.parametrize(
    ("case", "run"),
    TCG_RUNS,
    ids=[f"{c.name}{'+streams' if '--stream' in r else ''}" for c, r in TCG_RUNS],
)
def test_no_upgrade_where_11_1_still_fails_under_tcg(
    run_cli: Run, case: CorpusCase, run: list[str]
) -> None:
    data = report(run_cli, *run, *machines(case))
    assert not [s for s in data["suggestions"] if s["property"] == "qemu-version"]
    builtin_kvm = {0x603000000013C103, 0x603000000013C512, 0x603000000013C513, 0x6030000000160003}
    extra = {int(i, 0) for i in case.expected["only_in_stream"]}
    tolerance = [s for s in data["suggestions"] if s["property"] == "tolerance"]
    if tolerance and extra & builtin_kvm and "--stream" in run:
        # The streams tell TCG: say that 11.1 alone does not help there.
        assert "under TCG upgrading alone still fails" in tolerance[0]["reason"]


def test_upgrade_where_11_1_tolerates_every_failing_register_under_kvm(run_cli: Run) -> None:
    # The seed thread's pair on QEMU 10.0 under KVM (6.12 -> 7.3): the same pair on 11.1
    # succeeded (kvm-o72-k612-to-k73-q11).
    [case] = [c for c in KVM_CASES if c.name == "kvm-o72-k612-to-k73-q10"]
    [passed] = [c for c in KVM_CASES if c.name == "kvm-o72-k612-to-k73-q11"]
    assert passed.expected["outcome"] == "ok"
    pair = streams(case)
    assert pair is not None
    data = report(run_cli, *logs(case), *pair)
    [upgrade] = [s for s in data["suggestions"] if s["property"] == "qemu-version"]
    assert set(upgrade["ids"]) == set(case.expected["only_in_stream"])
    assert upgrade["route"] == "upstream"
    assert "-cpu host or max" in upgrade["qemu"]  # the log does not say which -cpu
    # Without the streams nothing names the registers: no claim that 11.1 tolerates them.
    alone = report(run_cli, *logs(case))
    assert not [s for s in alone["suggestions"] if s["property"] == "qemu-version"]


def test_no_upgrade_when_11_1_already_fails(run_cli: Run) -> None:
    [case] = [c for c in KVM_CASES if c.name == "kvm-o72-k73-to-k612-q11"]
    pair = streams(case)
    assert pair is not None
    data = report(run_cli, *logs(case), *pair)
    names = {s["property"] for s in data["suggestions"]}
    assert "qemu-version" not in names
    assert "tolerance" in names
    # The source's PSCI 1.3 is refused by the 6.12 destination: 11.1's kvm-psci-version.
    [psci] = [s for s in data["suggestions"] if s["property"] == "kvm-psci-version"]
    assert psci["side"] == "source"
    assert psci["forms"]["command_line"] == "-cpu host,kvm-psci-version=1.1"


# -- every entry point, the same registers ------------------------------------------------------

FAILED_PAIRS = [c for c in ALL_CASES if c.expected["outcome"] == "fail" and streams(c)]


@pytest.mark.parametrize("case", FAILED_PAIRS, ids=[c.name for c in FAILED_PAIRS])
def test_compare_suggests_the_oracles_sets(run_cli: Run, case: CorpusCase) -> None:
    pair = streams(case)
    assert pair is not None
    _, out, err = run_cli("compare", pair[1], pair[3], "--format", "json")
    assert err == ""
    data = json.loads(out)
    suggestions = data["suggestions"]
    extra, missing = set(case.expected["only_in_stream"]), set(case.expected["only_on_destination"])

    def fix(side: str, name: str) -> set[str]:
        found = [s for s in suggestions if s["side"] == side and s["property"] == name]
        assert len(found) <= 1
        return set(found[0]["ids"]) if found else set()

    machine = data["attempts"][0]["qemu"]["machine"]
    known, version = machine_version(machine)
    if known and version is not None and not postings_for(machine):
        # A machine type after the series (virt-11.1): that QEMU has no x-mig property.
        assert not [s for s in suggestions if s["route"] == "x-mig"]
    else:
        assert fix("destination", "x-mig-safe-missing-regs") == extra
        assert fix("source", "x-mig-hidden-regs") == extra
        assert fix("destination", "x-mig-hidden-regs") == missing
    tolerance = [s for s in suggestions if s["property"] == "tolerance"]
    # QEMU 11.1 registers some tolerances itself (under KVM's -cpu host, or everywhere): a
    # patch may not register them again, so they get a comment and no line.
    accel = Accel(data["attempts"][0]["accel"])
    own = {k for k in extra | missing if _registered_by_11_1(int(k, 0), accel)}
    if extra - own:
        [patch] = tolerance
        assert extra - own <= set(patch["ids"])
        assert not own & set(patch["ids"])
        text = patch["forms"]["tolerance"]
        for kvm_id in extra:
            assert f"/* {describe(int(kvm_id, 0)).name} (extra" in text
    elif not extra:
        assert tolerance == []


def _registered_by_11_1(kvm_id: int, accel: Accel) -> bool:
    builtin = BUILTINS.get(kvm_id)
    return builtin is not None and (not builtin.kvm_host_only or accel is Accel.KVM)


PAIRED_LOGS = [c for c in ALL_CASES if streams(c) and logs(c)]


@pytest.mark.parametrize("case", PAIRED_LOGS, ids=[c.name for c in PAIRED_LOGS])
def test_streams_complete_the_logs_attempt(run_cli: Run, case: CorpusCase) -> None:
    pair = streams(case)
    assert pair is not None
    alone = report(run_cli, *logs(case))
    both = report(run_cli, *logs(case), *pair)
    assert len(both["attempts"]) == len(alone["attempts"])
    failed = [a for a in both["attempts"] if a["outcome"] == "failed"]
    target = failed[-1] if failed else both["attempts"][-1]
    assert target["naming"] == "streams"
    assert [a["outcome"] for a in both["attempts"]] == [a["outcome"] for a in alone["attempts"]]
    assert status_ids(target, "extra") == set(case.expected["only_in_stream"])
    assert status_ids(target, "missing") == set(case.expected["only_on_destination"])


SUGGEST_CASES = [c for c in XMIG_CASES + KVM_CASES if streams(c) and logs(c)]


@pytest.mark.parametrize("case", SUGGEST_CASES, ids=[c.name for c in SUGGEST_CASES])
def test_suggest_prints_what_report_suggests(run_cli: Run, case: CorpusCase) -> None:
    pair = streams(case)
    assert pair is not None
    args = [*logs(case), *pair, *machines(case)]
    suggestions = report(run_cli, *args)["suggestions"]
    for form, key in (("command-line", "command_line"), ("tolerance", "tolerance")):
        _, out, _ = run_cli("suggest", *args, "--form", form)
        pasted = [line for line in out.splitlines() if line and not line.startswith("#")]
        expected = [
            line
            for s in suggestions
            if s["forms"][key] is not None
            for line in s["forms"][key].splitlines()
        ]
        assert pasted == expected


def test_unreadable_device_state_is_no_register_problem(run_cli: Run) -> None:
    # QEMU 11.1 -> 10.0 on one kernel: equal register lists, an unknown subsection (cpu/fpmr).
    [case] = [c for c in KVM_CASES if c.name == "kvm-k612-q11-to-q10-traced"]
    data = report(run_cli, *logs(case))
    [state] = data["suggestions"]
    assert state["property"] == "device-state"
    assert "cpu/fpmr" in state["reason"]
    advice = " ".join(data["attempts"][0]["advice"])
    assert "prints no register names" not in advice
    assert "cpu/fpmr" in advice


def test_a_register_unknown_to_kvm_is_no_value(run_cli: Run) -> None:
    # 6.12 -> 7.3: the destination's KVM no longer offers SCTLR2_EL1 to this guest.
    [case] = [c for c in KVM_CASES if c.name == "kvm-k612-to-k73-q11"]
    data = report(run_cli, *logs(case))
    [cpu] = [s for s in data["suggestions"] if s["property"] == "cpu"]
    assert "does not offer SCTLR2_EL1" in cpu["reason"]
    assert "refused SCTLR2_EL1: a value" not in cpu["reason"]
    assert not [s for s in data["suggestions"] if s["property"] in ("trace", "qemu-version")]
