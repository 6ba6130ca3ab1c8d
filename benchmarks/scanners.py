"""Compare the parser's candidate-line search with multi-needle libraries, on one big log.

    .venv/bin/python benchmarks/scanners.py [--log PATH] [--runs 3] [--skip-report] [--json PATH]

For each finder (today's ``memmem`` passes, ``ahocorasick-rs``, Hyperscan, pyahocorasick) and
for today's ten needles and eighteen (ten more expected soon, see ``FUTURE_NEEDLES``):

- the CPU time of ``candidate_lines`` (line starts of the lines holding a needle, then the newline
  count between them) over the log in 4 MiB pieces, as ``parse_region`` feeds the parser, and
  over the whole log as one buffer; rates are MB/s per core (bytes / CPU seconds);
- ``reginspect report --format json`` on the log with that finder in its region workers, against
  ``grep -c cpu_post_load``: best wall time of interleaved rounds, CPU time of the process tree,
  and the report checked to be the same as with the default finder.

Every finder must find the same line starts: a finder that does not is marked WRONG. The log is
the ``run.py`` one (``make_log`` 1 GiB, mixed, seed 0), made when missing. Hyperscan and
pyahocorasick are measured when installed (``pip install hyperscan pyahocorasick``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: benchmarks/ is sys.path[0], not the repo
    sys.path.insert(0, str(REPO))

from benchmarks import run  # noqa: E402
from parsers.bytesearch import LineFinder, MemmemFinder, check_needles, clamp  # noqa: E402
from parsers.logparse import candidate_lines  # noqa: E402
from parsers.logshapes import NEEDLES  # noqa: E402
from reginspect.scan import AhoCorasickFinder  # noqa: E402

MB: Final = 1_000_000
PIECE: Final = 4 << 20  # what parse_region reads at a time
# Lines the parser is expected to look for soon: each would be one more memmem pass.
FUTURE_NEEDLES: Final = (
    b"Could not set register",
    b"Failed to put registers",
    b"Missing section footer",
    b"Unknown savevm section",
    b"get-reg-list",
    b"KVM_GET_REG_LIST",
    b"error while loading state",
)
NEEDLE_SETS: Final = {
    len(NEEDLES): NEEDLES,
    len(NEEDLES + FUTURE_NEEDLES): NEEDLES + FUTURE_NEEDLES,
}
TODAY: Final = len(NEEDLES)


def _line_starts_of(buf: bytes, start: int, end: int, hits: Iterable[int]) -> list[int]:
    """Line starts from match starts in ascending order, once per line."""
    found: list[int] = []
    line_end = -1
    for at in hits:
        if at < line_end:
            continue
        found.append(max(buf.rfind(b"\n", start, at) + 1, start))
        line_end = buf.find(b"\n", at, end)
        if line_end == -1:
            line_end = end
    return found


class HyperscanFinder:
    """Hyperscan's literal compiler, one block-mode scan a piece, one Python call a match."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        import hyperscan

        self.needles = check_needles(needles)
        self._widths = [len(needle) for needle in self.needles]
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(
            expressions=list(self.needles),
            ids=list(range(len(self.needles))),
            elements=len(self.needles),
            flags=0,
            literal=True,
        )

    def line_starts(self, buf: bytes, start: int, end: int) -> list[int]:
        start, end = clamp(buf, start, end)
        hits: list[int] = []
        widths = self._widths

        def matched(needle: int, _from: int, to: int, _flags: int, _context: object) -> None:
            hits.append(start + to - widths[needle])

        # The stub says str or bytes; the C code takes any buffer, so the piece is not copied.
        piece = memoryview(buf)[start:end]
        self._database.scan(piece, match_event_handler=matched)  # type: ignore[type-var]
        return _line_starts_of(buf, start, end, sorted(hits))


class PyAhoCorasickFinder:
    """pyahocorasick's automaton: its wheels search ``str`` only, so each piece is decoded."""

    def __init__(self, needles: Iterable[bytes]) -> None:
        import ahocorasick

        self.needles = check_needles(needles)
        self._automaton = ahocorasick.Automaton()
        for needle in self.needles:
            self._automaton.add_word(needle.decode("latin-1"), len(needle))
        self._automaton.make_automaton()

    def line_starts(self, buf: bytes, start: int, end: int) -> list[int]:
        start, end = clamp(buf, start, end)
        text = buf[start:end].decode("latin-1")
        hits = sorted(start + last + 1 - width for last, width in self._automaton.iter(text))
        return _line_starts_of(buf, start, end, hits)


FINDERS: Final[dict[str, tuple[str | None, Callable[[tuple[bytes, ...]], LineFinder]]]] = {
    "memmem (glibc, one pass a needle)": (None, MemmemFinder),
    "ahocorasick-rs": ("ahocorasick-rs", AhoCorasickFinder),
    "hyperscan": ("hyperscan", HyperscanFinder),
    "pyahocorasick": ("pyahocorasick", PyAhoCorasickFinder),
}


def library_version(distribution: str | None) -> str | None:
    if distribution is None:
        return os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "libc"
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- the search alone ---------------------------------------------------------------------------


def pieces(path: Path) -> list[tuple[bytes, int, int]]:
    """The log as ``parse_region`` reads it: 4 MiB reads, each searched over its complete lines
    (the parser's ``_scan`` bounds: after the first newline, up to the last)."""
    found: list[tuple[bytes, int, int]] = []
    with path.open("rb") as stream:
        while chunk := stream.read(PIECE):
            first = chunk.find(b"\n") + 1 if found else 0
            found.append((chunk, first, chunk.rfind(b"\n") + 1))
    return found


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def search_once(finder: LineFinder, parts: Sequence[tuple[bytes, int, int]]) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), _cpu()
    starts: list[int] = []
    lines = 0
    for buf, start, end in parts:
        found, newlines = candidate_lines(buf, 1, 0, start, end, finder=finder)
        starts.extend(candidate.line + lines for candidate in found)
        lines += newlines
    return {
        "wall_s": time.perf_counter() - wall,
        "cpu_s": _cpu() - cpu,
        "candidates": len(starts),
        "lines": lines,
        "digest": hash(tuple(starts)),
    }


def bench_search(
    path: Path, finders: dict[str, LineFinder], runs: int, *, whole: bool
) -> dict[str, dict[str, Any]]:
    """Each finder ``runs`` times, finders interleaved, over the log in pieces or as one buffer."""
    if whole:
        data = path.read_bytes()
        parts = [(data, 0, len(data))]
    else:
        parts = pieces(path)
    size = sum(end - start for _, start, end in parts)
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in finders}
    for _ in range(runs):
        for name, finder in finders.items():
            measured[name].append(search_once(finder, parts))
    out: dict[str, dict[str, Any]] = {}
    for name, results in measured.items():
        best_cpu = min(r["cpu_s"] for r in results)
        out[name] = {
            "cpu_best_s": round(best_cpu, 3),
            "wall_best_s": round(min(r["wall_s"] for r in results), 3),
            "cpu_runs_s": [round(r["cpu_s"], 3) for r in results],
            "mb_per_s_per_core": round(size / best_cpu / MB),
            "candidates": results[0]["candidates"],
            "lines": results[0]["lines"],
            "digest": results[0]["digest"],
        }
    return out


# -- the whole report ---------------------------------------------------------------------------

# Runs ``reginspect report`` with the named finder in its region workers (fork()ed: they inherit
# the replaced function).
WRAPPER: Final = """
import sys
sys.path.insert(0, {repo!r})
from benchmarks import scanners
from reginspect import loading
finder = scanners.FINDERS[sys.argv[1]][1](scanners.NEEDLE_SETS[int(sys.argv[2])])
loading.line_finder = lambda: finder
from reginspect.cli import main
sys.exit(main(sys.argv[3:]))
"""


def bench_report(path: Path, names: Sequence[str], needles: int, runs: int) -> dict[str, Any]:
    wrapper = [sys.executable, "-c", WRAPPER.format(repo=str(REPO))]
    report = ["report", "--format", "json", str(path)]
    commands: dict[str, tuple[list[str], Sequence[int]]] = {
        name: ([*wrapper, name, str(needles), *report], (0, 1)) for name in names
    }
    commands["grep"] = (["grep", "-c", "cpu_post_load", str(path)], (0, 1))
    times, warm = run.best_of(commands, runs)
    reference = warm[names[0]].stdout
    grep_wall = min(t.wall for t in times["grep"])
    grep_cpu = min(t.cpu for t in times["grep"])
    out: dict[str, Any] = {
        "grep": {"wall_best_s": round(grep_wall, 3), "cpu_best_s": round(grep_cpu, 3)}
    }
    for name in names:
        wall = min(t.wall for t in times[name])
        cpu = min(t.cpu for t in times[name])
        out[name] = {
            "wall_best_s": round(wall, 3),
            "cpu_best_s": round(cpu, 3),
            "wall_runs_s": [round(t.wall, 3) for t in times[name]],
            "over_grep": round(wall / grep_wall, 2),
            "cpu_over_grep": round(cpu / grep_cpu, 2),
            "same_report": warm[name].stdout == reference,
        }
    return out


# -- the run ------------------------------------------------------------------------------------


def available() -> dict[str, str]:
    """The finders that load here, with their library's version."""
    found: dict[str, str] = {}
    for name, (distribution, make) in FINDERS.items():
        try:
            make(NEEDLES)
        except ImportError:
            continue
        found[name] = library_version(distribution) or "?"
    return found


def table(result: dict[str, Any]) -> str:
    rows = [
        (
            "finder",
            "version",
            "MB/s/core, 10 (4 MiB / 1 GiB)",
            "MB/s/core, 18 (4 MiB / 1 GiB)",
            "report/grep 10 (CPU)",
            "report/grep 18 (CPU)",
        )
    ]
    for name, version in result["finders"].items():
        cells = [name, version]
        for needles in NEEDLE_SETS:
            search = result["search"][str(needles)]
            piece, whole = search["pieces"][name], search["whole"][name]
            wrong = "" if search["agree"] else " WRONG"
            cells.append(f"{piece['mb_per_s_per_core']:,} / {whole['mb_per_s_per_core']:,}{wrong}")
        for needles in NEEDLE_SETS:
            report = result.get("report", {}).get(str(needles), {}).get(name)
            if report is None:
                cells.append("—")
                continue
            same = "" if report["same_report"] else " DIFFERENT"
            cells.append(f"{report['over_grep']:.2f}× ({report['cpu_over_grep']:.2f}×){same}")
        rows.append(tuple(cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    grep = result.get("report", {}).get(str(TODAY), {}).get("grep")
    if grep:
        lines.append(
            f"grep -c cpu_post_load: {grep['wall_best_s']:.3f} s wall, "
            f"{grep['cpu_best_s']:.3f} s CPU (best of {result['runs']})"
        )
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--log", type=Path, help="default: run.py's 1 GiB log (made if missing)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-report", action="store_true", help="the search alone")
    parser.add_argument("--json", type=Path, help="result file (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.log is None:
        run.CACHE.mkdir(parents=True, exist_ok=True)
        args.log, _, _ = run.cached_log(run.CACHE, 1 << 30, version="mixed", seed=0, failures=3)
    result: dict[str, Any] = {
        "schema": "reginspect.bench-scanners/1",
        "log": str(args.log),
        "size": args.log.stat().st_size,
        "runs": args.runs,
        "machine": run.machine(),
        "finders": available(),
        "search": {},
        "report": {},
    }
    names = list(result["finders"])
    for needles, chosen in NEEDLE_SETS.items():
        print(f"… search, {needles} needles", file=sys.stderr, flush=True)
        finders = {name: FINDERS[name][1](chosen) for name in names}
        pieces_part = bench_search(args.log, finders, args.runs, whole=False)
        whole_part = bench_search(args.log, finders, args.runs, whole=True)
        # Pieces leave out the lines cut at their edges: agreement is within each way of reading.
        agree = all(
            len({(r["candidates"], r["lines"], r["digest"]) for r in part.values()}) == 1
            for part in (pieces_part, whole_part)
        )
        result["search"][str(needles)] = {
            "agree": agree,
            "pieces": pieces_part,
            "whole": whole_part,
        }
        if not args.skip_report:
            print(f"… report, {needles} needles", file=sys.stderr, flush=True)
            result["report"][str(needles)] = bench_report(args.log, names, needles, args.runs)
    result["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = args.json or run.RESULTS / f"scanners-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    load = result["machine"]
    print(
        f"{result['size'] / (1 << 20):.0f} MiB log; {load['cpus']} CPUs, load "
        f"{load['load_before'][0]:.2f} → {load['load_after'][0]:.2f}; best of {args.runs}"
    )
    print(table(result))
    print(f"\nresult: {path}")
    agree = all(part["agree"] for part in result["search"].values())
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
