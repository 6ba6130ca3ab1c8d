"""Views built with a cache (the views of unchanged attempts reused) equal views built afresh,
whatever pieces the logs arrive in."""

from __future__ import annotations

import random

import pytest

from tests.app.conftest import COUNTS, FAILED, FAILED_TRACE, SUCCEEDED, data, two_cpu_log
from tui.store import Store
from tui.viewmodel import ViewCache, build_view

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


def feed_and_compare(store: Store, feeds: list[tuple[str, bytes]]) -> int:
    cache = ViewCache()
    reused = 0
    for name, piece in feeds:
        with store.lock:
            store.session.feed(name, piece)
        before = dict(cache.attempts)
        cached = build_view(store, cache)
        assert cached == build_view(store)
        reused += sum(
            1
            for attempt, _, view in cache.attempts.values()
            if id(attempt) in before and before[id(attempt)][2] is view
        )
    return reused


@pytest.mark.parametrize("seed", range(3))
def test_cached_views_equal_fresh_ones(seed: int) -> None:
    store = Store(["mixed.log"])
    reused = feed_and_compare(store, [("mixed.log", p) for p in pieces(MIXED, seed)])
    assert reused, "no attempt view was reused"


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


def test_cached_views_after_the_file_is_replaced() -> None:
    store = Store(["mixed.log"])
    cache = ViewCache()
    with store.lock:
        store.session.feed("mixed.log", MIXED)
    build_view(store, cache)
    with store.lock:
        store.reset_source(store.sources["mixed.log"])
    assert build_view(store, cache) == build_view(store)
    for piece in pieces(data(COUNTS) + data(FAILED), 0):
        with store.lock:
            store.session.feed("mixed.log", piece)
        assert build_view(store, cache) == build_view(store)
