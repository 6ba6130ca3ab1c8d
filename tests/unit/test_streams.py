"""Two saved register lists made into one attempt, bounded as a log's attempt is."""

from __future__ import annotations

from parsers.logevents import Status
from parsers.regids import SYSREG_BASE
from reginspect.analyze import attempt_result
from reginspect.model import MAX_CPU_MENTIONS
from reginspect.streams import ListKind, RegisterList, build_attempt


def test_a_vcpus_registers_past_the_cap_are_counted_once_as_a_problem_not_listed() -> None:
    count = MAX_CPU_MENTIONS + 7
    # op0 2 and 3: ascending AArch64 system register ids, more than any register list has.
    ids = [SYSREG_BASE | 0x8000 + index for index in range(count)]
    source = RegisterList("src.mig", ListKind.STREAM, {0: dict.fromkeys(ids, 1)})
    destination = RegisterList("dst.mig", ListKind.STREAM, {0: {}})
    attempt = build_attempt(source, destination)
    cpu = attempt.cpus[0]
    assert (len(cpu.ids), cpu.unlisted, len(cpu.values)) == (MAX_CPU_MENTIONS, 7, MAX_CPU_MENTIONS)
    result = attempt_result(attempt)
    assert result.count(Status.EXTRA) == MAX_CPU_MENTIONS
    (problem,) = result.problems
    assert f"vCPU 0: more than {MAX_CPU_MENTIONS} register lines" in problem.kind
