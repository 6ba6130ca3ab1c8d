"""The memmem search and the pure-Python search agree everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import bytesearch


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=1, max_size=4))
def test_find_all_agrees_with_python(buf: bytes, needle: bytes) -> None:
    expected = bytesearch._python_find_all(buf, needle)
    assert bytesearch.find_all(buf, needle) == expected
    memmem = bytesearch._memmem()
    assert memmem is not None
    assert memmem(buf, needle, 0, len(buf)) == buf.find(needle)
    assert bytesearch.find(buf, needle) == buf.find(needle)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"ab", b"qemu", b"x\n", b"\n", b"cpreg", b"zz"]), max_size=60))
def test_line_starts_are_the_lines_holding_a_needle(parts: list[bytes]) -> None:
    buf = b"".join(parts)
    needles = (b"qemu", b"cpreg")
    expected = []
    position = 0
    for line in buf.split(b"\n"):
        if any(needle in line for needle in needles):
            expected.append(position)
        position += len(line) + 1
    assert bytesearch.line_starts(buf, needles) == expected


def test_memmem_is_used_on_glibc() -> None:
    assert bytesearch._memmem() is not None


def test_large_buffers_are_searched_alike() -> None:
    line = b"ram_load_loop mach-virt.ram: addr: 0xe0000 flags: 0x28\n"
    buf = line * (bytesearch._MEMMEM_MIN // len(line)) + b"cpu_post_load\n" + line * 3
    for needle in (b"cpu_post_load", b"0xe0000", b"\n", b"absent"):
        expected = bytesearch._python_find_all(buf, needle)
        assert bytesearch.find_all(buf, needle) == expected
        assert bytesearch.find_all(buf, needle, 5, len(buf) - 5) == [
            at for at in expected if 5 <= at <= len(buf) - 5 - len(needle)
        ]
        assert bytesearch.find(buf, needle, 5, len(buf) - 5) == buf.find(needle, 5, len(buf) - 5)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=10_000), st.integers(-5, 10_005), st.integers(-5, 10_005))
def test_count_newlines_agrees_with_count(buf: bytes, start: int, end: int) -> None:
    begin = min(max(start, 0), len(buf))
    stop = min(max(end, 0), len(buf))
    assert bytesearch.count_newlines(buf, start, end) == buf[begin:stop].count(b"\n")


def test_count_newlines_of_big_buffers() -> None:
    buf = b"x" * 5000 + b"\n" * 3000 + b"yy\n" * 2000
    assert bytesearch.count_newlines(buf) == 5000
    assert bytesearch.count_newlines(buf, 4000, 8000) == 3000
    assert bytesearch.count_newlines(buf, 100) == 5000


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"ab", b"qemu", b"x\n", b"\n", b"cpreg"]), max_size=60),
    st.integers(0, 400),
    st.integers(0, 400),
)
def test_bounded_searches_see_only_their_bounds(parts: list[bytes], start: int, end: int) -> None:
    buf = b"".join(parts)
    start = min(start, len(buf))
    end = max(start, min(end, len(buf)))
    found = bytesearch.find_all(buf, b"qemu", start, end)
    assert found == [start + at for at in bytesearch._python_find_all(buf[start:end], b"qemu")]
    memmem = bytesearch._memmem()
    assert memmem is not None
    assert memmem(buf, b"qemu", start, end) == (found[0] if found else -1)
    assert bytesearch.find(buf, b"qemu", start, end) == buf.find(b"qemu", start, end)
    # ``start`` counts as a line start, as it does for the parser's complete-line pieces.
    starts = bytesearch.line_starts(buf, (b"qemu", b"cpreg"), start, end)
    assert starts == [
        start + at for at in bytesearch.line_starts(buf[start:end], (b"qemu", b"cpreg"))
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([b"ab", b"qemu", b"x\n", b"\n", b"cpreg"]), max_size=60),
    st.integers(-5, 400),
    st.integers(-5, 400),
)
def test_memmem_finder_is_line_starts_for_its_needles(
    parts: list[bytes], start: int, end: int
) -> None:
    buf = b"".join(parts)
    finder = bytesearch.MemmemFinder([b"qemu", b"cpreg"])
    assert finder.needles == (b"qemu", b"cpreg")
    assert finder.line_starts(buf, start, end) == bytesearch.line_starts(
        buf, (b"qemu", b"cpreg"), start, end
    )


@pytest.mark.parametrize("bad", [b"", b"a\nb", b"\n"])
def test_a_line_finder_needs_needles_within_a_line(bad: bytes) -> None:
    with pytest.raises(ValueError, match="needle"):
        bytesearch.MemmemFinder((b"ok", bad))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, None, (0, 10)), (-4, 3, (0, 3)), (4, 99, (4, 10)), (7, 2, (2, 2)), (12, 15, (10, 10))],
)
def test_clamp_holds_bounds_within_the_buffer(
    start: int, end: int | None, expected: tuple[int, int]
) -> None:
    assert bytesearch.clamp(b"0123456789", start, end) == expected


@pytest.mark.parametrize(("start", "end"), [(0, 99_990), (7, 100_000), (4096, 95_904), (1, 5)])
def test_count_newlines_of_nearly_the_whole_buffer(start: int, end: int) -> None:
    buf = b"ab\ncd\n\n" * 14_285 + b"\n\n\n\n\n"
    assert bytesearch.count_newlines(buf, start, end) == buf[start:end].count(b"\n")
