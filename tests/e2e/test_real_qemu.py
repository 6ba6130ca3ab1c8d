"""Real TCG migrations on this machine's QEMU: `report` on the destination's log, `compare` on the
two configurations' streams saved from paused VMs, and `probe` of each configuration followed by
`compare` of the two lists must tell the same story: the same outcome, the same extra and missing
register ids wherever the log names any, the same counts wherever it gives them.

Fixtures (tests/e2e/conftest.py) start every QEMU in its own process group and kill it in
teardown; each CPU model's stream and probe list is made once per module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import BASE, QEMU_ARM, Cache, QemuRunner, migrate, reginspect

pytestmark = pytest.mark.e2e

STATUSES = ("extra", "missing")


def compare(src: Path, dst: Path) -> tuple[int, dict[str, Any]]:
    """`reginspect compare --format json`: its exit status and its one CPU."""
    done = reginspect("compare", "--format", "json", str(src), str(dst))
    assert done.returncode in (0, 1), done.stderr
    (attempt,) = json.loads(done.stdout)["attempts"]
    (cpu,) = attempt["cpus"]
    return done.returncode, cpu


def compare_text(src: Path, dst: Path) -> tuple[int, str]:
    done = reginspect("compare", str(src), str(dst))
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout, done.stderr
    return done.returncode, done.stdout


def report(logs: list[Path]) -> tuple[int, dict[str, Any]]:
    """`reginspect report --format json` on the destination's files: exit status, attempt."""
    done = reginspect("report", "--format", "json", *map(str, logs))
    assert done.returncode in (0, 1), done.stderr
    (attempt,) = json.loads(done.stdout)["attempts"]
    return done.returncode, attempt


def ids(cpu: dict[str, Any], status: str) -> set[str]:
    return {register["id"] for register in cpu["registers"] if register["status"] == status}


def differing_values(cpu: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        register["id"]: (register["stream_value"], register["destination_value"])
        for register in cpu["registers"]
        if register.get("value_differs")
    }


def assert_streams_and_probes_agree(cache: Cache, src: str, dst: str) -> tuple[int, dict[str, Any]]:
    """compare of the saved streams == compare of the probe lists, ids and values alike."""
    saved_status, saved = compare(cache.stream(src), cache.stream(dst))
    probed_status, probed = compare(cache.probe(src), cache.probe(dst))
    assert saved_status == probed_status
    for status in (*STATUSES, "matched"):
        assert ids(saved, status) == ids(probed, status), status
    assert differing_values(saved) == differing_values(probed)
    assert (saved["stream_count"], saved["destination_count"]) == (
        probed["stream_count"],
        probed["destination_count"],
    )
    return saved_status, saved


def assert_log_agrees(attempt: dict[str, Any], streams: dict[str, Any]) -> None:
    """What the destination's log says is what the streams say, as far as the log says it."""
    (cpu,) = attempt["cpus"]
    for status in STATUSES:
        assert ids(cpu, status) <= ids(streams, status), status
        if attempt["naming"] == "named":  # QEMU >= 11.1 names every extra and missing one
            assert ids(cpu, status) == ids(streams, status), status
    for count in ("stream_count", "destination_count"):
        if cpu[count] is not None:
            assert cpu[count] == streams[count], count


def assert_migration_fails(
    qemus: QemuRunner, src: str, dst: str, streams: dict[str, Any], **options: bool
) -> dict[str, Any]:
    """Migrate from the ``src`` to the ``dst`` CPU model: the destination exits with status 1
    and `report` on its files says the attempt failed, as the streams do. That attempt."""
    migration = migrate(qemus, src, dst, **options)
    assert migration.status == 1  # not None: it did not run on, loaded
    status, attempt = report(migration.logs)
    assert (status, attempt["outcome"]) == (1, "failed")
    assert_log_agrees(attempt, streams)
    return attempt


def test_cortex_a57_to_max_fails_and_every_view_agrees(cache: Cache, qemus: QemuRunner) -> None:
    status, streams = assert_streams_and_probes_agree(cache, "cortex-a57", "max")
    assert status == 1
    assert ids(streams, "extra") == set()
    assert len(ids(streams, "missing")) == 46  # max has 304 registers on QEMU 7.2, a57 258

    assert_migration_fails(qemus, "cortex-a57", "max", streams, trace_file=True)


def test_max_to_cortex_a57_fails_with_the_counts_of_the_streams(
    cache: Cache, qemus: QemuRunner
) -> None:
    status, streams = assert_streams_and_probes_agree(cache, "max", "cortex-a57")
    assert status == 1
    assert ids(streams, "missing") == set()
    assert ids(streams, "extra")
    names = {r["name"] for r in streams["registers"] if r["status"] == "extra"}
    assert {"ZCR_EL1", "APIAKEYLO_EL1"} <= names  # named, not raw encodings

    attempt = assert_migration_fails(qemus, "max", "cortex-a57", streams, timestamps=True)
    # QEMU <= 10.x names nothing, but counts the stream's registers against its own.
    (cpu,) = attempt["cpus"]
    assert (cpu["stream_count"], cpu["destination_count"]) == (304, 258)


def test_same_registers_different_id_values_fail_and_compare_names_the_values(
    cache: Cache, qemus: QemuRunner
) -> None:
    status, streams = assert_streams_and_probes_agree(cache, "cortex-a53", "cortex-a72")
    assert status == 1
    assert ids(streams, "extra") == ids(streams, "missing") == set()
    names = {r["name"] for r in streams["registers"] if r.get("value_differs")}
    assert {"CTR_EL0", "ID_AA64MMFR0_EL1"} <= names

    assert_migration_fails(qemus, "cortex-a53", "cortex-a72", streams, trace_file=True)


def test_identical_pair_succeeds_everywhere(cache: Cache, qemus: QemuRunner) -> None:
    status, streams = assert_streams_and_probes_agree(cache, "cortex-a57", "cortex-a57")
    assert status == 0
    assert differing_values(streams) == {}
    assert streams["matched_count"] == 258

    migration = migrate(qemus, "cortex-a57", "cortex-a57", trace_file=True, timestamps=True)
    assert migration.succeeded  # loaded, and waits paused (-S)
    status, attempt = report(migration.logs)
    assert (status, attempt["outcome"]) == (0, "succeeded")


def test_probe_text_names_ids_and_values(qemu_binary: str) -> None:
    done = reginspect("probe", "--", qemu_binary, *BASE, "-cpu", "cortex-a72", "-smp", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "machine virt-" in lines[0]
    assert "2 CPU(s), 258 registers each" in lines[0]
    assert lines[1] == "cpu 0: 258 registers"
    assert any(line.split()[:2] == ["0x603000000013d801", "CTR_EL0"] for line in lines)
    assert "cpu 1: 258 registers" in lines


def test_probe_of_a_configuration_qemu_rejects(qemu_binary: str) -> None:
    done = reginspect("probe", "--", qemu_binary, *BASE, "-cpu", "cortex-a999")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "QEMU exited with status 1 before its stream was saved" in done.stderr
    assert "cortex-a999" in done.stderr


def test_probe_of_32_bit_arm_models_names_the_differences(cache: Cache) -> None:
    if QEMU_ARM is None:  # shipped by the same Debian package as qemu-system-aarch64
        pytest.fail("qemu-system-arm is missing beside qemu-system-aarch64")
    status, out = compare_text(
        cache.probe("cortex-a15", QEMU_ARM), cache.probe("cortex-a7", QEMU_ARM)
    )
    assert status == 1
    assert "[values 0x" in out
