"""`reginspect.plan` on the corpus's saved streams: every direction's registers equal the pairwise
comparison `compare` makes, the aggregated values equal the unions and differences of the lists,
hiding the aggregated value leaves no direction with extra registers, and each verdict agrees with
what the real migration did."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from parsers.logevents import Status
from parsers.regids import Accel
from reginspect.analyze import summarize
from reginspect.configuration import PSCI_VERSION, differs_in_configuration
from reginspect.plan import (
    PairVerdict,
    Plan,
    PlanOptions,
    build_plan,
    differing,
    load_inputs,
    matrix,
    pair_registers,
    plan_files,
    without,
)
from reginspect.results import Form, Route, Suggestion
from reginspect.streams import ListKind, build_attempt, load_register_list
from reginspect.suggest import parse_setting
from reginspect.tolerances import BUILTINS, c_id, value_condition
from reginspect.xmig import DBGDTRTX, HIDDEN, PIR_EL1, PIRE0_EL1, SAFE_MISSING, TCR2_EL1
from tests.conftest import CASES, KVM_CASES, XMIG_CASES, CorpusCase
from tests.unit.test_getreglist import selftest_output

Run = Any  # the run_cli fixture: (*args) -> (status, stdout, stderr)


def stream_of(case: CorpusCase, side: str) -> Path | None:
    streams = case.expected.get("streams")
    stored = streams.get(side) if isinstance(streams, dict) else None
    return case.file(stored) or case.file(f"{side}.mig.xz")


def _side(case: CorpusCase, side: str) -> dict[str, str]:
    """qemu, machine and cpu of one end, from the case's answer key (main and kvm layouts)."""
    expected = case.expected
    if side in expected:
        found: dict[str, str] = expected[side]
        return found
    return {
        "qemu": expected[f"qemu_{side}"].split()[0],
        "machine": expected["machine"].split(",")[0],
        "cpu": expected["cpu"],
    }


def configurations(cases: Sequence[CorpusCase], machine: str | None = None) -> list[str]:
    """LABEL=PATH of every distinct saved configuration of the cases (the kvm cases name the
    stream each file was copied from: one configuration serves several cases), those of
    ``machine`` only when given."""
    found: dict[str, str] = {}
    for case in cases:
        streams = case.expected.get("streams") or {}
        for side in ("src", "dst"):
            path = stream_of(case, side)
            if path is None or (machine and _side(case, side).get("machine") != machine):
                continue
            original = streams.get(path.name)  # kvm: {"src.mig.xz": "k612-q11-v10.mig"}
            label = original.removesuffix(".mig") if original else f"{case.name}.{side}"
            found.setdefault(label, str(path))
    return [f"{label}={path}" for label, path in found.items()]


VIRT_72 = configurations(CASES, "virt-7.2")  # QEMU 7.2, 10.0 and 11.1, several -cpu
KVM = configurations(KVM_CASES)
XMIG = configurations(XMIG_CASES)


NO_OPTIONS = PlanOptions()


@functools.cache
def planned(arguments: tuple[str, ...], options: PlanOptions = NO_OPTIONS) -> Plan:
    return plan_files(arguments, options)


def lists(arguments: Sequence[str]) -> dict[str, dict[int, int | None]]:
    """Each input's register list (first CPU), read the way compare reads it."""
    found = {}
    for argument in arguments:
        label, path = argument.split("=", 1)
        found[label] = load_register_list(path).cpus[0]
    return found


SETS = pytest.mark.parametrize(
    "arguments", [VIRT_72, KVM, XMIG], ids=["virt-7.2 x 3 QEMU", "kvm", "x-mig"]
)


def test_the_corpus_gives_the_sets_the_issue_names() -> None:
    assert len(VIRT_72) >= 6  # every -M virt-7.2 configuration: QEMU 7.2, 10.0, 11.1
    qemus = {_side(c, s)["qemu"] for c in CASES for s in ("src", "dst") if c.name.startswith("x")}
    assert qemus == {"7.2", "10.0", "11.1"}
    assert len(KVM) >= 6
    assert len(XMIG) >= 6


@SETS
def test_every_direction_is_the_pairwise_comparison_of_its_two_lists(
    arguments: list[str],
) -> None:
    plan = planned(tuple(arguments))
    registers = lists(arguments)
    labels = list(registers)
    assert [each.label for each in plan.inputs] == labels
    assert len(plan.cells) == len(labels) * (len(labels) - 1)
    for cell in plan.cells:
        source, destination = labels[cell.source], labels[cell.destination]
        sent, kept = registers[source], registers[destination]
        assert cell.extra == sent.keys() - kept.keys()
        assert cell.missing == kept.keys() - sent.keys()
        # The same pair as `compare` makes it: its summary's sets.
        sets = summarize(
            build_attempt(
                load_register_list(arguments[cell.source].split("=", 1)[1]),
                load_register_list(arguments[cell.destination].split("=", 1)[1]),
            )
        ).registers
        assert cell.extra == sets.extra
        assert cell.missing == sets.all_missing
        # Values: configuration registers only; a lower PSCI version is taken by KVM.
        wanted = {
            k
            for k in sets.value_differs
            if differs_in_configuration(k, sent[k] or 0, kept[k] or 0)
            and not (k == PSCI_VERSION and (sent[k] or 0) < (kept[k] or 0))
        }
        assert cell.value_differs == wanted


@SETS
def test_the_aggregated_values_are_the_union_and_difference_of_the_lists(
    arguments: list[str],
) -> None:
    # A machine type whose compat sets nothing (x-mig v5/v6's latest): the values are exactly
    # the plan's own.
    plan = planned(tuple(arguments), PlanOptions(machine="virt-11.0"))
    registers = lists(arguments)
    union = set().union(*(r.keys() for r in registers.values()))
    common = set.intersection(*(set(r) for r in registers.values()))
    pairwise_extra = set().union(
        *(a.keys() - b.keys() for a, b in itertools.permutations(registers.values(), 2))
    )
    fixes = {fix.property: fix for fix in plan.fixes}
    assert {s.kvm_id for s in plan.differing} == union - common
    assert set(fixes[HIDDEN].ids) == union - common
    assert set(fixes[SAFE_MISSING].ids) == pairwise_extra
    assert fixes[HIDDEN].value == ",".join(f"0x{k:016x}" for k in sorted(union - common))
    assert fixes[HIDDEN].side == "source and destination"
    assert fixes[SAFE_MISSING].side == "destination"
    # virt-11.0's compat sets neither property: the -global and libvirt forms are offered.
    for fix in (fixes[HIDDEN], fixes[SAFE_MISSING]):
        assert [form for form, _ in fix.forms] == [Form.COMMAND_LINE, Form.LIBVIRT, Form.COMPAT]
        assert fix.form(Form.COMMAND_LINE) == f"-global arm-cpu.{fix.property}={fix.value}"
    tolerance = fixes["tolerance"]
    assert set(tolerance.ids) == union - common
    assert tolerance.route is Route.UPSTREAM


@SETS
def test_hiding_the_aggregated_value_everywhere_leaves_no_extra_register(
    arguments: list[str],
) -> None:
    plan = planned(tuple(arguments))
    hidden = frozenset(next(f for f in plan.fixes if f.property == HIDDEN).ids)
    inputs = load_inputs(arguments, PlanOptions())
    again = matrix(without(inputs, hidden), plan.accel)
    assert again == plan.after
    assert all(not cell.extra and not cell.missing for cell in again)
    assert differing(without(inputs, hidden)) == ()
    # What still fails after the fix fails on values alone, and those are the same values.
    for cell in plan.still_failing:
        assert cell.verdict is PairVerdict.FAILS_VALUES
        before = plan.cell(cell.source, cell.destination)
        assert cell.value_differs == before.value_differs - hidden


@SETS
def test_every_hide_or_tolerate_form_names_the_values_it_gives_up(arguments: list[str]) -> None:
    plan = planned(tuple(arguments))
    registers = lists(arguments)
    for fix in plan.fixes:
        if fix.property not in (HIDDEN, SAFE_MISSING, "tolerance"):
            continue
        assert "is not migrated: the destination keeps its reset value" in fix.reason
        nonzero = {(k, v) for r in registers.values() for k, v in r.items() if k in fix.ids and v}
        assert set(fix.loses) == nonzero
        for kvm_id, value in nonzero:
            assert f"{plan.name(kvm_id)} = {value:#x}" in fix.reason


@SETS
def test_a_tolerance_tests_the_value_every_input_agrees_on(arguments: list[str]) -> None:
    plan = planned(tuple(arguments))
    registers = lists(arguments)
    lines = next(f for f in plan.fixes if f.property == "tolerance").form(Form.TOLERANCE) or ""
    for spread in plan.differing:
        held = {r[spread.kvm_id] for r in registers.values() if spread.kvm_id in r}
        calls = [
            line
            for line in lines.splitlines()
            if line.startswith(f"arm_register_cpreg_mig_tolerance(cpu, {c_id(spread.kvm_id)},")
        ]
        if spread.kvm_id in BUILTINS and plan.accel is Accel.KVM:
            assert calls == []  # QEMU 11.1 registers one already: a second one would assert
            continue
        [call] = calls
        if len(held) == 1:
            value = held.pop() or 0
            shown = f"{value:#x}" if value else "0"
            assert call.endswith(f"UINT64_MAX, {shown}, ToleranceOnlySrcTestValue);")
        else:
            assert call.endswith("0, 0, ToleranceNotOnBothEnds);")


def _outcome_errors(case: CorpusCase, run_cli: Run) -> set[str]:
    logs = [str(path) for path in case.destination_logs()]
    _, out, _ = run_cli("report", *logs, "--format", "json")
    return {error["kind"] for attempt in json.loads(out)["attempts"] for error in attempt["errors"]}


@pytest.mark.parametrize("case", CASES + KVM_CASES, ids=lambda c: c.name)
def test_a_directions_verdict_agrees_with_the_real_migration(
    case: CorpusCase, run_cli: Run
) -> None:
    src, dst = stream_of(case, "src"), stream_of(case, "dst")
    assert src is not None
    assert dst is not None
    told = (f"s={_side(case, 'src')['qemu']}", f"d={_side(case, 'dst')['qemu']}")
    plan = plan_files([f"s={src}", f"d={dst}"], PlanOptions(qemu=told))
    verdict = plan.cell(0, 1).verdict
    if case.expected["outcome"] == "ok":
        assert not verdict.fails
    elif not verdict.fails:
        # A failure no register list shows: device state the older QEMU cannot read.
        assert _outcome_errors(case, run_cli) & {"assertion", "state"}


def test_qemu_11_1_tolerances_count_only_when_the_destinations_qemu_is_told() -> None:
    forward = next(c for c in KVM_CASES if c.name == "kvm-o72-k612-to-k73-q11")
    arguments = [f"k612={forward.path / 'src.mig.xz'}", f"k73={forward.path / 'dst.mig.xz'}"]
    untold = plan_files(arguments)
    cell = untold.cell(0, 1)
    assert cell.verdict is PairVerdict.FAILS_REGISTERS
    assert cell.tolerated == frozenset()
    assert any("would tolerate" in note and "--qemu k73=11.1" in note for note in cell.notes)
    assert any("not told by the input" in text for text in untold.assumptions)

    told = plan_files(arguments, PlanOptions(qemu=("11.1",)))
    cell = told.cell(0, 1)
    assert cell.tolerated == {TCR2_EL1, PIRE0_EL1, PIR_EL1}
    assert cell.verdict is PairVerdict.WARNINGS  # PMMIR_EL1 and BMAP_2 missing: warnings
    assert any("tolerates" in note for note in cell.notes)
    # -cpu is not in a stream: the assumption is stated, and --cpu changes it.
    assert any("-cpu host (or max) assumed" in text for text in told.assumptions)
    other_cpu = plan_files(arguments, PlanOptions(qemu=("11.1",), cpu=("k73=cortex-a57",)))
    assert other_cpu.cell(0, 1).verdict is PairVerdict.FAILS_REGISTERS
    # Under TCG QEMU 11.1 tolerates none of them.
    tcg = plan_files(arguments, PlanOptions(qemu=("11.1",), accel=("tcg",)))
    assert tcg.cell(0, 1).verdict is PairVerdict.FAILS_REGISTERS


def test_a_get_reg_list_host_joins_a_plan_of_streams(tmp_path: Path) -> None:
    forward = next(c for c in KVM_CASES if c.name == "kvm-o72-k612-to-k73-q11")
    k73 = load_register_list(str(forward.path / "dst.mig.xz")).cpus[0]
    host = tmp_path / "k73.txt"
    host.write_text(selftest_output(sorted(k for k in k73 if k >> 16 & 0xFFF != 0x11)))
    arguments = [f"k612={forward.path / 'src.mig.xz'}", f"k73-list={host}"]
    plan = plan_files(arguments, PlanOptions(qemu=("11.1",)))
    assert plan.inputs[1].kind is ListKind.GET_REG_LIST
    assert not plan.inputs[1].has_values
    stream_plan = plan_files([arguments[0], f"k73={forward.path / 'dst.mig.xz'}"])
    for cell in plan.cells:
        twin = stream_plan.cell(cell.source, cell.destination)
        demux = {k for k in twin.extra | twin.missing if k >> 16 & 0xFFF == 0x11}
        assert cell.extra == twin.extra - demux
        assert cell.missing == twin.missing - demux
        assert cell.value_differs == frozenset()  # a list without values shows none
    # BMAP_2 from a list without values: 11.1's value test assumed at its reset value, said so.
    backward = plan.cell(1, 0)
    assert value_condition(0) in backward.assumed
    assert any("reset value 0" in text for text in plan.assumptions)
    assert any("carry no values" in note for note in plan.notes)


def test_a_machine_types_compat_and_have_are_merged_into_one_value() -> None:
    have = (parse_setting("x-mig-safe-missing-regs=0x603000000013c4f6"),)  # PMMIR_EL1
    plan = planned(tuple(KVM), PlanOptions(have=have, machine="virt-10.1"))
    fixes = {fix.property: fix for fix in plan.fixes}
    safe = fixes[SAFE_MISSING]
    differing_ids = {s.kvm_id for s in plan.differing}
    # Every x-mig posting's virt-10.1 compat: DBGDTRTX (v3-v6), TCR2_EL1, PIRE0_EL1, PIR_EL1.
    assert set(safe.ids) == differing_ids | {
        0x603000000013C4F6,
        DBGDTRTX,
        TCR2_EL1,
        PIRE0_EL1,
        PIR_EL1,
    }
    # That compat already sets the property: QEMU refuses any -global for it.
    assert [form for form, _ in safe.forms] == [Form.COMPAT]
    compat = safe.form(Form.COMPAT) or ""
    assert "arm_virt_compat_register_safe_missing_reg(vmc, 0x603000000013c103)" not in compat
    assert f'"x-mig-safe-missing-regs", "{safe.value}"' in compat
    assert "sets it twice itself" in safe.reason  # v3/v4's virt-10.1 aborts at start


def test_psci_values_get_the_oldest_version_for_every_host() -> None:
    plan = planned(tuple(KVM), PlanOptions(qemu=("11.1",)))
    [psci] = [fix for fix in plan.fixes if fix.property == "kvm-psci-version"]
    assert psci.value == "1.1"
    assert psci.form(Form.COMMAND_LINE) == "-cpu host,kvm-psci-version=1.1"
    assert any(PSCI_VERSION in cell.value_differs for cell in plan.still_failing)


def test_pair_registers_are_the_directions_registers_with_names_and_values() -> None:
    plan = planned(tuple(VIRT_72))
    for cell in plan.cells:
        rows = pair_registers(plan, cell)
        assert {r.kvm_id for r in rows if r.status is Status.EXTRA} == cell.extra
        assert {r.kvm_id for r in rows if r.status is Status.MISSING} == cell.missing
        assert {r.kvm_id for r in rows if r.value_differs} == cell.value_differs
        assert all(r.name for r in rows)


def test_the_cells_follow_sources_then_destinations() -> None:
    plan = planned(tuple(VIRT_72))
    count = len(plan.inputs)
    for source, destination in itertools.permutations(range(count), 2):
        cell = plan.cell(source, destination)
        assert (cell.source, cell.destination) == (source, destination)


def test_a_plan_of_equal_lists_migrates_everywhere_and_exits_0() -> None:
    same = next(c for c in CASES if c.name == "11.1-cortex-a72-to-cortex-a72")
    plan = build_plan(
        load_inputs(
            [f"a={same.path / 'src.mig.xz'}", f"b={same.path / 'dst.mig.xz'}"], PlanOptions()
        ),
        PlanOptions(),
    )
    assert all(cell.verdict is PairVerdict.MIGRATES for cell in plan.cells)
    assert plan.exit_status == 0
    assert plan.differing == ()
    assert [fix.property for fix in plan.fixes] == []


def _suggestions(fixes: Sequence[Suggestion]) -> list[str]:
    return [f"{fix.property}@{fix.side}" for fix in fixes]


def test_the_fixes_come_in_the_engines_order() -> None:
    plan = planned(tuple(VIRT_72))
    assert _suggestions(plan.fixes)[:3] == [
        "x-mig-hidden-regs@source and destination",
        "x-mig-safe-missing-regs@destination",
        "tolerance@destination",
    ]


def test_inputs_with_the_same_registers_need_no_property() -> None:
    """A configuration saved on both ends of a same-version migration: nothing to hide or let
    through, whatever the machine type's compat already sets (virt-7.2's in the x-mig series)."""
    [case] = [case for case in CASES if case.name == "7.2-cortex-a57-to-cortex-a57"]
    arguments = (f"a={stream_of(case, 'src')}", f"b={stream_of(case, 'dst')}")
    plan = planned(arguments)
    assert not plan.differing
    assert not any(fix.property in (HIDDEN, SAFE_MISSING) for fix in plan.fixes)
