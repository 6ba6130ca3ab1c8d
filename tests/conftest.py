"""Shared fixtures: the real QEMU corpus, and the CLI runner.

The corpus travels with the repository (``tests/corpus``, copied as it is from the project's
shared corpus), so a fresh clone tests against it. Newer cases in ``$REGINSPECT_CORPUS`` or in
``../shared/corpus`` beside the checkout are added when present; a case the repository has is
taken from the repository.
"""

from __future__ import annotations

import json
import lzma
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parsers.catalogue import describe
from parsers.logevents import LogEvent
from parsers.logparse import LogParser
from parsers.regids import Accel

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
BUNDLED_CORPUS = REPO / "tests" / "corpus"
SHARED_CORPUS = Path(os.environ.get("REGINSPECT_CORPUS", REPO.parent / "shared" / "corpus"))
# Where the tests read one named case from (the bundled copy holds every case the tests name).
CORPUS = BUNDLED_CORPUS


@dataclass(frozen=True)
class CorpusCase:
    name: str
    path: Path
    expected: dict[str, Any]

    def file(self, stored: str | None) -> Path | None:
        if not stored:
            return None
        path = self.path / stored
        return path if path.exists() else None

    def destination_logs(self) -> list[Path]:
        """The destination's standard error and -D trace file, as a user hands them over."""
        logs = self.expected.get("logs") or {}
        stored = [logs.get("dst_stderr"), logs.get("dst_trace")]
        if not logs:  # the kvm and xmig cases name no files: their standard names
            stored = [
                name for name in ("dst.stderr", "dst.trace.log") if (self.path / name).exists()
            ]
        found = [self.file(name) for name in stored]
        return [path for path in found if path is not None]

    def text(self, path: Path) -> str:
        data = path.read_bytes()
        if path.suffix == ".xz":
            data = lzma.decompress(data)
        return data.decode("utf-8", "replace")


def parse_bytes(data: bytes) -> list[LogEvent]:
    """Parse a whole log at once."""
    parser = LogParser()
    return parser.feed(data) + parser.close()


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def answer_key(case: str) -> dict[str, Any]:
    """``case``'s expected.json: computed from its saved streams, not from any log."""
    [found] = [each for each in CASES if each.name == case]
    return found.expected


def extra_registers(case: str, accel: Accel = Accel.TCG) -> dict[int, str]:
    """The registers ``case``'s answer key finds in the stream and not on the destination,
    sorted by id, with the names the catalogue gives them."""
    ids = sorted(int(text, 16) for text in answer_key(case)["only_in_stream"])
    return {kvm_id: describe(kvm_id, accel).name for kvm_id in ids}


def corpus_cases(group: str = "") -> list[CorpusCase]:
    """The cases of one group of the corpus (``""`` the main one, ``"xmig"``, ``"kvm"``): the
    bundled ones, then those only the shared corpus has."""
    found: dict[str, CorpusCase] = {}
    for root in (BUNDLED_CORPUS, SHARED_CORPUS):
        folder = root / group if group else root
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name not in found and (path / "expected.json").exists():
                expected = json.loads((path / "expected.json").read_text())
                found[path.name] = CorpusCase(path.name, path, expected)
    return [found[name] for name in sorted(found)]


CASES = corpus_cases()
XMIG_CASES = corpus_cases("xmig")
KVM_CASES = corpus_cases("kvm")


def require_corpus() -> None:
    if not CASES:
        pytest.fail(f"the QEMU corpus is not at {BUNDLED_CORPUS}: the checkout is incomplete")


def append_in_pieces(
    path: Path, content: bytes, rng: random.Random, largest: int, pauses: Sequence[float] = ()
) -> None:
    """Append ``content`` to ``path`` as a writer does: unbuffered pieces of 1 to ``largest``
    bytes, each followed by a pause drawn from ``pauses`` (none when empty)."""
    position = 0
    with path.open("ab", buffering=0) as out:
        while position < len(content):
            size = rng.randint(1, largest)
            out.write(content[position : position + size])
            position += size
            if pauses:
                time.sleep(rng.choice(pauses))


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Any:
    from reginspect.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run
