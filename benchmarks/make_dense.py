"""Register-dense and pathological QEMU logs, with a manifest of exactly what was put in.

    python benchmarks/make_dense.py OUT --kind KIND --count N [--seed S]

``dense`` (N failing attempts) and ``register-lines`` (attempts until N register lines) are
real QEMU 11.1 failures of the corpus (``DENSE_CASES``: several CPU pairs, TCG keys), concatenated
and re-stamped as one destination log kept across runs: each attempt is one case's destination
output, ``trace`` style (its standard error and trace lines merged, as ``-trace`` to standard
error prints them) or ``stderr`` style (its messages only), with or without
``-msg timestamp=on``. ``register-lines`` uses the ``stderr`` style of the cases that name
registers only: the log is then nearly all ``handle_cpreg_*`` lines. The last attempt always
names registers.

The pathological kinds take real line shapes to extremes:

- ``random-keys``: one attempt of N ``handle_cpreg_only_in_incoming_stream`` lines with random
  TCG keys (AArch64 and AArch32, repeats allowed, about 5% invalid like ``0x1002265b``);
- ``distinct-ids``: one attempt of N lines, every key different: the 163 840 valid TCG keys in
  walk order (one vCPU), the rest invalid keys, interleaved;
- ``attempts``: N attempts of one register line and the failure line each;
- ``cpus``: one attempt whose N register lines restart the walk order each time: N vCPUs.

``OUT.manifest.json`` (``reginspect.bench-dense/3``) records the attempts: per attempt the case,
style, timestamps, lines and per vCPU the counts of extra and missing ids (the id sets per case
under ``cases``); the pathological kinds record the totals a correct reader finds (vCPUs by walk
order: a new one when an extra id is not above the one before; the first ``MAX_CPUS`` of an
attempt and their registers, the rest counted in ``cpus_in_log`` only; the first
``MAX_CPU_MENTIONS`` register lines of a vCPU).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

REPO: Final = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: benchmarks/ is sys.path[0], not the repo
    sys.path.insert(0, str(REPO))

from benchmarks import make_log  # noqa: E402
from reginspect.model import MAX_CPU_MENTIONS, MAX_CPUS  # noqa: E402

# /3: the totals are what a reader that keeps MAX_CPUS vCPUs an attempt and MAX_CPU_MENTIONS
# register lines a vCPU finds.
SCHEMA: Final = "reginspect.bench-dense/3"
KINDS: Final = ("dense", "register-lines", "random-keys", "distinct-ids", "attempts", "cpus")
# Real failing migrations to a QEMU 11.1 destination, of several CPU pairs.
DENSE_CASES: Final = (
    "11.1-max-to-cortex-a57",
    "11.1-cortex-a57-to-max",
    "11.1-cortex-a35-to-cortex-a53",
    "11.1-neoverse-n1-to-cortex-a76",
    "11.1-cortex-a76-to-neoverse-n1",
    "x7.2-to-11.1-max",
    "x10.0-to-11.1-cortex-a57",
)
LAST_CASE: Final = "11.1-max-to-cortex-a57"  # names 88 extra registers: what the TUI shows
PROGRAM: Final = "qemu-system-aarch64: "
EXTRA_LINE: Final = (
    PROGRAM + "handle_cpreg_only_in_incoming_stream: system register 0x{key:08x} in the "
    "incoming stream but unknown on the destination: fail migration"
)
FAILED_LINE: Final = (
    PROGRAM + "load of migration failed: Invalid argument: error while loading state for "
    "instance 0x0 of device 'cpu': post load hook failed for: cpu, version_id: 22, "
    "minimum_version: 22, ret: -1"
)
REGISTER_EVENTS: Final = ("handle_cpreg_", "tolerate_cpreg_")
Style = Literal["trace", "stderr"]
# Share of dense attempts whose traces went to standard error too (about 9 KB an attempt then).
TRACED: Final = 0.15


# -- TCG keys, as QEMU 11.1 prints them -----------------------------------------------------------

AA64_KEYS: Final = range(0x1013_8000, 0x1014_0000)  # op0 2 and 3: the system registers
# AArch32 cp14 and cp15, secure and non-secure (bit 29), 32-bit accesses (bit 15 clear).
AA32_BASES: Final = (0x000E_0000, 0x000F_0000, 0x200E_0000, 0x200F_0000)


def valid_keys() -> list[int]:
    """Every key of a system or coprocessor register QEMU can print, in walk (id) order."""
    keys = [base | index for base in AA32_BASES for index in range(0x8000)]
    keys += AA64_KEYS
    return sorted(keys, key=make_log.key_to_id)


def invalid_key(rng: random.Random) -> int:
    """A key of no register: AArch64-flagged with a group other than system registers (as
    ``0x1002265b``), or an AArch32 one of a coprocessor other than 14 and 15."""
    if rng.random() < 0.5:
        group = rng.choice([g for g in range(0x100) if g != 0x13])
        return 0x1000_0000 | group << 16 | rng.getrandbits(16)
    return rng.randrange(1, 14) << 16 | rng.getrandbits(15)


# -- writing --------------------------------------------------------------------------------------


class Output:
    """Lines to the log file in big pieces, counted, hashed."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")
        self._digest = hashlib.sha256()
        self.lines = 0
        self.size = 0

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._file.write(data)
        self.lines += data.count(b"\n")
        self.size += len(data)

    def emitter(self, *, timestamps: bool, clock: int) -> make_log.Emitter:
        return make_log.Emitter(
            self.write,
            version="11.1",
            timestamps=timestamps,
            pid=0,
            clock=clock,
            line=self.lines,
            offset=self.size,
        )

    def close(self) -> str:
        self._file.close()
        return self._digest.hexdigest()


@dataclass
class CpuInfo:
    cpu: int
    extra: int  # ids in the stream, unknown on the destination, the log names
    missing: int  # ids the destination expects, the stream lacks, the log names
    stream_count: int | None = None  # as the log prints them (cpu_post_load), else null
    destination_count: int | None = None


@dataclass
class AttemptInfo:
    index: int
    case: str
    outcome: str  # fail
    style: Style
    timestamps: bool
    first_line: int
    last_line: int
    offset: int
    length: int
    register_lines: int
    cpus: list[CpuInfo]


@dataclass
class Manifest:
    schema: str
    kind: str
    file: str
    count: int
    seed: int
    size: int
    lines: int
    sha256: str
    register_lines: int
    # Per corpus case: the answer key's ids its log names (as make_log's manifest gives them).
    cases: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    attempts: list[AttemptInfo] = field(default_factory=list)
    # The pathological kinds: what a correct reader finds, in totals.
    totals: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"


def _lines_of(case: make_log.Case, style: Style) -> list[make_log.Line]:
    return [line for line in case.lines if style == "trace" or line.kind == "msg"]


def _names_registers(case: make_log.Case) -> bool:
    found = make_log.findings(case, case.lines)
    return bool(found.extra or found.missing)


def _real_attempts(
    out: Output, manifest: Manifest, rng: random.Random, *, until: Callable[[Manifest], bool]
) -> None:
    """Corpus failures one after another until ``until`` says the log is full; the last one
    names registers."""
    cases = [make_log.load_case(name) for name in DENSE_CASES]
    if manifest.kind == "register-lines":
        cases = [case for case in cases if _names_registers(case)]
    last = make_log.load_case(LAST_CASE)
    clock = make_log.EPOCH * 1_000_000
    order: list[make_log.Case] = []
    while True:
        if not order:
            order = list(cases)
            rng.shuffle(order)
        finishing = until(manifest)
        case = last if finishing else order.pop()
        traced = manifest.kind == "dense" and rng.random() < TRACED
        style: Style = "trace" if traced else "stderr"
        timestamps = rng.random() < 0.5
        lines = _lines_of(case, style)
        emitter = out.emitter(timestamps=timestamps, clock=clock)
        first_line, offset = out.lines + 1, out.size
        for number, line in enumerate(lines):
            step = line.dt if line.dt is not None else 2 + number % 7
            emitter.emit(line.kind, line.text, step)
        emitter.flush()
        found = make_log.findings(case, lines)
        manifest.cases.setdefault(case.name, {"extra": found.extra, "missing": found.missing})
        registers = sum(1 for line in lines if _is_register_line(line.text))
        manifest.register_lines += registers
        manifest.attempts.append(
            AttemptInfo(
                index=len(manifest.attempts),
                case=case.name,
                outcome="fail",
                style=style,
                timestamps=timestamps,
                first_line=first_line,
                last_line=out.lines,
                offset=offset,
                length=out.size - offset,
                register_lines=registers,
                cpus=[
                    CpuInfo(
                        0,
                        len(found.extra),
                        len(found.missing),
                        found.stream_count,
                        found.destination_count,
                    )
                ],
            )
        )
        # The next QEMU starts a few seconds later.
        clock = emitter.clock + rng.randrange(1, 30) * 1_000_000
        if finishing:
            return


def _is_register_line(text: str) -> bool:
    body = text.removeprefix(PROGRAM).removeprefix("warning: ")
    return body.startswith(REGISTER_EVENTS)


def _stamped(out: Output, texts: Iterator[str], *, timestamps: bool, seed: int) -> None:
    """Message lines (QEMU's error_report) from ``texts``, stamped as 11.1 does: 5–40 µs apart."""
    rng = random.Random(seed)
    emitter = out.emitter(timestamps=timestamps, clock=make_log.EPOCH * 1_000_000)
    for text in texts:
        emitter.emit("msg", text, rng.randrange(5, 40))
    emitter.flush()


def _random_keys(out: Output, manifest: Manifest, rng: random.Random) -> None:
    keys = valid_keys()
    texts: list[str] = []
    cpus = valid = kept = mentions = 0
    previous = -1
    for _ in range(manifest.count):
        if rng.random() < 0.05:
            texts.append(EXTRA_LINE.format(key=invalid_key(rng)))
            continue
        key = rng.choice(keys)
        kvm_id = make_log.key_to_id(key)
        if kvm_id <= previous or not cpus:
            cpus += 1
            mentions = 0
        previous = kvm_id
        valid += 1
        mentions += 1
        kept += cpus <= MAX_CPUS and mentions <= MAX_CPU_MENTIONS
        texts.append(EXTRA_LINE.format(key=key))
    texts.append(FAILED_LINE)
    _stamped(out, iter(texts), timestamps=True, seed=manifest.seed)
    manifest.register_lines = manifest.count
    manifest.totals = {
        "attempts": 1,
        "cpus": min(cpus, MAX_CPUS),
        "cpus_in_log": cpus,
        "extra": kept,  # within a vCPU the walk is ascending: every valid line is a new id
        "invalid_lines": manifest.count - valid,
    }


def _distinct_ids(out: Output, manifest: Manifest, rng: random.Random) -> None:
    keys = valid_keys()[: manifest.count]
    invalid: set[int] = set()
    while len(invalid) < manifest.count - len(keys):
        invalid.add(invalid_key(rng))
    bad = sorted(invalid)
    rng.shuffle(bad)
    # The invalid keys spread evenly between the valid ones, which stay in walk order.
    share = len(bad) / max(1, len(keys))

    def texts() -> Iterator[str]:
        taken = 0
        for index, key in enumerate(keys):
            while taken < int((index + 1) * share):
                yield EXTRA_LINE.format(key=bad[taken])
                taken += 1
            yield EXTRA_LINE.format(key=key)
        for key in bad[taken:]:
            yield EXTRA_LINE.format(key=key)
        yield FAILED_LINE

    _stamped(out, texts(), timestamps=True, seed=manifest.seed)
    manifest.register_lines = manifest.count
    manifest.totals = {
        "attempts": 1,
        "cpus": 1,
        "extra": min(len(keys), MAX_CPU_MENTIONS),
        "ids_in_log": len(keys),
        "invalid_lines": len(bad),
    }


def _attempts(out: Output, manifest: Manifest, rng: random.Random) -> None:
    keys = list(AA64_KEYS)

    def texts() -> Iterator[str]:
        for _ in range(manifest.count):
            yield EXTRA_LINE.format(key=rng.choice(keys))
            yield FAILED_LINE

    _stamped(out, texts(), timestamps=False, seed=manifest.seed)
    manifest.register_lines = manifest.count
    manifest.totals = {"attempts": manifest.count, "cpus": manifest.count, "extra": manifest.count}


def _cpus(out: Output, manifest: Manifest, rng: random.Random) -> None:
    # Every vCPU lacks the same register on the destination: the id never goes up, so each
    # line starts the next vCPU's walk.
    key = rng.choice(list(AA64_KEYS))
    texts = (EXTRA_LINE.format(key=key) for _ in range(manifest.count))
    _stamped(out, iter([*texts, FAILED_LINE]), timestamps=False, seed=manifest.seed)
    manifest.register_lines = manifest.count
    kept = min(manifest.count, MAX_CPUS)
    manifest.totals = {"attempts": 1, "cpus": kept, "cpus_in_log": manifest.count, "extra": kept}


def generate(path: Path, kind: str, count: int, *, seed: int = 0) -> Manifest:
    """Write the log of ``kind`` to ``path`` and its manifest beside it."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if count < 1:
        raise ValueError("the count must be at least 1")
    rng = random.Random(f"reginspect-dense/{kind}/{seed}")
    manifest = Manifest(SCHEMA, kind, path.name, count, seed, 0, 0, "", 0)
    out = Output(path)
    try:
        if kind == "dense":
            _real_attempts(out, manifest, rng, until=lambda m: len(m.attempts) >= count - 1)
        elif kind == "register-lines":
            lines = _lines_of(make_log.load_case(LAST_CASE), "stderr")
            last = sum(1 for line in lines if _is_register_line(line.text))
            _real_attempts(out, manifest, rng, until=lambda m: m.register_lines >= count - last)
        else:
            {
                "random-keys": _random_keys,
                "distinct-ids": _distinct_ids,
                "attempts": _attempts,
                "cpus": _cpus,
            }[kind](out, manifest, rng)
    finally:
        manifest.sha256 = out.close()
    manifest.size, manifest.lines = out.size, out.lines
    Path(f"{path}.manifest.json").write_text(manifest.to_json())
    return manifest


def load_manifest(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(Path(f"{path}.manifest.json").read_text())
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a register-dense or pathological log.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--count", type=int, required=True, help="attempts, lines or ids")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        manifest = generate(args.out, args.kind, args.count, seed=args.seed)
    except ValueError as error:
        print(f"make_dense: {error}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: {manifest.size} bytes, {manifest.lines} lines, "
        f"{len(manifest.attempts) or manifest.totals.get('attempts', 0)} attempts, "
        f"{manifest.register_lines} register lines in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
