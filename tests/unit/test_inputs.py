"""Compressed logs are read by content, whatever their names."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from reginspect.inputs import read_chunks
from tests.conftest import SAMPLES, answer_key

LOG = (SAMPLES / "11.1-max-to-cortex-a57.dst.stderr").read_bytes()
EXTRA = len(answer_key("11.1-max-to-cortex-a57")["only_in_stream"])  # what LOG names
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "bzip2": bz2.compress,
}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_logs_are_read_by_content(run_cli: Any, tmp_path: Path, kind: str) -> None:
    log = tmp_path / "rotated.log.1"  # logrotate names say nothing of the format
    log.write_bytes(COMPRESSORS[kind](LOG))
    status, out, err = run_cli("report", "--format", "json", str(log))
    assert (status, err) == (1, "")
    cpus = json.loads(out)["attempts"][0]["cpus"]
    assert cpus[0]["extra_count"] == EXTRA


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_concatenated_streams_are_read_whole(kind: str) -> None:
    """Two members or streams one after the other (`cat a.xz b.xz`), the first ending inside a
    read and inside a zstd slice: every byte of both, once (multi-stream .xz and .bz2 looped
    forever, a second .zst frame was lost)."""
    first = b"".join(b"%d@1.%d:ram_load_loop section 3\n" % (i, i) for i in range(40_000))
    second = LOG
    packed = COMPRESSORS[kind](first) + COMPRESSORS[kind](second)
    assert b"".join(read_chunks(io.BytesIO(packed), "two.log", 4096)) == first + second


def test_concatenated_gzip_members(run_cli: Any, tmp_path: Path) -> None:
    half = LOG.index(b"\n", len(LOG) // 2) + 1
    log = tmp_path / "two-members.gz"
    log.write_bytes(gzip.compress(LOG[:half]) + gzip.compress(LOG[half:]))
    status, out, _ = run_cli("report", "--format", "json", str(log))
    assert status == 1
    assert json.loads(out)["attempts"][0]["cpus"][0]["extra_count"] == EXTRA
