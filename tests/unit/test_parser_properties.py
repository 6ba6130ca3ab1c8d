"""Property tests of the log parser: total on any bytes, and blind to how input is chunked."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.logevents import LogEvent
from parsers.logparse import LogParser, candidate_lines
from reginspect.analyze import session_report
from reginspect.model import Session
from reginspect.report_json import report_json
from tests.conftest import SAMPLES, parse_bytes

SAMPLE_LOGS = sorted(path for path in SAMPLES.iterdir() if path.is_file())

PREFIXES = [
    b"",
    b"qemu-system-aarch64: ",
    b"qemu-system-arm: warning: ",
    b"2026-11-25T00:12:05.101809Z qemu-system-aarch64: ",
    b"4027@1795565524.880272:",
    b"2026-11-25T00:19:24.084400Z ",
    b"2026-11-20 09:12:50.702+0000: ",
]
BODIES = [
    b"Invalid value 304 expecting positive value <= 258",
    b"Failed to load cpu:cpreg_vmstate_array_len",
    b"error while loading state for instance 0x1 of device 'cpu'",
    b"load of migration failed: Invalid argument",
    b"cpu_post_load cpreg_vmstate_array_len=274 cpreg_array_len=362",
    b"cpu_post_load_len cpreg_array_len=281 cpreg_vmstate_array_len=284",
    b"cpu_post_load i=3 v=3 regidx=0x603000000013c103",
    b"cpu_post_load_missing missing register in input stream: i=1 index=0x603000000013c512 (v=2)",
    b"cpu_post_load_unexpected unexpected register in input stream: "
    b"v=1 index=0x603000000013c513 (i=1)",
    b"handle_cpreg_only_in_incoming_stream: system register 0x1013c103 in the incoming stream "
    b"but unknown on the destination: fail migration",
    b"handle_cpreg_missing_in_incoming_stream: op0:3 op1:0 crn:2 crm:0 op2:3 expected by the "
    b"destination but not in the incoming stream: skip it",
    b"tolerate_cpreg_only_in_incoming_stream fw feat reg 3",
    b"kvm_arm_cpu_post_load Unexpected register in input stream: 0 0x603000000013c103 op0:3",
    b"kvm_arm_init_cpreg_list_skip_hidden_reg hidden 0x603000000013c103 is skipped",
    b"can't apply global arm-cpu.x-mig-safe-missing-regs=0x1, 0x2: array size property "
    b"x-mig-safe-missing-regs may not be set more than once",
    b"qemu_loadvm_state_section_startfull 6(cpu) 0 22",
    b"qemu_loadvm_state_section 0",
    b"loadvm_state_setup ",
    b"loadvm_state_cleanup ",
    b"vmstate_load_state_fail cpu post-load",
    b"starting up libvirt version: 10.0.0, qemu version: 11.1.3, hostname: h",
    b"shutting down, reason=failed",
    b"ram_load_loop ram: addr: 0x0 flags: 0x2 host: 0x7f0000000000",
    b"system register 0xffffffffffffffffffffffff in the incoming stream",
]

lines = st.builds(
    lambda prefix, body, cut, junk: prefix + body[: cut or None] + junk,
    st.sampled_from(PREFIXES),
    st.sampled_from(BODIES),
    st.integers(min_value=0, max_value=80),
    st.binary(max_size=8),
)
logs = st.lists(st.one_of(lines, st.binary(max_size=60)), max_size=40).map(
    lambda items: b"\n".join(items)
)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, position = [], 0
    for size in sizes:
        if position >= len(data):
            break
        chunks.append(data[position : position + size])
        position += size
    chunks.append(data[position:])
    return chunks


def parse_chunks(chunks: list[bytes]) -> list[object]:
    parser = LogParser()
    events: list[object] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


@settings(max_examples=300, deadline=None)
@given(logs, st.lists(st.integers(min_value=1, max_value=64), max_size=30))
def test_chunking_never_changes_the_events(data: bytes, sizes: list[int]) -> None:
    assert parse_chunks(chunked(data, sizes)) == parse_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_parser_is_total_on_any_bytes(data: bytes) -> None:
    """Any bytes: events (or problems), never an exception, the same in 7-byte pieces."""
    assert parse_chunks([data[i : i + 7] for i in range(0, len(data), 7)]) == parse_bytes(data)


def _report_for(chunks: list[bytes]) -> dict[str, object]:
    session = Session()
    for chunk in chunks:
        session.feed("log", chunk)
    session.close("log")
    return report_json(session_report(session))


def test_samples_byte_by_byte_random_chunks_and_whole_agree() -> None:
    rng = random.Random(4)
    for path in SAMPLE_LOGS:
        data = path.read_bytes()
        whole = _report_for([data])
        by_byte = _report_for([data[i : i + 1] for i in range(len(data))])
        sizes = [rng.randint(1, 4096) for _ in range(len(data) // 512 + 2)]
        random_chunks = _report_for(chunked(data, sizes))
        assert by_byte == whole, path.name
        assert random_chunks == whole, path.name


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"",
                b"ram_load_loop ramblock addr 0x1000",
                b"qemu-system-aarch64: handle_cpreg_only_in_incoming_stream: x",
                b"cpu_post_load cpreg_vmstate_array_len=1 cpreg_array_len=2",
                b"loadvm_state_setup",
                b"\r",
                b"x-mig-hidden",
            ]
        ),
        max_size=40,
    ),
    st.booleans(),
    st.integers(0, 5),
)
def test_dense_and_sparse_candidate_searches_agree(
    lines: list[bytes], final_newline: bool, skip: int
) -> None:
    buf = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    start = min(skip, len(buf))
    start = buf.rfind(b"\n", 0, start) + 1  # a line start, as the parser gives
    assert candidate_lines(buf, 7, 100, start, dense=True) == candidate_lines(buf, 7, 100, start)


def _alone(line: bytes) -> list[LogEvent]:
    """``line``'s events from a parser that has met nothing before it."""
    return parse_bytes(line + b"\n")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda prefix, body, stamp: prefix.replace(b"00:12:05.1", stamp) + body,
            st.sampled_from(PREFIXES),
            st.sampled_from([body for body in BODIES if b"libvirt" not in body]),
            st.sampled_from([b"00:12:05.1", b"11:22:33.4", b"23:59:59.9"]),
        ),
        max_size=30,
    )
)
def test_a_message_met_again_reads_as_it_does_alone(log_lines: list[bytes]) -> None:
    """The parser remembers what a message means; a line it remembers (another time, the same
    message) gives the events that line gives alone: its own number, offset, time, raw text."""
    data = b"\n".join(log_lines) + b"\n"
    events = [tuple(event) for event in parse_bytes(data)]
    # Fed a line at a time, the parser reads the pieces after the first the dense way.
    parser = LogParser()
    fed = [event for line in log_lines for event in parser.feed(line + b"\n")] + parser.close()
    expected: list[tuple[object, ...]] = []
    offset = 0
    for number, line in enumerate(log_lines):
        for event in _alone(line):
            expected.append((event.line + number, event.offset + offset, *event[2:]))
        offset += len(line) + 1
    assert events == expected
    assert [tuple(event) for event in fed] == expected
