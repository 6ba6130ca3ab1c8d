"""The register-dense and pathological log generator: same bytes for the same seed, and a
manifest that says exactly what is in the file (attempts where it says, register lines, ids,
totals recounted here from the bytes)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks import make_dense, make_log
from reginspect.model import MAX_CPU_MENTIONS, MAX_CPUS

KEY = re.compile(rb"system register 0x([0-9a-f]+) ")


def generated(path: Path, kind: str, count: int, seed: int = 1) -> tuple[bytes, dict[str, Any]]:
    make_dense.generate(path, kind, count, seed=seed)
    return path.read_bytes(), make_dense.load_manifest(path)


def test_dense_attempts_are_where_the_manifest_says_with_what_it_says(tmp_path: Path) -> None:
    data, manifest = generated(tmp_path / "dense.log", "dense", 40)
    assert manifest["schema"] == make_dense.SCHEMA
    assert (manifest["size"], manifest["lines"]) == (len(data), data.count(b"\n"))
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    attempts = manifest["attempts"]
    assert len(attempts) == 40
    assert attempts[-1]["case"] == make_dense.LAST_CASE
    assert {a["case"] for a in attempts} <= set(make_dense.DENSE_CASES)
    assert {a["style"] for a in attempts} == {"trace", "stderr"}
    assert {a["timestamps"] for a in attempts} == {True, False}
    offset, line = 0, 1
    for attempt in attempts:
        assert (attempt["offset"], attempt["first_line"]) == (offset, line)
        text = data[offset : offset + attempt["length"]]
        assert text.count(b"\n") == attempt["last_line"] - attempt["first_line"] + 1
        assert text.rstrip(b"\n").endswith(b"ret: -1")  # QEMU's last word: load failed
        registers = text.count(b"handle_cpreg_") + text.count(b"tolerate_cpreg_")
        assert registers == attempt["register_lines"]
        assert (b"Z qemu-system-aarch64: " in text) == attempt["timestamps"]
        if attempt["style"] == "stderr":  # messages only (a case may have no traces at all)
            assert b"loadvm_state_setup" not in text
        named = {f"0x{make_log.key_to_id(int(k, 16)):016x}" for k in KEY.findall(text)}
        ids = manifest["cases"][attempt["case"]]
        assert set(ids["extra"]) | set(ids["missing"]) <= named
        assert attempt["cpus"][0]["extra"] == len(ids["extra"])
        assert attempt["cpus"][0]["missing"] == len(ids["missing"])
        offset += attempt["length"]
        line = attempt["last_line"] + 1
    assert offset == len(data)
    assert manifest["register_lines"] == sum(a["register_lines"] for a in attempts)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first, _ = generated(tmp_path / "a.log", "dense", 12)
    again, _ = generated(tmp_path / "b.log", "dense", 12)
    other, _ = generated(tmp_path / "c.log", "dense", 12, seed=2)
    assert first == again != other


def test_register_lines_are_counted_and_nearly_all_the_log(tmp_path: Path) -> None:
    data, manifest = generated(tmp_path / "lines.log", "register-lines", 3000)
    assert 3000 <= manifest["register_lines"] < 3000 + 100
    assert manifest["register_lines"] == data.count(b"_in_incoming_stream")
    assert {a["style"] for a in manifest["attempts"]} == {"stderr"}
    assert manifest["register_lines"] > 0.9 * manifest["lines"]


def test_valid_keys_are_every_register_key_once_in_walk_order() -> None:
    keys = make_dense.valid_keys()
    assert len(keys) == len(set(keys)) == 163_840
    ids = [make_log.key_to_id(key) for key in keys]
    assert ids == sorted(ids)


def walk(data: bytes) -> dict[str, int]:
    """The totals, recounted from the log: a new vCPU when a valid id does not go up; the
    registers of vCPUs past MAX_CPUS (one attempt), and past a vCPU's MAX_CPU_MENTIONS, are
    not counted."""
    valid = set(make_dense.valid_keys())
    cpus = extra = invalid = mentions = 0
    ids: set[int] = set()
    previous = -1
    attempts = data.count(b"load of migration failed")
    for match in KEY.finditer(data):
        key = int(match.group(1), 16)
        if key not in valid:
            invalid += 1
            continue
        kvm_id = make_log.key_to_id(key)
        if kvm_id <= previous or not cpus or attempts > 1:
            cpus += 1
            mentions = 0
        previous = kvm_id
        mentions += 1
        ids.add(kvm_id)
        extra += attempts > 1 or (cpus <= MAX_CPUS and mentions <= MAX_CPU_MENTIONS)
    return {
        "attempts": attempts,
        "cpus": cpus if attempts > 1 else min(cpus, MAX_CPUS),
        "cpus_in_log": cpus,
        "extra": extra,
        "ids_in_log": len(ids),
        "invalid_lines": invalid,
    }


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        ("random-keys", 2000),
        ("random-keys", 12_000),
        ("distinct-ids", 2000),
        ("distinct-ids", MAX_CPU_MENTIONS + 10),
        ("attempts", 2000),
        ("cpus", 2000),
        ("cpus", MAX_CPUS + 10),
    ],
)
def test_pathological_totals_are_what_the_log_holds(tmp_path: Path, kind: str, count: int) -> None:
    data, manifest = generated(tmp_path / f"{kind}.log", kind, count)
    totals = manifest["totals"]
    found = walk(data)
    assert totals == {key: found[key] for key in totals}
    assert manifest["register_lines"] == count == len(KEY.findall(data))
    keys = KEY.findall(data)
    if kind == "distinct-ids":
        assert len(set(keys)) == count
        assert totals["extra"] == min(count, MAX_CPU_MENTIONS)
    if kind == "random-keys":
        assert 0 < totals["invalid_lines"] < count * 0.1
    if count > MAX_CPUS and kind == "cpus":
        assert (totals["cpus"], totals["cpus_in_log"]) == (MAX_CPUS, count)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        make_dense.generate(Path("/nonexistent/x.log"), "sparse", 1)
    with pytest.raises(ValueError, match="at least 1"):
        make_dense.generate(Path("/nonexistent/x.log"), "dense", 0)
