"""Summaries share what repeats from attempt to attempt, also after crossing processes."""

from __future__ import annotations

import pickle

from reginspect.analyze import shared_parts, summarize
from reginspect.model import Session

LOG = b"".join(
    b"qemu-system-aarch64: handle_cpreg_only_in_incoming_stream: system register 0x%08x in "
    b"the incoming stream but unknown on the destination: fail migration\n"
    b"qemu-system-aarch64: load of migration failed: Invalid argument\n" % key
    for key in (0x1013C103, 0x1013C104, 0x1013C103)
)


def test_a_summary_back_from_another_process_is_made_of_the_shared_parts_again() -> None:
    session = Session()
    session.feed("dst.log", LOG)
    session.close("dst.log")
    first, second, third = (summarize(attempt) for attempt in session.attempts())
    assert first.cpus is second.cpus
    assert first.counts is second.counts
    assert first.registers.fatal is third.registers.fatal
    crossed = pickle.loads(pickle.dumps(third))  # noqa: S301 (our own bytes)
    assert crossed.cpus is not third.cpus
    again = shared_parts(crossed)
    assert again == third
    assert again.cpus is third.cpus
    assert again.counts is third.counts
    assert again.registers.fatal is third.registers.fatal
    assert again.registers.missing is first.registers.missing
