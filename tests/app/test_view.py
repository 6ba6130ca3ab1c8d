"""Views built by one Viewer (results of unchanged attempts reused, by revision) equal views built
afresh, whatever pieces the logs arrive in; a merged attempt's result is reused while no part
of it changes."""

from __future__ import annotations

import random

import pytest

from tests.app.conftest import COUNTS, FAILED, FAILED_TRACE, SUCCEEDED, data, two_cpu_log
from tui.store import Store
from tui.view import View, Viewer

# Several QEMU processes and attempts in one file: a failure, a success, a counts-only failure.
MIXED = data(FAILED) + data(SUCCEEDED) + data(COUNTS) + two_cpu_log()


def pieces(content: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    cut: list[bytes] = []
    while content:
        size = rng.choice((1, 7, 40, 300, 2000))
        cut.append(content[:size])
        content = content[size:]
    return cut


def same_as_fresh(store: Store, view: View) -> None:
    fresh = Viewer(store).build()
    assert view.summaries == fresh.summaries
    assert view.suggestions == fresh.suggestions
    for summary in view.summaries:
        assert view.result(summary.index) == fresh.result(summary.index)


def feed_and_compare(store: Store, feeds: list[tuple[str, bytes]]) -> int:
    viewer = Viewer(store)
    reused = 0
    previous: View | None = None
    for name, piece in feeds:
        with store.lock:
            store.session.feed(name, piece)
        view = viewer.build()
        same_as_fresh(store, view)
        if previous is not None:
            kept = {id(summary) for summary in previous.summaries}
            reused += sum(1 for summary in view.summaries if id(summary) in kept)
        previous = view
    return reused


@pytest.mark.parametrize("seed", range(3))
def test_cached_views_equal_fresh_ones(seed: int) -> None:
    store = Store(["mixed.log"])
    reused = feed_and_compare(store, [("mixed.log", p) for p in pieces(MIXED, seed)])
    assert reused, "no attempt's summary was reused"


@pytest.mark.parametrize("seed", range(3))
def test_cached_views_of_a_log_and_its_trace_file(seed: int) -> None:
    """Standard error and the -D trace file of one QEMU, read together: one merged attempt."""
    store = Store(["dst.log", "dst.trace.log"])
    rng = random.Random(seed)
    logs = [("dst.log", p) for p in pieces(data(FAILED), seed)]
    traces = [("dst.trace.log", p) for p in pieces(data(FAILED_TRACE), seed)]
    feeds = []
    while logs or traces:  # each file in order, the two interleaved at random
        feeds.append((logs if not traces or (logs and rng.random() < 0.5) else traces).pop(0))
    feed_and_compare(store, feeds)


def test_a_merged_attempt_is_reused_while_it_does_not_change() -> None:
    store = Store(["dst.log", "dst.trace.log"])
    head, last = data(FAILED).rstrip(b"\n").rsplit(b"\n", 1)
    with store.lock:
        store.session.feed("dst.log", head + b"\n")
        store.session.feed("dst.trace.log", data(FAILED_TRACE))
    viewer = Viewer(store)
    first = viewer.build()
    (summary,) = first.summaries
    assert summary.sources == ("dst.trace.log", "dst.log"), "one attempt from both files"
    result = first.result(0)
    again = viewer.build()
    assert again.summaries[0] is summary
    assert again.result(0) is result
    # The standard error's last line (QEMU's final error) changes the merged attempt.
    with store.lock:
        store.session.feed("dst.log", last + b"\n")
    changed = viewer.build()
    assert changed.summaries[0] is not summary
    assert changed.summaries[0].revision > summary.revision
    assert changed.result(0) is not result


def test_cached_views_after_the_file_is_replaced() -> None:
    store = Store(["mixed.log"])
    viewer = Viewer(store)
    with store.lock:
        store.session.feed("mixed.log", MIXED)
    viewer.build()
    with store.lock:
        store.reset_source(store.sources["mixed.log"])
    same_as_fresh(store, viewer.build())
    for piece in pieces(data(COUNTS) + data(FAILED), 0):
        with store.lock:
            store.session.feed("mixed.log", piece)
        same_as_fresh(store, viewer.build())
