"""The benchmark log generator: same bytes for the same seed, the size asked for, a manifest that
points at the right lines, the last failure at the end, and only lines QEMU of the attempt's
version prints, in its prefixes."""

from __future__ import annotations

import calendar
import gzip
import hashlib
import itertools
import json
import lzma
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zstandard

from benchmarks import make_log
from tests.conftest import require_corpus


@pytest.fixture(autouse=True)
def _corpus() -> None:
    require_corpus()  # bundled in tests/corpus: its absence is a failure, not a skip


SIZE = 2 * 1024 * 1024
VERSIONS = ("7.2", "10.0", "11.1", "mixed")


@dataclass(frozen=True)
class Generated:
    path: Path
    data: bytes
    lines: list[str]
    manifest: dict[str, Any]


def _generate(path: Path, version: str, seed: int = 7, **options: Any) -> Generated:
    manifest = make_log.generate(path, SIZE, version=version, seed=seed, failures=3, **options)
    data = path.read_bytes()
    stored = json.loads(Path(f"{path}.manifest.json").read_text())
    assert stored == json.loads(manifest.to_json())
    return Generated(path, data, data.decode().split("\n")[:-1], stored)


@pytest.fixture(scope="module", params=VERSIONS)
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    version: str = request.param
    return _generate(tmp_path_factory.mktemp("log") / f"{version}.log", version)


def test_same_seed_same_bytes_other_seed_other_bytes(log: Generated, tmp_path: Path) -> None:
    version = log.manifest["version"]
    again = _generate(tmp_path / "again.log", version)
    assert again.data == log.data
    assert again.manifest["attempts"] == log.manifest["attempts"]
    assert _generate(tmp_path / "other.log", version, seed=8).data != log.data


def test_size_lines_and_digest(log: Generated) -> None:
    manifest = log.manifest
    assert abs(len(log.data) - SIZE) <= SIZE // 100
    assert manifest["size"] == len(log.data)
    assert manifest["requested_size"] == SIZE
    assert manifest["lines"] == len(log.lines) == log.data.count(b"\n")
    assert log.data.endswith(b"\n")
    assert manifest["sha256"] == hashlib.sha256(log.data).hexdigest()
    assert manifest["schema"] == make_log.SCHEMA


def test_attempts_tile_the_file_and_lines_are_where_the_manifest_says(log: Generated) -> None:
    attempts = log.manifest["attempts"]
    assert [a["index"] for a in attempts] == list(range(len(attempts)))
    assert attempts[0]["first_line"] == 1
    assert attempts[0]["offset"] == 0
    for before, after in itertools.pairwise(attempts):
        assert after["first_line"] == before["last_line"] + 1
        assert after["offset"] == before["offset"] + before["length"]
    assert attempts[-1]["last_line"] == len(log.lines)
    assert attempts[-1]["offset"] + attempts[-1]["length"] == len(log.data)
    for attempt in attempts:
        first = attempt["first_line"]
        assert log.lines[first - 1] == attempt["first_text"]
        assert log.data[attempt["offset"] :].startswith(attempt["first_text"].encode() + b"\n")
        assert attempt["first_line"] < attempt["cpu_line"] <= attempt["last_line"]
        assert re.search(
            r"qemu_loadvm_state_section_startfull \d+\(cpu\) 0 ", log.lines[attempt["cpu_line"] - 1]
        )
        if attempt["outcome"] == "ok":
            assert attempt["failure_line"] is None
            continue
        assert attempt["cpu_line"] < attempt["failure_line"] <= attempt["last_line"]
        text = log.lines[attempt["failure_line"] - 1]
        if attempt["failure_text"] is not None:
            assert text == attempt["failure_text"]
        expected = make_log.load_case(attempt["case"]).expected["failure_line"]
        if expected:
            assert text.endswith(re.sub(r"^\S+Z ", "", expected))


def test_failures_and_successes_interleave_and_the_last_failure_ends_the_file(
    log: Generated,
) -> None:
    attempts = log.manifest["attempts"]
    outcomes = [a["outcome"] for a in attempts]
    assert outcomes.count("fail") == log.manifest["failures"] == 3
    assert "ok" in outcomes
    last = attempts[-1]
    assert last["outcome"] == "fail"
    assert last["offset"] >= 0.95 * len(log.data)
    assert last["first_line"] >= 0.95 * len(log.lines)
    # RAM traffic is a good part even this small (successes' device sections weigh ~1 MB).
    ram = sum(1 for line in log.lines if "ram_load_loop " in line)
    assert ram == sum(a["ram_lines"] for a in attempts)
    assert ram > len(log.lines) / 5


def test_cases_match_the_version_asked_for(log: Generated) -> None:
    version = log.manifest["version"]
    qemus = {a["qemu"] for a in log.manifest["attempts"]}
    if version == "mixed":
        failing = {a["qemu"] for a in log.manifest["attempts"] if a["outcome"] == "fail"}
        assert failing == {"7.2", "10.0", "11.1"}
    else:
        assert qemus == {version}
    for attempt in log.manifest["attempts"]:
        case = make_log.load_case(attempt["case"])
        assert case.version == attempt["qemu"]
        assert case.expected["outcome"] == attempt["outcome"]
        assert make_log.load_case(attempt["setup_from"]).version == attempt["qemu"]


# -- every line is one QEMU of that version prints ---------------------------------------------

EVENTS_7_2 = {
    "loadvm_state_cleanup",
    "loadvm_state_setup",
    "migration_set_incoming_channel",
    "migration_socket_incoming_accepted",
    "qemu_loadvm_state_section",
    "qemu_loadvm_state_section_command",
    "qemu_loadvm_state_section_partend",
    "qemu_loadvm_state_section_startfull",
    "ram_load_complete",
    "ram_load_loop",
    "vmstate_load",
    "vmstate_load_field_error",
    "vmstate_load_state",
    "vmstate_load_state_end",
    "vmstate_load_state_field",
    "vmstate_n_elems",
    "vmstate_subsection_load",
    "vmstate_subsection_load_bad",
    "vmstate_subsection_load_good",
}
EVENTS_10_0 = EVENTS_7_2 | {
    "migration_cancel",
    "ram_load_start",
    "vmstate_downtime_checkpoint",
    "vmstate_downtime_load",
    "vmstate_field_exists",
}
EVENTS_11_1 = (EVENTS_10_0 - {"vmstate_load_state_end"}) | {
    "cpu_post_load",
    "vmstate_load_state_fail",
    "vmstate_load_state_success",
}
EVENTS = {"7.2": EVENTS_7_2, "10.0": EVENTS_10_0, "11.1": EVENTS_11_1}

MESSAGES_OLD = re.compile(
    r"(warning: Machine type '[\w.-]+' is deprecated: .*"
    r"|Invalid value \d+ expecting positive value <= \d+"
    r"|Failed to load cpu:cpreg_vmstate_array_len"
    r"|error while loading state for instance 0x0 of device 'cpu'"
    r"|load of migration failed: (Invalid argument|Operation not permitted))"
)
MESSAGES_11_1 = re.compile(
    r"(warning: Machine type '[\w.-]+' is deprecated: .*"
    r"|warning: handle_cpreg_missing_in_incoming_stream: system register 0x[0-9a-f]+ "
    r"expected by the destination but not in the incoming stream: skip it"
    r"|handle_cpreg_only_in_incoming_stream: system register 0x[0-9a-f]+ "
    r"in the incoming stream but unknown on the destination: fail migration"
    r"|load of migration failed: Invalid argument: error while loading state for instance 0x0 "
    r"of device 'cpu': post load hook failed for: cpu, version_id: 22, minimum_version: 22, "
    r"ret: -1)"
)
ISO = r"2026-11-2[5-9]T\d\d:\d\d:\d\d\.\d{6}Z "
RAM_LOOP = re.compile(
    r"ram_load_loop [\w./@-]+: addr: 0x[0-9a-f]+ flags: 0x(2|8|22|28) host: 0x7f[0-9a-f]{10}"
)


def _micros(prefix: str) -> int:
    if "@" in prefix:
        seconds, micros = prefix.split("@")[1].rstrip(":").split(".")
        return int(seconds) * 1_000_000 + int(micros)
    whole, micros = prefix.rstrip("Z ").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * 1_000_000 + int(micros)


def test_every_line_is_a_plausible_qemu_line_of_its_version(log: Generated) -> None:
    previous = 0
    for attempt in log.manifest["attempts"]:
        version = attempt["qemu"]
        program = attempt["binary"]
        old = version != "11.1"
        messages = MESSAGES_OLD if old else MESSAGES_11_1
        if not attempt["timestamps"]:
            trace_prefix, message_prefix = "", ""
        elif old:
            trace_prefix, message_prefix = rf"{attempt['pid']}@\d{{10}}\.\d{{6}}:", ISO
        else:
            trace_prefix, message_prefix = ISO, ISO
        trace = re.compile(rf"({trace_prefix})([a-z0-9_]+)( .*)?")
        message = re.compile(rf"({message_prefix}){program}: (.*)")
        for number in range(attempt["first_line"], attempt["last_line"] + 1):
            line = log.lines[number - 1]
            where = f"line {number} ({version}): {line!r}"
            if match := message.fullmatch(line):
                assert messages.fullmatch(match.group(2)), where
            else:
                match = trace.fullmatch(line)
                assert match, where
                event = match.group(2)
                assert event in EVENTS[version], where
                body = line[match.end(1) :]
                if event == "ram_load_loop":
                    assert RAM_LOOP.fullmatch(body), where
                if event == "vmstate_load_state_field":
                    has_exists = re.search(r" exists=[01]$", body) is not None
                    assert has_exists != (version == "7.2"), where
            if attempt["timestamps"]:
                now = _micros(match.group(1))
                assert now >= previous, where
                previous = now


def test_register_ids_are_the_answer_keys_the_log_names(log: Generated) -> None:
    def key(register: str) -> int:
        value = int(register, 16)
        if value >> 56 == 0x60:
            return (value & 0xFFFF_FFFF) | 0x1000_0000
        return (value & 0xFFFF_FFFF) | (0x8000 if (value >> 52) & 0xF == 3 else 0)

    for attempt in log.manifest["attempts"]:
        expected = make_log.load_case(attempt["case"]).expected
        text = "\n".join(log.lines[attempt["first_line"] - 1 : attempt["last_line"]])
        assert set(attempt["extra"]) <= set(expected["only_in_stream"])
        assert set(attempt["missing"]) <= set(expected["only_on_destination"])
        for register in attempt["extra"]:
            assert re.fullmatch(r"0x[0-9a-f]{16}", register)
            assert f"only_in_incoming_stream: system register 0x{key(register):x} " in text
        for register in attempt["missing"]:
            assert f"missing_in_incoming_stream: system register 0x{key(register):x} " in text
        if attempt["qemu"] == "11.1" and expected["outcome"] == "fail":
            # 11.1 names every difference.
            assert len(attempt["extra"]) == len(expected["only_in_stream"])
            assert len(attempt["missing"]) == len(expected["only_on_destination"])
        if attempt["qemu"] != "11.1":
            assert attempt["extra"] == attempt["missing"] == []
        if attempt["stream_count"] is not None:
            assert attempt["stream_count"] == expected["src_regs"]
            assert attempt["destination_count"] == expected["dst_regs"]


def test_the_last_failure_names_registers_when_its_version_can(log: Generated) -> None:
    last = log.manifest["attempts"][-1]
    if last["qemu"] == "11.1":
        assert last["extra"] or last["missing"]


# -- pieces ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["11.1-max-to-cortex-a57", "7.2-max-to-cortex-a57", "10.0-neoverse-n1-to-cortex-a76"]
)
def test_failure_block_is_one_whole_failing_attempt(case: str) -> None:
    block = make_log.failure_block(case, seed=3, ram_bytes=64 * 1024)
    assert block == make_log.failure_block(case, seed=3, ram_bytes=64 * 1024)
    assert block.endswith(b"\n")
    lines = block.decode().split("\n")[:-1]
    expected = make_log.load_case(case).expected
    failure = re.sub(r"^\S+Z ", "", expected["failure_line"])
    assert any(line.endswith(failure) for line in lines)
    events = [re.sub(r"^(\d+@\S+:|\S+Z )", "", line).split(" ")[0] for line in lines]
    assert events.index("loadvm_state_setup") < events.index("ram_load_loop")
    assert "qemu_loadvm_state_section_startfull" in events
    assert lines[-1].endswith(expected["failure_line"].split("qemu-system-aarch64: ")[-1]) or (
        "load of migration failed" in lines[-1]
    )
    assert 64 * 1024 < len(block) < 64 * 1024 + 200 * 1024
    plain = make_log.failure_block(case, seed=3, ram_bytes=0, timestamps=False)
    assert not re.match(rb"\d+@|\d{4}-", plain)


def test_a_case_without_traces_cannot_be_wrapped() -> None:
    with pytest.raises(ValueError, match="no cpu section"):
        make_log.failure_block("11.1-cortex-a76-to-neoverse-n1")


def _decompress(compress: str, raw: bytes) -> bytes:
    if compress == "gz":
        return gzip.decompress(raw)
    if compress == "xz":
        return lzma.decompress(raw)
    data: bytes = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    return data


@pytest.mark.parametrize("compress", ["gz", "xz", "zst"])
def test_compressed_output_holds_the_same_log(compress: str, tmp_path: Path) -> None:
    plain = make_log.generate(tmp_path / "plain.log", SIZE // 2, version="7.2", seed=1, failures=1)
    packed_path = tmp_path / f"packed.log.{compress}"
    packed = make_log.generate(
        packed_path, SIZE // 2, version="7.2", seed=1, failures=1, compress=compress
    )
    raw = packed_path.read_bytes()
    data = _decompress(compress, raw)
    assert data == (tmp_path / "plain.log").read_bytes()
    assert packed.sha256 == plain.sha256
    assert packed.compressed_size == len(raw) < len(data)
    again = tmp_path / f"again.log.{compress}"
    make_log.generate(again, SIZE // 2, version="7.2", seed=1, failures=1, compress=compress)
    assert again.read_bytes() == raw


def test_too_small_or_unknown_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        make_log.generate(tmp_path / "tiny.log", 10_000, version="11.1", seed=0, failures=3)
    with pytest.raises(ValueError, match=r"QEMU 9\.9"):
        make_log.generate(tmp_path / "x.log", SIZE, version="9.9", seed=0, failures=1)
    assert make_log.main([str(tmp_path / "y.log"), "--size", "1M", "--version", "9.9"]) == 2


@pytest.mark.parametrize(
    ("text", "size"),
    [("10M", 10 << 20), ("1G", 1 << 30), ("2g", 2 << 30), ("512k", 512 << 10), ("123", 123)],
)
def test_sizes(text: str, size: int) -> None:
    assert make_log.parse_size(text) == size
