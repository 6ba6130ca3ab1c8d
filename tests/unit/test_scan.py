"""The one-pass library finder finds exactly the lines the memmem passes find, and the parser
gives the same events with it; without the library, the memmem finder is used."""

from __future__ import annotations

import lzma
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.bytesearch import MemmemFinder
from parsers.logparse import LogParser
from parsers.logshapes import NEEDLES
from reginspect.scan import AhoCorasickFinder, line_finder
from tests.conftest import BUNDLED_CORPUS, SAMPLES

# Short, common needles as well: many hits a line, needles inside needles.
MORE_NEEDLES = (*NEEDLES, b"0x", b"cpu", b"cpu_post", b"load", b"\x00\x00\x00\x01")
FILES = sorted(p for root in (SAMPLES, BUNDLED_CORPUS) for p in root.rglob("*") if p.is_file())


def contents(path: Path) -> bytes:
    data = path.read_bytes()
    return lzma.decompress(data) if path.suffix == ".xz" else data


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    line_finder.cache_clear()
    yield
    line_finder.cache_clear()


needle = st.binary(min_size=1, max_size=6).filter(lambda n: b"\n" not in n)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_same_line_starts_as_memmem_on_any_buffer_needles_and_bounds(data: st.DataObject) -> None:
    needles = data.draw(st.lists(needle, min_size=1, max_size=18))
    pieces = st.one_of(st.sampled_from([*needles, b"\n", b"\r\n", b"\n\n"]), st.binary(max_size=12))
    buf = b"".join(data.draw(st.lists(pieces, max_size=80)))
    start = data.draw(st.integers(-3, len(buf) + 3))
    end = data.draw(st.integers(-3, len(buf) + 3))
    expected = MemmemFinder(needles).line_starts(buf, start, end)
    assert AhoCorasickFinder(needles).line_starts(buf, start, end) == expected


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_same_line_starts_as_memmem_on_every_sample_and_corpus_file(path: Path) -> None:
    data = contents(path)
    for needles in (NEEDLES, MORE_NEEDLES):
        library, memmem = AhoCorasickFinder(needles), MemmemFinder(needles)
        assert library.line_starts(data, 0, len(data)) == memmem.line_starts(data, 0, len(data))
        # In pieces, as the parser searches chunks, with bounds falling inside lines.
        for step, upto in ((4093, len(data)), (997, 1 << 16)):
            for at in range(0, min(len(data), upto), step):
                assert library.line_starts(data, at, at + step) == memmem.line_starts(
                    data, at, at + step
                )


LOGS = [p for p in FILES if p.suffix not in {".json", ".md"} and not p.name.endswith(".mig.xz")]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_the_parser_gives_the_same_events_with_the_library_finder(path: Path) -> None:
    data = contents(path)

    def events(parser: LogParser) -> list[object]:
        found: list[object] = []
        for at in range(0, len(data), 4096):
            found += parser.feed(data[at : at + 4096])
        return found + parser.close()

    assert events(LogParser(finder=line_finder())) == events(LogParser())


def test_the_library_finder_is_the_default_and_built_once() -> None:
    assert isinstance(line_finder(), AhoCorasickFinder)
    assert line_finder() is line_finder()
    assert line_finder().needles == NEEDLES  # type: ignore[attr-defined]


def test_without_the_library_the_memmem_finder_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes ``import ahocorasick_rs`` raise ImportError, as when it is not
    # installed or its compiled part does not load.
    monkeypatch.setitem(sys.modules, "ahocorasick_rs", None)
    finder = line_finder()
    assert isinstance(finder, MemmemFinder)
    assert finder.line_starts(b"x\nqemu-system-aarch64: y\n", 0, 24) == [2]


@pytest.mark.parametrize("bad", [b"", b"a\nb", b"\n"])
def test_needles_must_be_non_empty_and_within_a_line(bad: bytes) -> None:
    with pytest.raises(ValueError, match="needle"):
        AhoCorasickFinder((b"ok", bad))
