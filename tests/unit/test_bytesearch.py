"""The memmem search and the pure-Python search agree everywhere."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import bytesearch


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=1, max_size=4))
def test_find_all_agrees_with_python(buf: bytes, needle: bytes) -> None:
    assert bytesearch.find_all(buf, needle) == bytesearch._python_find_all(buf, needle)


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
    assert bytesearch._FAST is not None
