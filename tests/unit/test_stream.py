"""The migration stream parser: the real corpus, crafted streams, and inputs it must survive."""

from __future__ import annotations

import functools
import json
import lzma
import mmap
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.stream import StreamContents, parse_stream
from tests.conftest import CASES, CorpusCase, require_corpus

SIDES = ("src", "dst")


@functools.cache
def corpus_stream(case: str, side: str) -> bytes:
    """A corpus stream, decompressed once per test session."""
    by_name = {c.name: c for c in CASES}
    path = by_name[case].file(by_name[case].expected["streams"][side])
    assert path is not None, f"{case}: no {side} stream"
    data = path.read_bytes()
    return lzma.decompress(data) if path.suffix == ".xz" else data


@functools.cache
def corpus_contents(case: str, side: str) -> StreamContents:
    return parse_stream(corpus_stream(case, side))


def hexes(ids: set[int]) -> list[str]:
    return sorted(f"0x{kvm_id:016x}" for kvm_id in ids)


# -- crafted streams -------------------------------------------------------------------------


def be16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def be32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def be64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def str8(text: str) -> bytes:
    raw = text.encode()
    return bytes([len(raw)]) + raw


def field(name: str, kind: str, size: int, count: int = 1) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "type": kind, "size": size}
    if count > 1:
        entry["array_len"] = count
    return entry


def build_stream(
    cpus: list[tuple[int, list[int], list[int]]] | None = None,
    *,
    footers: bool = True,
    capabilities: tuple[str, ...] = (),
    version: int = 3,
    description: bool = True,
    commands: bytes = b"",
    arm: bool = True,
) -> bytes:
    """A small but complete stream: configuration, RAM in two parts, a timer and CPUs."""
    if cpus is None:
        cpus = [(0, [0x603000000013C000, 0x603000000013C103], [7, 8])]
    page = 4096
    out = bytearray(be32(0x5145564D) + be32(version))
    out += b"\x07" + be32(9) + b"virt-10.0"
    out += b"\x05" + str8("configuration/target-page-bits") + be32(1) + be32(12)
    if capabilities:
        out += b"\x05" + str8("configuration/capabilities") + be32(1) + be32(len(capabilities))
        out += b"".join(str8(name) for name in capabilities)
    out += commands

    def footer(section_id: int) -> bytes:
        return b"\x7e" + be32(section_id) if footers else b""

    total = 4 * page
    out += b"\x01" + be32(1) + str8("ram") + be32(0) + be32(4)
    out += be64(total | 0x04) + str8("mach-virt.ram") + be64(total)
    out += be64(0 | 0x02) + str8("mach-virt.ram") + b"\x00"
    out += be64(page | 0x02 | 0x20) + b"\x00"
    out += be64(2 * page | 0x08 | 0x20) + bytes(range(256)) * (page // 256)
    out += be64(0x10) + footer(1)
    out += b"\x03" + be32(1) + be64(0x200) + be64(3 * page | 0x08) + str8("mach-virt.ram")
    out += b"\x06" * page + be64(0x10) + footer(1)

    devices: list[dict[str, Any]] = []
    out += b"\x04" + be32(2) + str8("timer") + be32(0) + be32(2) + be64(5) + bytes(8) + footer(2)
    devices.append(
        {
            "name": "timer",
            "instance_id": 0,
            "vmsd_name": "timer",
            "version": 2,
            "fields": [field("cpu_ticks_offset", "int64", 8), field("unused", "unused_buffer", 8)],
        }
    )
    for number, (instance, ids, values) in enumerate(cpus):
        section_id = 3 + number
        out += b"\x04" + be32(section_id) + str8("cpu") + be32(instance) + be32(22)
        fields = [field("env.regs", "uint32", 4, 16)]
        out += bytes(64)
        if arm:
            fields.append(field("cpreg_vmstate_array_len", "int32 le", 4))
            out += struct.pack(">i", len(ids))
            if ids:  # QEMU describes no entry at all for an empty array
                fields.append(field("cpreg_vmstate_indexes", "uint64", 8, len(ids)))
                fields.append(field("cpreg_vmstate_values", "uint64", 8, len(values)))
                out += b"".join(be64(i) for i in ids) + b"".join(be64(v) for v in values)
        fields.append(field("power_state", "powered_off", 1))
        out += b"\x00"
        out += b"\x05" + str8("cpu/vfp") + be32(3) + bytes(16)
        out += footer(section_id)
        devices.append(
            {
                "name": "cpu",
                "instance_id": instance,
                "vmsd_name": "cpu",
                "version": 22,
                "fields": fields,
                "subsections": [
                    {
                        "vmsd_name": "cpu/vfp",
                        "version": 3,
                        "fields": [field("env.vfp.zregs[0].d", "uint64", 8, 2)],
                    }
                ],
            }
        )
    out += b"\x00"
    if description:
        text = json.dumps({"page_size": page, "devices": devices}).encode()
        out += b"\x06" + be32(len(text)) + text
    return bytes(out)


def error_of(data: bytes) -> str:
    contents = parse_stream(data)
    assert contents.error is not None, "expected a fatal problem"
    return contents.error.message


# -- the corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_corpus_streams_give_the_expected_register_sets(case: CorpusCase) -> None:
    require_corpus()
    expected = case.expected
    src, dst = corpus_contents(case.name, "src"), corpus_contents(case.name, "dst")
    for contents, side in ((src, "src"), (dst, "dst")):
        assert contents.problems == (), side
        assert [cpu.instance for cpu in contents.cpus] == [0]
        cpu = contents.cpus[0]
        assert len(cpu.indexes) == len(cpu.values) == expected[f"{side}_regs"]
        assert list(cpu.indexes) == sorted(set(cpu.indexes))
        assert contents.machine is not None
        assert contents.machine.startswith(expected[side]["machine"])
        assert contents.page_size == 4096
    sent, kept = set(src.cpus[0].indexes), set(dst.cpus[0].indexes)
    assert hexes(sent - kept) == sorted(expected["only_in_stream"])
    assert hexes(kept - sent) == sorted(expected["only_on_destination"])
    assert len(sent & kept) == expected["matched"]


def test_every_corpus_register_id_is_known_to_the_catalogue() -> None:
    require_corpus()
    from parsers.catalogue import describe

    ids = {
        kvm_id
        for case in CASES
        for side in SIDES
        for cpu in corpus_contents(case.name, side).cpus
        for kvm_id in cpu.indexes
    }
    unknown = [f"0x{kvm_id:016x}" for kvm_id in sorted(ids) if not describe(kvm_id).known]
    assert unknown == []


def test_a_mapped_file_parses_like_bytes(tmp_path: Path) -> None:
    require_corpus()
    case = CASES[0].name
    path = tmp_path / "src.mig"
    path.write_bytes(corpus_stream(case, "src"))
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert parse_stream(m) == corpus_contents(case, "src")


# -- crafted streams -------------------------------------------------------------------------


def test_a_crafted_stream_gives_every_cpu() -> None:
    cpus = [
        (0, [0x603000000013C000, 0x603000000013C103], [1, 2]),
        (1, [0x603000000013C000], [3]),  # an array of one: described without array_len
        (2, [], []),  # an array of none: not described at all
    ]
    contents = parse_stream(build_stream(cpus))
    assert contents.problems == ()
    assert contents.machine == "virt-10.0"
    assert [(c.instance, c.indexes, c.values) for c in contents.cpus] == [
        (0, (0x603000000013C000, 0x603000000013C103), (1, 2)),
        (1, (0x603000000013C000,), (3,)),
        (2, (), ()),
    ]


def test_streams_without_footers_parse() -> None:
    assert parse_stream(build_stream(footers=False)).problems == ()


def test_postcopy_commands_are_refused_and_others_skipped() -> None:
    switchover = b"\x08" + be16(11) + be16(0)
    assert parse_stream(build_stream(commands=switchover)).problems == ()
    ping = b"\x08" + be16(2) + be16(4) + be32(1)
    assert parse_stream(build_stream(commands=ping)).problems == ()
    packaged = b"\x08" + be16(7) + be16(4) + be32(100)
    assert "postcopy stream, which is not supported" in error_of(build_stream(commands=packaged))


def test_a_cpu_without_register_list_is_noted() -> None:
    contents = parse_stream(build_stream(arm=False))
    assert contents.error is None
    assert contents.cpus == ()
    assert "not an Arm CPU" in contents.problems[0].message


def test_ids_out_of_order_are_noted() -> None:
    contents = parse_stream(build_stream([(0, [5, 3], [0, 0])]))
    assert contents.error is None
    assert "ascending" in contents.problems[0].message


@pytest.mark.parametrize("capability", ["mapped-ram", "x-ignore-shared"])
def test_layout_changing_capabilities_are_refused(capability: str) -> None:
    message = error_of(build_stream(capabilities=(capability,)))
    assert f"saved with the {capability} capability" in message
    assert "offset 8 (0x8)" in message
    assert "not supported" in message


def test_other_capabilities_are_accepted() -> None:
    assert parse_stream(build_stream(capabilities=("events",))).problems == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty (nothing at offset 0)"),
        (b"QE", 'no "QEVM" magic at offset 0'),
        (b"2026-01-01 qemu-system-aarch64: log text\n", 'no "QEVM" magic at offset 0'),
        (be32(0x5145564D) + be32(2) + b"\x00", "version 2 at offset 4 (0x4)"),
        (be32(0x5145564D) + be32(4) + b"\x00", "unknown migration stream version 4 at offset 4"),
        (be32(0x5145564D), "runs past the end of the file at offset 4"),
    ],
)
def test_bad_headers_give_one_sentence_with_the_offset(data: bytes, expected: str) -> None:
    message = error_of(data)
    assert expected in message
    assert message.endswith(".")
    assert "\n" not in message


def test_a_stream_saved_without_description() -> None:
    data = build_stream(description=False)
    message = error_of(data)
    assert f"no device description at the end of the file, offset {len(data)}" in message


def test_a_cut_stream_names_the_section_and_offset() -> None:
    data = build_stream()
    cut = data[:200]  # inside the first RAM part
    message = error_of(cut)
    assert message.startswith("section 'ram' (id 1, instance 0, at offset ")
    assert "runs past the end of the file at offset 200 (0xc8): the stream is truncated." in message


def test_a_footer_naming_another_section_is_damage() -> None:
    data = bytearray(build_stream())
    timer = data.index(b"\x05timer")
    footer = data.index(b"\x7e" + be32(2), timer)
    data[footer + 1 : footer + 5] = be32(9)
    message = error_of(bytes(data))
    assert f"the footer at offset {footer} " in message
    assert "closes section id 9, but section 'timer' (id 2)" in message


def test_a_description_that_does_not_match_is_damage() -> None:
    data = bytearray(build_stream())
    vfp = data.index(b"\x07cpu/vfp")
    data[vfp - 1] = 0x04  # the subsection marker becomes a section type
    assert "subsection 'cpu/vfp' expected at offset" in error_of(bytes(data))


@pytest.mark.parametrize("length", [0x0606, 0x0706, 0x060006])
def test_description_lengths_holding_control_bytes(length: int) -> None:
    data = build_stream()
    marker = data.rindex(b'{"page_size"') - 5
    text = data[marker + 5 :]
    text += b" " * (length - len(text))  # JSON allows trailing blanks
    contents = parse_stream(data[:marker] + b"\x06" + be32(length) + text)
    assert contents.problems == ()
    assert len(contents.cpus) == 1


def test_a_description_that_is_not_qemus_json_is_refused() -> None:
    data = build_stream()
    marker = data.rindex(b'{"page_size"') - 5
    assert "no device description" in error_of(data[: marker + 1] + be32(3) + b"{}")
    for tree in ({}, {"devices": [{"name": "cpu", "instance_id": True, "fields": []}]}):
        text = json.dumps(tree).encode()
        message = error_of(data[:marker] + b"\x06" + be32(len(text)) + text)
        assert f"the description at offset {marker + 5} " in message
        assert "is not the JSON QEMU writes" in message


def test_names_read_from_the_stream_are_escaped_in_messages() -> None:
    data = build_stream().replace(b"\x05timer", b"\x05ti\n\x1bm", 1)
    message = error_of(data)
    assert "section 'ti\\n\\x1bm' instance 0 at offset" in message
    assert all(c >= " " for c in message)


def test_a_register_count_that_disagrees_with_the_description_is_damage() -> None:
    data = bytearray(build_stream())
    cpu = data.index(b"\x03cpu")
    count = cpu + 4 + 4 + 4 + 64  # name, instance, version, env.regs
    data[count : count + 4] = struct.pack(">i", 5)
    assert "says 5 registers, but its description lists 2" in error_of(bytes(data))


# -- never raises ----------------------------------------------------------------------------

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def check(data: bytes | bytearray) -> StreamContents:
    """Parse; every problem is one sentence with an offset."""
    contents = parse_stream(data)
    for problem in contents.problems:
        assert "offset" in problem.message
        assert all(c >= " " for c in problem.message), problem.message
        assert 0 <= problem.offset <= len(data)
    return contents


@FAST
@given(st.binary(max_size=512))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert check(data).error is not None


@FAST
@given(st.binary(max_size=512))
def test_random_bytes_after_a_valid_header_never_raise(data: bytes) -> None:
    check(be32(0x5145564D) + be32(3) + data)


CRAFTED = build_stream([(0, [1, 2, 3], [4, 5, 6]), (1, [1, 2], [7, 8])])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.data())
def test_byte_flips_in_a_crafted_stream_never_raise(data: st.DataObject) -> None:
    damaged = bytearray(CRAFTED)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    check(damaged)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(0, len(CRAFTED) - 1))
def test_every_cut_of_a_crafted_stream_is_an_error(end: int) -> None:
    assert check(CRAFTED[:end]).error is not None


def _corpus_case() -> str:
    require_corpus()
    return CASES[0].name


@FAST
@given(st.data())
def test_cuts_of_a_real_stream_are_errors_with_the_offset(data: st.DataObject) -> None:
    case = _corpus_case()
    side = data.draw(st.sampled_from(SIDES))
    stream = corpus_stream(case, side)
    end = data.draw(st.integers(0, len(stream) - 1))
    error = check(stream[:end]).error
    assert error is not None
    assert re.search(rf"offset {end}\b", error.message) or "offset 0" in error.message


@FAST
@given(st.data())
def test_byte_flips_in_a_real_stream_never_raise(data: st.DataObject) -> None:
    case = _corpus_case()
    stream = bytearray(corpus_stream(case, "src"))
    # Half the flips land in the device sections and description, where the structure is.
    devices = stream.index(b"\x03cpu")
    for _ in range(data.draw(st.integers(1, 3))):
        low = data.draw(st.sampled_from((0, devices - 64)))
        position = data.draw(st.integers(low, len(stream) - 1))
        stream[position] ^= 1 << data.draw(st.integers(0, 7))
    check(stream)


# RAM records: (flags, bytes after the be64 word); runs of them are skipped in one step.
RECORDS = {
    "zero": (0x22, b"\x00"),
    "zero named": (0x02, str8("mach-virt.ram") + b"\x00"),
    "page": (0x28, bytes(4096)),
    "page named": (0x08, str8("mach-virt.ram") + bytes(4096)),
    "flush": (0x200, b""),
    "bad high flag": (0x122, b"\x00" * 9),
    "bad combination": (0x2A, b"\x00" * 9),
}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(RECORDS)), st.integers(0, (1 << 20) - 1)), max_size=80
    )
)
def test_ram_runs_are_walked_record_by_record(records: list[tuple[str, int]]) -> None:
    base = build_stream()
    part = base.index(b"\x03" + be32(1) + be64(0x200)) + 5  # the RAM's END section data
    footer = base.index(b"\x7e" + be32(1), part)
    body = bytearray()
    bad_at: int | None = None
    for kind, page_number in records:
        flags, tail = RECORDS[kind]
        if kind.startswith("bad") and bad_at is None:
            bad_at = part + len(body)
        body += be64(page_number * 4096 | flags) + tail
    contents = parse_stream(base[:part] + bytes(body) + be64(0x10) + base[footer:])
    if bad_at is None:
        assert contents.problems == ()
        assert len(contents.cpus) == 1
    else:
        assert contents.error is not None
        assert contents.error.message.startswith("unknown RAM record flags 0x")
        assert f"at offset {bad_at} " in contents.error.message
