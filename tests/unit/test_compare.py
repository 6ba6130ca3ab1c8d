"""`reginspect compare`: the corpus's answer key, register lists, every output form, bad inputs."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path
from typing import Any

import pytest

from parsers.catalogue import describe
from reginspect.configuration import PSCI_VERSION, differs_in_configuration, is_configuration
from reginspect.report_json import SCHEMA
from tests.conftest import CASES, KVM_CASES, REPO, CorpusCase, require_corpus
from tests.unit.test_stream import build_stream, corpus_stream

Run = Any  # the run_cli fixture: (*args) -> (status, stdout, stderr)


def streams(case: CorpusCase) -> tuple[str, str]:
    names = case.expected["streams"]
    src, dst = case.file(names["src"]), case.file(names["dst"])
    assert src is not None
    assert dst is not None
    return str(src), str(dst)


def first_cpu(report: dict[str, Any]) -> dict[str, Any]:
    [attempt] = report["attempts"]
    cpu: dict[str, Any] = attempt["cpus"][0]
    return cpu


def ids(cpu: dict[str, Any], status: str) -> list[str]:
    return sorted(r["id"] for r in cpu["registers"] if r["status"] == status)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_compare_gives_the_answer_key(case: CorpusCase, run_cli: Run) -> None:
    require_corpus()
    expected = case.expected
    status, out, err = run_cli("compare", *streams(case), "--format", "json")
    assert err == ""
    report = json.loads(out)
    assert report["schema"] == SCHEMA
    [attempt] = report["attempts"]
    assert attempt["outcome"] == "unknown"
    assert attempt["naming"] == "streams"
    cpu = first_cpu(report)
    assert ids(cpu, "extra") == sorted(expected["only_in_stream"])
    assert ids(cpu, "missing") == sorted(expected["only_on_destination"])
    assert cpu["matched_count"] == expected["matched"]
    assert cpu["stream_count"] == expected["src_regs"]
    assert cpu["destination_count"] == expected["dst_regs"]
    differs = any(r.get("value_differs") for r in cpu["registers"])
    different = bool(expected["only_in_stream"] or expected["only_on_destination"] or differs)
    assert status == (1 if different else 0)
    for register in cpu["registers"]:
        assert register["evidence"] == "stream"
        assert register["raw"] == register["id"]
        if register["status"] != "missing":
            assert register["stream_value"] is not None
        if register["status"] != "extra":
            assert register["destination_value"] is not None


def test_the_same_configuration_compares_equal(run_cli: Run) -> None:
    require_corpus()
    same = [c for c in CASES if c.expected["src"] == c.expected["dst"]]
    assert same, "the corpus has same-configuration cases"
    for case in same:
        status, out, _ = run_cli("compare", *streams(case))
        assert status == 0, case.name
        assert "0 extra, 0 missing" in out
        assert "differ in value" not in out


def test_the_report_follows_its_schema(run_cli: Run) -> None:
    require_corpus()
    import jsonschema

    schema = json.loads((REPO / "reginspect" / "report.schema.json").read_text())
    for case in CASES[:4]:
        _, out, _ = run_cli("compare", *streams(case), "--format", "json")
        jsonschema.validate(json.loads(out), schema)


def _case_with_value_differences() -> CorpusCase:
    require_corpus()
    for case in CASES:
        src = corpus_stream(case.name, "src")
        dst = corpus_stream(case.name, "dst")
        if src != dst and case.expected["src"]["cpu"] != case.expected["dst"]["cpu"]:
            return case
    raise AssertionError("no corpus case with two CPU models")


def test_text_and_markdown_show_value_differences(run_cli: Run) -> None:
    case = _case_with_value_differences()
    status, text, _ = run_cli("compare", *streams(case))
    assert status == 1
    assert "UNKNOWN" in text
    assert "[values 0x" in text  # differing values are shown without --matched
    status, markdown, _ = run_cli("compare", *streams(case), "--format", "markdown")
    assert status == 1
    assert markdown.startswith("# reginspect report")
    assert "| matched |" in markdown
    assert " → 0x" in markdown
    _, full, _ = run_cli("compare", *streams(case), "--matched")
    assert "values 0x" in full  # the report's own register lines carry the values


def test_machine_types_are_reported(run_cli: Run) -> None:
    require_corpus()
    case = next(c for c in CASES if c.name.startswith("x11.1-to-7.2"))
    _, out, _ = run_cli("compare", *streams(case), "--format", "json")
    report = json.loads(out)
    assert report["attempts"][0]["qemu"]["machine"] == "virt-7.2"
    assert report["attempts"][0]["qemu"]["origin"] == "stream"


# -- register lists --------------------------------------------------------------------------


def write_list(path: Path, registers: list[Any]) -> str:
    path.write_text(json.dumps(registers))
    return str(path)


# Real system register ids (MIDR_EL1, MPIDR_EL1, REVIDR_EL1, ID_AA64PFR0_EL1).
R1, R2, R3, R4 = 0x603000000013C000, 0x603000000013C005, 0x603000000013C006, 0x603000000013C020


def test_a_register_list_against_a_stream(tmp_path: Path, run_cli: Run) -> None:
    stream = tmp_path / "src.mig"
    stream.write_bytes(build_stream([(0, [R1, R2, R3], [10, 20, 30])]))
    same = write_list(tmp_path / "same.json", [{"id": hex(R1)}, {"id": R2}, {"id": f"{R3:#x}"}])
    status, out, _ = run_cli("compare", str(stream), same, "--format", "json")
    assert status == 0  # no value on one side is no difference
    cpu = first_cpu(json.loads(out))
    assert cpu["matched_count"] == 3
    assert [r["stream_value"] for r in cpu["registers"]] == ["0xa", "0x14", "0x1e"]

    other = write_list(
        tmp_path / "other.json",
        [{"id": hex(R1), "value": "0xa"}, {"id": hex(R2), "value": 21}, {"id": hex(R4)}],
    )
    status, out, _ = run_cli("compare", str(stream), other, "--format", "json")
    assert status == 1
    cpu = first_cpu(json.loads(out))
    assert ids(cpu, "extra") == [f"{R3:#018x}"]
    assert ids(cpu, "missing") == [f"{R4:#018x}"]
    assert [r["id"] for r in cpu["registers"] if r.get("value_differs")] == [f"{R2:#018x}"]


def test_a_list_naming_no_cpu_stands_for_every_cpu(tmp_path: Path, run_cli: Run) -> None:
    stream = tmp_path / "two.mig"
    stream.write_bytes(build_stream([(0, [R1, R2], [0, 0]), (1, [R1, R2], [0, 0])]))
    listed = write_list(tmp_path / "list.json", [{"id": R1}, {"id": R2}])
    status, out, _ = run_cli("compare", listed, str(stream), "--format", "json")
    assert status == 0
    cpus = json.loads(out)["attempts"][0]["cpus"]
    assert [(c["cpu"], c["matched_count"]) for c in cpus] == [(0, 2), (1, 2)]
    per_cpu = write_list(tmp_path / "cpu0.json", [{"id": R1, "cpu": 0}, {"id": R2, "cpu": 0}])
    status, out, _ = run_cli("compare", str(stream), per_cpu, "--format", "json")
    assert status == 1
    report = json.loads(out)
    assert [c["extra_count"] for c in report["attempts"][0]["cpus"]] == [0, 2]
    assert any("2 CPU(s)" in problem for problem in report["problems"])


def test_compressed_streams_are_read(tmp_path: Path, run_cli: Run) -> None:
    data = build_stream()
    plain = tmp_path / "plain.mig"
    plain.write_bytes(data)
    packed = {
        "s.mig.gz": gzip.compress(data),
        "s.mig.xz": lzma.compress(data),
        "s.mig.bz2": bz2.compress(data),
    }
    for name, content in packed.items():
        (tmp_path / name).write_bytes(content)
        status, _, err = run_cli("compare", str(plain), str(tmp_path / name))
        assert (status, err) == (0, ""), name
    import zstandard  # a dependency of reginspect's

    (tmp_path / "s.mig.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    assert run_cli("compare", str(plain), str(tmp_path / "s.mig.zst"))[0] == 0


# -- bad inputs: one sentence, exit status 2 -------------------------------------------------


def _with_bad_id(data: bytes) -> bytes:
    """A crafted stream whose first register id is no register id at all."""
    first = (0x603000000013C000).to_bytes(8, "big")
    return data.replace(first, (1).to_bytes(8, "big"), 1)


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[bytes | None, str]]:
    data = build_stream()
    return {
        "truncated.mig": (data[:3000], "runs past the end of the file at offset 3000 (0xbb8)"),
        "cut.mig.xz": (lzma.compress(data[:-10]), "no device description at the end of the file"),
        "foreign.log": (b"qemu-system-aarch64: some log\n", 'no "QEVM" magic at offset 0'),
        "empty.mig": (b"", "the file is empty (nothing at offset 0)"),
        "v2.mig": (b"QEVM\x00\x00\x00\x02", "version 2 at offset 4"),
        "bad.json": (b"[{", "not valid JSON"),
        "noid.json": (b'[{"value": 1}]', 'item 0 of the register list has no valid "id"'),
        "notarm.json": (b'[{"id": "0x1"}]', "0x0000000000000001, is no Arm register id"),
        "badvalue.json": (b'[{"id": "0x603000000013c000", "value": "x"}]', "not a 64-bit number"),
        "badid.mig": (_with_bad_id(data), "carries 0x0000000000000001, which is no Arm register"),
        "object.json": (b'{"a": 1}', "a JSON register list is a list of objects"),
        "emptylist.json": (b"[]", "the register list is empty"),
        "broken.mig.gz": (gzip.compress(data)[:100], "damaged or cut short"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "truncated.mig",
        "cut.mig.xz",
        "foreign.log",
        "empty.mig",
        "v2.mig",
        "bad.json",
        "noid.json",
        "notarm.json",
        "badvalue.json",
        "badid.mig",
        "object.json",
        "emptylist.json",
        "broken.mig.gz",
    ],
)
def test_bad_inputs_exit_2_with_one_sentence(tmp_path: Path, run_cli: Run, name: str) -> None:
    content, expected = _bad_inputs(tmp_path)[name]
    good = tmp_path / "good.mig"
    good.write_bytes(build_stream())
    path = tmp_path / name
    assert content is not None
    path.write_bytes(content)
    for args in ((str(path), str(good)), (str(good), str(path))):
        status, out, err = run_cli("compare", *args)
        assert status == 2
        assert out == ""
        assert err.startswith(f"reginspect: {path}: ")
        assert expected in err
        assert err.count("\n") == 1
        assert "Traceback" not in err


def test_missing_files_and_directories_exit_2(tmp_path: Path, run_cli: Run) -> None:
    good = tmp_path / "good.mig"
    good.write_bytes(build_stream())
    status, _, err = run_cli("compare", str(good), str(tmp_path / "nope.mig"))
    assert status == 2
    assert "no such file" in err
    status, _, err = run_cli("compare", str(tmp_path), str(good))
    assert status == 2
    assert "is a directory" in err


def test_a_cut_corpus_stream_exits_2_naming_the_offset(tmp_path: Path, run_cli: Run) -> None:
    require_corpus()
    case = CASES[0]
    cut = tmp_path / "cut.mig"
    cut.write_bytes(corpus_stream(case.name, "src")[:300_000])
    status, out, err = run_cli("compare", str(cut), streams(case)[1])
    assert (status, out) == (2, "")
    assert "runs past the end of the file at offset 300000 (0x493e0)" in err
    assert err.count("\n") == 1


def test_decode_json_output_is_a_register_list(tmp_path: Path, run_cli: Run) -> None:
    status, out, _ = run_cli("decode", "--json", "0x603000000013c000", "0x603000000013c005")
    assert status == 0
    listed = tmp_path / "decoded.json"
    listed.write_text(out)
    stream = tmp_path / "s.mig"
    stream.write_bytes(build_stream([(0, [R1, R2], [1, 2])]))
    status, out, _ = run_cli("compare", str(listed), str(stream), "--format", "json")
    assert status == 0
    assert first_cpu(json.loads(out))["matched_count"] == 2


# -- configuration apart from run-time state ----------------------------------------------------


def _kvm_pair(case: CorpusCase) -> tuple[CorpusCase, str, str] | None:
    src, dst = (case.path / f"{side}.mig.xz" for side in ("src", "dst"))
    return (case, str(src), str(dst)) if src.exists() and dst.exists() else None


KVM_PAIRS = [pair for case in KVM_CASES if (pair := _kvm_pair(case)) is not None]
TCG_PAIRS = [
    (case, *streams(case))
    for case in CASES
    if case.expected["streams"].get("src") and case.expected["streams"].get("dst")
]


def _compared(run_cli: Run, src: str, dst: str) -> dict[str, Any]:
    _, out, err = run_cli("compare", src, dst, "--format", "json")
    assert err == ""
    data: dict[str, Any] = json.loads(out)
    return data


def _differing(data: dict[str, Any]) -> tuple[set[int], set[int]]:
    """The registers whose values differ: (configuration, run-time state)."""
    configuration: set[int] = set()
    state: set[int] = set()
    for register in first_cpu(data)["registers"]:
        if register.get("value_differs"):
            kvm_id = int(register["id"], 0)
            stream, here = int(register["stream_value"], 0), int(register["destination_value"], 0)
            (configuration if differs_in_configuration(kvm_id, stream, here) else state).add(kvm_id)
    return configuration, state


@pytest.mark.parametrize(
    ("case", "src", "dst"), KVM_PAIRS + TCG_PAIRS, ids=[p[0].name for p in KVM_PAIRS + TCG_PAIRS]
)
def test_only_configuration_gets_same_cpu_advice(
    run_cli: Run, case: CorpusCase, src: str, dst: str
) -> None:
    data = _compared(run_cli, src, dst)
    configuration, state = _differing(data)
    advice = data["attempts"][0]["advice"]
    [cpu] = [s for s in data["suggestions"] if s["property"] == "cpu"] or [None]
    said = [text for text in advice if "configuration register(s) differ" in text]
    assert bool(said) is bool(configuration)
    for text in said:
        assert "same" in text
        assert "-cpu" in text
        for kvm_id in state:
            assert describe(kvm_id).name not in text.split(":")[1]
    told = [text for text in advice if "run-time state register(s) differ" in text]
    assert bool(told) is bool(state)
    for text in told:
        assert "normal between two saved guests" in text
        assert "-cpu" not in text
    if cpu is not None:
        assert not {int(kvm_id, 0) for kvm_id in cpu["ids"]} & state
    if data["attempts"][0]["accel"] == "tcg" and configuration:
        assert cpu is not None
        assert {int(kvm_id, 0) for kvm_id in cpu["ids"]} == configuration


def test_two_host_cpu_guests_on_one_kernel_differ_only_in_state(run_cli: Run) -> None:
    # QEMU 11.1 and 10.0, -cpu host, the same 6.12 kernel: the timers differ, nothing else.
    [(_, src, dst)] = [p for p in KVM_PAIRS if p[0].name == "kvm-k612-q11-to-q10-traced"]
    data = _compared(run_cli, src, dst)
    configuration, state = _differing(data)
    assert not configuration
    assert state
    assert all(not is_configuration(kvm_id) for kvm_id in state)
    assert not [s for s in data["suggestions"] if s["route"] == "any"]


def test_across_kernels_the_psci_version_is_configuration_with_its_values(run_cli: Run) -> None:
    [(_, src, dst)] = [p for p in KVM_PAIRS if p[0].name == "kvm-o72-k612-to-k73-q11"]
    data = _compared(run_cli, src, dst)
    configuration, state = _differing(data)
    assert PSCI_VERSION in configuration
    assert state
    [said] = [t for t in data["attempts"][0]["advice"] if "configuration register(s)" in t]
    assert "0x10001 (PSCI 1.1) in the stream and 0x10003 (PSCI 1.3) here" in said
    assert "older version than this kernel's, which KVM takes" in said
    # The other way the stream's version is newer: KVM refuses it, 11.1's property helps.
    back = _compared(run_cli, dst, src)
    [psci] = [s for s in back["suggestions"] if s["property"] == "kvm-psci-version"]
    assert psci["forms"]["command_line"] == "-cpu host,kvm-psci-version=1.1"


def test_models_that_differ_in_id_registers_get_the_same_cpu_advice(run_cli: Run) -> None:
    # Same register lists, different ID values (cortex-a35 -> cortex-a53, QEMU 11.1, TCG).
    case = next(c for c in CASES if c.name == "11.1-cortex-a35-to-cortex-a53")
    assert case.expected["only_in_stream"] == case.expected["only_on_destination"] == []
    data = _compared(run_cli, *streams(case))
    configuration, state = _differing(data)
    names = {describe(kvm_id).name for kvm_id in configuration}
    assert {"REVIDR_EL1", "ID_MMFR0_EL1", "ID_AA64MMFR0_EL1"} <= names
    assert not state
    [cpu] = [s for s in data["suggestions"] if s["property"] == "cpu"]
    assert "Configuration registers differ in value" in cpu["reason"]
