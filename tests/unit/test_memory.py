"""`report` on a 100 MB log stays under 100 MB of resident memory (peak of every process)."""

from __future__ import annotations

import lzma
import subprocess
import sys
from pathlib import Path

from tests.conftest import CASES, require_corpus

LIMIT_MB = 100


def test_report_on_100mb_log_stays_under_100mb_rss(tmp_path: Path) -> None:
    require_corpus()
    noisy = next(case for case in CASES if case.name == "11.1-cortex-a72-to-cortex-a72")
    block = lzma.decompress((noisy.path / "dst.stderr.xz").read_bytes())
    failing = next(case for case in CASES if case.name == "11.1-max-to-cortex-a57")
    log = tmp_path / "big.log"
    with log.open("wb") as sink:
        while sink.tell() < 100 << 20:
            sink.write(block)
        sink.write((failing.path / "dst.stderr").read_bytes())
    # A fresh wrapper process: its children are only the report and its workers, so the
    # peak below is theirs, not that of an earlier child of the test process.
    wrapper = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "sys.stdout.buffer.write(done.stdout)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(done.returncode)\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            wrapper,
            sys.executable,
            "-m",
            "reginspect",
            "report",
            "--format",
            "json",
            str(log),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert b'"extra_count": 88' in done.stdout
    peak_mb = int(done.stderr.split()[-1]) / 1024
    assert peak_mb < LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
