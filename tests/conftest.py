"""Shared fixtures: the real QEMU corpus beside the repository (../shared/corpus, or
$REGINSPECT_CORPUS), and the CLI runner."""

from __future__ import annotations

import json
import lzma
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
CORPUS = Path(os.environ.get("REGINSPECT_CORPUS", REPO.parent / "shared" / "corpus"))


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
        logs = self.expected["logs"]
        found = [self.file(logs.get("dst_stderr")), self.file(logs.get("dst_trace"))]
        return [path for path in found if path is not None]

    def text(self, path: Path) -> str:
        data = path.read_bytes()
        if path.suffix == ".xz":
            data = lzma.decompress(data)
        return data.decode("utf-8", "replace")


def corpus_cases() -> list[CorpusCase]:
    if not CORPUS.is_dir():
        return []
    return [
        CorpusCase(path.name, path, json.loads((path / "expected.json").read_text()))
        for path in sorted(CORPUS.iterdir())
        if (path / "expected.json").exists()
    ]


CASES = corpus_cases()


def require_corpus() -> None:
    if not CASES:
        pytest.fail(f"the QEMU corpus is not at {CORPUS}: clone the repository beside shared/")


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Any:
    from reginspect.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run
