"""The migration model on its own: vCPUs numbered by walk order, bounded however many a log
claims, and the lines it could not place kept as problems, never dropped silently."""

from __future__ import annotations

import json

from parsers.logevents import Status
from reginspect.analyze import attempt_result, session_report
from reginspect.model import MAX_CPU_MENTIONS, MAX_CPUS, Attempt, Session
from reginspect.render import render

PROGRAM = "qemu-system-aarch64: "
EXTRA = (
    PROGRAM + "handle_cpreg_only_in_incoming_stream: system register 0x{key:08x} in the "
    "incoming stream but unknown on the destination: fail migration\n"
)
FAILED = (
    PROGRAM + "load of migration failed: Invalid argument: error while loading state for "
    "instance 0x0 of device 'cpu': post load hook failed for: cpu, version_id: 22, "
    "minimum_version: 22, ret: -1\n"
)
# Two TCG keys in walk order (their KVM ids ascend).
FIRST, SECOND = 0x200F0823, 0x200F2923


def one_attempt(text: str) -> tuple[Session, Attempt]:
    session = Session()
    session.feed("dst.log", text.encode())
    session.close("dst.log")
    (attempt,) = session.attempts()
    return session, attempt


def test_a_register_id_that_does_not_go_up_starts_the_next_vcpu() -> None:
    keys = [FIRST, SECOND, FIRST, FIRST, SECOND]
    _, attempt = one_attempt("".join(EXTRA.format(key=k) for k in keys) + FAILED)
    assert sorted(attempt.cpus) == [0, 1, 2]
    assert attempt.highest_cpu == 2
    result = attempt_result(attempt)
    assert [cpu.count(Status.EXTRA) for cpu in result.cpus] == [2, 1, 2]
    assert not result.problems


def test_vcpus_past_the_cap_are_counted_once_as_a_problem_not_kept() -> None:
    count = MAX_CPUS + 25
    _, attempt = one_attempt(EXTRA.format(key=FIRST) * count + FAILED)
    assert len(attempt.cpus) == MAX_CPUS
    assert attempt.highest_cpu == MAX_CPUS - 1
    result = attempt_result(attempt)
    assert sum(cpu.count(Status.EXTRA) for cpu in result.cpus) == MAX_CPUS
    (problem,) = result.problems
    assert f"more than {MAX_CPUS} vCPUs" in problem.kind
    assert problem.line == MAX_CPUS + 1  # the first line of a vCPU that is not kept
    assert result.summary.outcome.name == "FAILED"


def test_a_vcpus_register_lines_past_the_cap_are_counted_once_as_a_problem_not_kept() -> None:
    count = MAX_CPU_MENTIONS + 40
    # Ascending AArch64 keys (op0 2 and 3): one vCPU's walk, longer than any register list.
    lines = "".join(EXTRA.format(key=0x10138000 + index) for index in range(count))
    _, attempt = one_attempt(lines + EXTRA.format(key=FIRST) + FAILED)
    assert sorted(attempt.cpus) == [0, 1]  # the walk going back still starts the next vCPU
    assert (len(attempt.cpus[0].ids), attempt.cpus[0].unlisted) == (MAX_CPU_MENTIONS, 40)
    result = attempt_result(attempt)
    assert [cpu.count(Status.EXTRA) for cpu in result.cpus] == [MAX_CPU_MENTIONS, 1]
    (problem,) = result.problems
    assert problem.line == MAX_CPU_MENTIONS + 1
    assert f"vCPU 0: more than {MAX_CPU_MENTIONS} register lines" in problem.kind


def test_unknown_keys_are_problems_on_their_lines_in_every_format() -> None:
    bad = 0x1002265B  # names no QEMU register key
    session, attempt = one_attempt(
        EXTRA.format(key=FIRST) + EXTRA.format(key=bad) + EXTRA.format(key=SECOND) + FAILED
    )
    assert attempt_result(attempt).count(Status.EXTRA) == 2
    report = session_report(session)
    (data,) = json.loads(render(report, "json"))["attempts"]
    (problem,) = data["not_understood"]
    assert (problem["line"], problem["source"]) == (2, "dst.log")
    assert "0x1002265b" in problem["text"]
    assert problem["problem"].endswith("0x1002265b is not a QEMU AArch64 system register key")
    assert "lines not understood:\n    dst.log:2: " in render(report, "text")
    assert "Lines not understood:\n\n- line 2: " in render(report, "markdown")


def test_lines_not_understood_before_any_attempt_are_counted_with_the_first_kept() -> None:
    session = Session()
    odd = PROGRAM + "tolerate_cpreg_only_in_incoming_stream\n"
    session.feed("dst.log", (odd * 3).encode())
    session.close("dst.log")
    assert session.attempts() == []
    builder = session.builders["dst.log"]
    assert builder.unplaced == 3
    assert builder.first_unplaced is not None
    assert builder.first_unplaced.line == 1
