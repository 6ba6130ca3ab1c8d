"""The compact line index: same lines as splitting the file, whatever the chunking."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tui.lineindex import MAX_LINE, LineIndex, read_line_at


def _write(path: Path, data: bytes) -> int:
    path.write_bytes(data)
    return os.open(path, os.O_RDONLY)


def _feed(index: LineIndex, data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    position = 0
    while position < len(data):
        size = rng.choice([1, 2, 7, 100, 5000, 70000])
        index.feed(data[position : position + size])
        position += size


@pytest.mark.parametrize("seed", range(6))
def test_lines_match_splitting_in_any_chunking(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = [b"x" * rng.choice([0, 1, 10, 80, 300, 5000]) + b"%d" % n for n in range(3000)]
    data = b"\n".join(lines) + (b"\n" if seed % 2 else b"")
    fd = _write(tmp_path / "log", data)
    index = LineIndex(step=4096)
    _feed(index, data, seed)
    expected = data.split(b"\n")
    if data.endswith(b"\n"):
        expected.pop()
    assert index.line_count == len(expected)
    for first in [1, 2, 17, 1000, 2999, len(expected)]:
        got = index.read_lines(fd, first, 5)
        assert [line for _, line in got] == expected[first - 1 : first + 4]
        for offset, line in got:
            assert read_line_at(fd, offset) == line
        assert index.offset_of(fd, first) == got[0][0]
    os.close(fd)


@pytest.mark.parametrize("parts", [1, 2, 5])
def test_indexes_of_regions_extend_into_the_whole(tmp_path: Path, parts: int) -> None:
    rng = random.Random(parts)
    lines = [b"y" * rng.choice([0, 3, 90, 2000, 9000]) + b"%d" % n for n in range(4000)]
    data = b"\n".join(lines) + b"\nno newline at the end"
    fd = _write(tmp_path / "log", data)
    cuts = [0, *sorted({data.index(b"\n", len(data) * k // parts) + 1 for k in range(1, parts)})]
    whole = LineIndex(step=4096)
    _feed(whole, data, parts)
    joined = LineIndex(step=4096)
    for start, end in zip(cuts, [*cuts[1:], len(data)], strict=True):
        region = LineIndex(step=4096)
        _feed(region, data[start:end], start)
        joined.extend(region)
    assert (joined.line_count, joined.size) == (whole.line_count, whole.size)
    for first in [1, 2, 999, 1000, 1001, 2500, 3999, 4000, 4001]:
        assert joined.read_lines(fd, first, 3) == whole.read_lines(fd, first, 3)
        assert joined.offset_of(fd, first) == whole.offset_of(fd, first)
    assert joined.memory() <= whole.memory() + 16 * parts
    os.close(fd)


def test_checkpoints_stay_compact(tmp_path: Path) -> None:
    index = LineIndex()
    line = b"12345@1795566034.427685:ram_load_loop ram addr 0x0 flags 0x2 host 0x7f\n"
    block = line * 10000
    for _ in range(150):  # ~100 MB of trace lines
        index.feed(block)
    assert index.newlines == 1_500_000
    # One checkpoint per 64 KB: 1 GB would take 256 KB.
    assert index.memory() <= 16 * (index.size // (64 * 1024) + 2)


def test_overlong_line_is_cut(tmp_path: Path) -> None:
    data = b"short\n" + b"y" * (MAX_LINE * 3) + b"\nafter\n"
    fd = _write(tmp_path / "log", data)
    index = LineIndex(step=1024)
    index.feed(data)
    got = [line for _, line in index.read_lines(fd, 1, 3)]
    assert got == [b"short", b"y" * MAX_LINE, b"after"]
    os.close(fd)


def test_partial_last_line_is_shown(tmp_path: Path) -> None:
    data = b"one\ntwo\nthr"
    fd = _write(tmp_path / "log", data)
    index = LineIndex()
    index.feed(data)
    assert index.line_count == 3
    assert index.newlines == 2
    assert [line for _, line in index.read_lines(fd, 2, 5)] == [b"two", b"thr"]
    os.close(fd)


def test_find_forward_and_backward(tmp_path: Path) -> None:
    lines = [b"line %d" % n for n in range(1, 20001)]
    lines[5000 - 1] += b" NEEDLE"
    lines[15000 - 1] += b" needle"
    data = b"\n".join(lines) + b"\n"
    fd = _write(tmp_path / "log", data)
    index = LineIndex(step=4096)
    _feed(index, data, 3)
    assert index.find(fd, b"needle", 1) == 5000
    assert index.find(fd, b"needle", 5000) == 15000
    assert index.find(fd, b"needle", 15000) is None
    assert index.find(fd, b"needle", 20000, forward=False) == 15000
    assert index.find(fd, b"needle", 15000, forward=False) == 5000
    assert index.find(fd, b"needle", 5000, forward=False) is None
    os.close(fd)
