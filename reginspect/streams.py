"""Two register lists side by side: saved migration streams or JSON register lists, as an Attempt.

Each side is a QEMU migration stream (plain or .gz/.xz/.zst/.bz2, recognised by content), a
JSON register list (``reginspect decode --json`` / ``probe --json``: objects with ``"id"`` and
optional ``"value"`` and ``"cpu"``), or the list the kernel's KVM selftest prints on a host
(``get-reg-list --list``: ``parsers.getreglist``), reduced to what QEMU migrates. The comparison
becomes an ``Attempt`` built from streams, so the report, its renderers and the TUI show it like
an attempt read from a log. Groups a list does not describe (get-reg-list shows no DEMUX
register) are left out of a comparison with it, with a note.

Outcome: two saved lists cannot say whether a destination QEMU would load the stream (extra
registers may be tolerated, a value may be accepted), so the outcome stays ``unknown`` even when
the lists differ: the differences themselves are the finding, and the exit status says so.
"""

from __future__ import annotations

import enum
import json
import mmap
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final

from parsers import regids
from parsers.catalogue import describe
from parsers.logevents import MessageKind, Status
from parsers.regids import Accel, RegisterIdError, format_id
from parsers.stream import Buffer, looks_like_stream, parse_stream
from reginspect.analyze import id_accel
from reginspect.errors import UserError
from reginspect.inputs import CHUNK_SIZE, compression_of, describe_source, open_binary, read_chunks
from reginspect.model import Attempt, CpuState, LineRef, Origin, ProcessInfo, next_revision

SOURCE: Final = "streams"

# Decompressed data beyond this goes to a temporary file, mapped, instead of memory.
SPILL_SIZE: Final = 64 << 20
# A JSON register list of every register of many CPUs is a few MB at most.
MAX_LIST_SIZE: Final = 64 << 20
# QEMU migrates every register KVM lists but the core and SVE ones, which travel in the cpu
# section's own fields (kvm_arm_reg_syncs_via_cpreg_list()).
NOT_MIGRATED_GROUPS: Final = frozenset({regids.GROUP_CORE, regids.GROUP_SVE})
# The groups `get-reg-list --list` shows whenever the host has them: it leaves DEMUX out
# (--list-filtered prints those alone).
GET_REG_LIST_GROUPS: Final = frozenset({regids.GROUP_SYSREG, regids.GROUP_FW, regids.GROUP_FW_FEAT})
GROUP_NAMES: Final = {
    regids.GROUP_DEMUX: "DEMUX (CCSIDR)",
    regids.GROUP_FW: "firmware",
    regids.GROUP_SYSREG: "system",
}


class ListKind(enum.StrEnum):
    """What a register list was read from."""

    STREAM = "stream"  # a saved migration stream: ids and values
    LIST = "list"  # a list of ids (QEMU's cpreg list, a probe's output)
    GET_REG_LIST = "get-reg-list"  # the kernel selftest's get-reg-list --list output

    @property
    def heading(self) -> str:
        return _LIST_HEADINGS[self]


_LIST_HEADINGS: Final = {
    ListKind.STREAM: "saved stream",
    ListKind.LIST: "register list",
    ListKind.GET_REG_LIST: "get-reg-list",
}


@dataclass(slots=True)
class RegisterList:
    """One side: per CPU instance, register id -> value (None when a list gives no value)."""

    name: str
    kind: ListKind
    cpus: dict[int, dict[int, int | None]]
    machine: str | None = None
    problems: list[str] = field(default_factory=list)
    per_cpu: bool = True  # False: a list naming no CPU, which stands for every CPU
    # The register groups the list describes (None: all); a register of another group may
    # exist on that host all the same (get-reg-list --list shows no DEMUX register).
    covers: frozenset[int] | None = None

    def describes(self, kvm_id: int) -> bool:
        return self.covers is None or (kvm_id >> 16) & 0xFFF in self.covers

    def for_cpus(self, instances: set[int]) -> dict[int, dict[int, int | None]]:
        """The registers of each CPU; a list naming no CPU describes each of ``instances``."""
        if self.per_cpu or not instances:
            return self.cpus
        registers = self.cpus.get(0, {})
        return {instance: registers for instance in instances}

    @property
    def accel(self) -> Accel:
        if self.kind is ListKind.GET_REG_LIST:
            return Accel.KVM  # the kernel's own list
        ids = (kvm_id for registers in self.cpus.values() for kvm_id in registers)
        kvm = any(id_accel(kvm_id) is Accel.KVM for kvm_id in ids)
        return Accel.KVM if kvm else Accel.TCG


# -- reading -----------------------------------------------------------------------------------


def _read_all(path: str) -> tuple[Buffer, IO[bytes] | None]:
    """The whole decompressed input: a map of a plain file, else memory or a mapped temp file.

    Returns the buffer and the file to close after use (None for memory).
    """
    stream = open_binary(path)
    try:
        if path != "-" and os.path.isfile(path):
            head = stream.read(8)
            if compression_of(head) is None:
                size = os.fstat(stream.fileno()).st_size
                if size == 0:
                    return b"", None
                try:
                    return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ), None
                except (OSError, ValueError):
                    pass  # not mappable (a special file system): read it instead
            stream.seek(0)
        memory = bytearray()
        spill: IO[bytes] | None = None
        for chunk in read_chunks(stream, path, CHUNK_SIZE):
            if spill is not None:
                spill.write(chunk)
                continue
            memory += chunk
            if len(memory) > SPILL_SIZE:
                spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
                spill.write(memory)
                memory = bytearray()
        if spill is None:
            return memory, None
        spill.flush()
        return mmap.mmap(spill.fileno(), 0, access=mmap.ACCESS_READ), spill
    finally:
        if path != "-":
            stream.close()


def load_register_list(path: str) -> RegisterList:
    """Read one side; a file that is neither form, or is damaged, is a UserError naming it."""
    name = describe_source(path)
    data, spill = _read_all(path)
    try:
        head = bytes(data[:64]).lstrip()
        if head[:1] in (b"[", b"{"):
            return _from_json(name, data)
        if len(data) and not looks_like_stream(bytes(data[:4])):
            return _from_get_reg_list(name, data)
        return _from_stream(name, data)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
        if spill is not None:
            spill.close()


def _from_stream(name: str, data: Buffer) -> RegisterList:
    contents = parse_stream(data)
    error = contents.error
    if error is not None:
        raise UserError(f"{name}: {error.message}")
    if not contents.cpus:
        raise UserError(f"{name}: the stream holds no Arm CPU register list.")
    cpus: dict[int, dict[int, int | None]] = {
        cpu.instance: dict(zip(cpu.indexes, cpu.values, strict=True)) for cpu in contents.cpus
    }
    for cpu in contents.cpus:
        bad = _first_invalid(cpu.indexes)
        if bad is not None:
            raise UserError(
                f"{name}: cpu {cpu.instance} (section at offset {cpu.offset}) carries "
                f"{format_id(bad)}, which is no Arm register id: the stream is damaged."
            )
    problems = [f"{name}: {problem.message}" for problem in contents.problems]
    return RegisterList(name, ListKind.STREAM, cpus, contents.machine, problems)


def _first_invalid(ids: Iterable[int]) -> int | None:
    """The first id the catalogue cannot describe: none QEMU writes, so damage or a wrong list."""
    for kvm_id in ids:
        try:
            describe(kvm_id)
        except RegisterIdError:
            return kvm_id
    return None


def _number(value: Any) -> int | None:
    """A 64-bit unsigned number from JSON: an integer, or a string such as "0x6030…"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip().replace("_", ""), 0)
        except ValueError:
            return None
    if isinstance(value, int) and 0 <= value < 1 << 64:
        return value
    return None


def _from_json(name: str, data: Buffer) -> RegisterList:
    if len(data) > MAX_LIST_SIZE:
        raise UserError(f"{name}: too large for a JSON register list ({len(data)} bytes).")
    try:
        tree = json.loads(bytes(data))
    except (ValueError, RecursionError) as error:
        raise UserError(f"{name}: not valid JSON ({error}).") from None
    items = tree.get("registers") if isinstance(tree, dict) else tree
    if not isinstance(items, list):
        raise UserError(
            f'{name}: a JSON register list is a list of objects with "id" and optional "value".'
        )
    cpus: dict[int, dict[int, int | None]] = {}
    problems: list[str] = []
    for index, item in enumerate(items):
        raw_id = item.get("id") if isinstance(item, dict) else item
        kvm_id = _number(raw_id)
        if kvm_id is None:
            raise UserError(
                f'{name}: item {index} of the register list has no valid "id" (a 64-bit register '
                "id such as 0x603000000013c103)."
            )
        value: int | None = None
        cpu = 0
        if isinstance(item, dict):
            if item.get("value") is not None:
                value = _number(item["value"])
                if value is None:
                    raise UserError(
                        f'{name}: item {index} of the register list has a "value" that is not a '
                        "64-bit number."
                    )
            if item.get("cpu") is not None:
                found = _number(item["cpu"])
                if found is None or found >= 1 << 31:
                    raise UserError(f'{name}: item {index} has an invalid "cpu".')
                cpu = found
        if _first_invalid((kvm_id,)) is not None:
            raise UserError(
                f"{name}: item {index} of the register list, {format_id(kvm_id)}, is no Arm "
                "register id (0x60… for arm64, 0x40… for 32-bit Arm)."
            )
        registers = cpus.setdefault(cpu, {})
        if kvm_id in registers:
            problems.append(f"{name}: register {format_id(kvm_id)} is listed twice; first kept.")
            continue
        registers[kvm_id] = value
    if not cpus:
        raise UserError(f"{name}: the register list is empty.")
    per_cpu = any(isinstance(item, dict) and item.get("cpu") is not None for item in items)
    return RegisterList(name, ListKind.LIST, cpus, None, problems, per_cpu)


def _from_get_reg_list(name: str, data: Buffer) -> RegisterList:
    """`get-reg-list --list` (and --list-filtered) output: the registers QEMU would migrate."""
    from parsers.getreglist import parse_get_reg_list  # only for this kind of input

    neither = (
        f'{name}: neither a QEMU migration stream (no "QEVM" magic at offset 0), a JSON register '
        "list, nor the output of the kernel's KVM selftest `get-reg-list --list`."
    )
    if len(data) > MAX_LIST_SIZE or b"\0" in bytes(data[:4096]):
        raise UserError(neither)
    parsed = parse_get_reg_list(bytes(data).decode("utf-8", "replace"))
    if parsed.test_output:
        raise UserError(
            f"{name}: this is get-reg-list's test output, which lists only the registers that "
            "differ from its blessed list; run it with --config=CONFIG --list for the host's list."
        )
    if not parsed.register_lines:
        raise UserError(neither)
    problems = [f"{name}: line {p.line}: {p.message}" for p in parsed.problems]
    kept = [kvm_id for kvm_id in parsed.ids if (kvm_id >> 16) & 0xFFF not in NOT_MIGRATED_GROUPS]
    left = len(parsed.ids) - len(kept)
    if left:
        problems.append(
            f"{name}: {left} core and SVE registers left out: QEMU migrates them in the cpu "
            "section's own fields, not in its register list."
        )
    unknown = [kvm_id for kvm_id in kept if _first_invalid((kvm_id,)) is not None]
    if unknown:  # a bare 0x… id whose size field no register of its group has
        problems.append(f"{name}: {', '.join(map(format_id, unknown))}: no Arm register; left out.")
        kept = [kvm_id for kvm_id in kept if kvm_id not in unknown]
    if not kept:
        raise UserError(f"{name}: the list holds no register QEMU migrates in its register list.")
    groups = {(kvm_id >> 16) & 0xFFF for kvm_id in kept}
    covers = GET_REG_LIST_GROUPS | (groups & {regids.GROUP_DEMUX})
    cpus: dict[int, dict[int, int | None]] = {0: dict.fromkeys(kept)}
    return RegisterList(name, ListKind.GET_REG_LIST, cpus, None, problems, False, frozenset(covers))


def common_cover(lists: Iterable[RegisterList]) -> frozenset[int] | None:
    """The register groups every one of ``lists`` describes (None: all of them)."""
    covers = [register_list.covers for register_list in lists if register_list.covers is not None]
    if not covers:
        return None
    return frozenset.intersection(*covers)


def cover_note(lists: Sequence[RegisterList]) -> str | None:
    """What a comparison of ``lists`` leaves out, in one sentence (None: nothing)."""
    covered = common_cover(lists)
    if covered is None:
        return None
    shown = {(kvm_id >> 16) & 0xFFF for register_list in lists for kvm_id in _ids(register_list)}
    left = sorted(shown - covered)
    if not left:
        return None
    partial = ", ".join(r.name for r in lists if r.covers is not None and not r.covers >= shown)
    groups = ", ".join(GROUP_NAMES.get(group, f"group {group:#x}") for group in left)
    return (
        f"{groups} registers are compared only between lists that show them: {partial} "
        "(get-reg-list --list leaves DEMUX out; append --list-filtered's output to include it)."
    )


def _ids(register_list: RegisterList) -> Iterable[int]:
    return (kvm_id for registers in register_list.cpus.values() for kvm_id in registers)


# -- comparing ---------------------------------------------------------------------------------


def build_attempt(source: RegisterList, destination: RegisterList) -> Attempt:
    """The destination's view of the source's stream: extra, missing and matched per CPU."""
    accel = source.accel if source.accel is destination.accel else Accel.UNKNOWN
    attempt = Attempt(
        0,
        SOURCE,
        0,
        0,
        revision=next_revision(),
        closed=True,
        complete=True,
        from_streams=True,
        sources=[source.name, destination.name],
    )
    if accel is not Accel.UNKNOWN:
        attempt.accels[accel] = MessageKind.STREAM
    attempt.process = ProcessInfo(
        Origin.STREAM, LineRef(destination.name, 0, 0), machine=destination.machine
    )
    attempt.source_process = ProcessInfo(
        Origin.STREAM, LineRef(source.name, 0, 0), machine=source.machine
    )
    sources = source.for_cpus(set(destination.cpus) if destination.per_cpu else set())
    destinations = destination.for_cpus(set(source.cpus) if source.per_cpu else set())
    if common_cover((source, destination)) is not None:  # compare what both lists describe
        sources = _described(sources, destination)
        destinations = _described(destinations, source)
    for instance in sorted(sources.keys() | destinations.keys()):
        sent = sources.get(instance)
        kept = destinations.get(instance)
        cpu = CpuState(instance, from_section=True)
        cpu.stream_count = None if sent is None else len(sent)
        cpu.destination_count = None if kept is None else len(kept)
        sent, kept = sent or {}, kept or {}
        for kvm_id in sorted(sent.keys() | kept.keys()):
            if kvm_id not in kept:
                status = Status.EXTRA
            elif kvm_id not in sent:
                status = Status.MISSING
            else:
                status = Status.MATCHED
            # Line 0: no log line says it.
            cpu.note(kvm_id, status, MessageKind.STREAM, accel, format_id(kvm_id), SOURCE, 0, 0)
            if cpu.unlisted:  # past MAX_CPU_MENTIONS: counted, not listed
                continue
            cpu.values[kvm_id] = (sent.get(kvm_id), kept.get(kvm_id))
        if cpu.unlisted:
            attempt.past_the_mentions_cap(cpu, LineRef(SOURCE, 0, 0))
        attempt.cpus[instance] = cpu
    return attempt


def _described(
    cpus: dict[int, dict[int, int | None]], other: RegisterList
) -> dict[int, dict[int, int | None]]:
    return {
        instance: {k: v for k, v in registers.items() if other.describes(k)}
        for instance, registers in cpus.items()
    }


def notes(source: RegisterList, destination: RegisterList) -> list[str]:
    """What the report should say beside the registers: reading problems, configuration gaps."""
    found = source.problems + destination.problems
    if source.machine and destination.machine and source.machine != destination.machine:
        found.append(
            f"the machine types differ: {source.machine} in {source.name}, "
            f"{destination.machine} in {destination.name}; QEMU migrates only between equal ones."
        )
    covered = cover_note((source, destination))
    if covered is not None:
        found.append(covered)
    if source.per_cpu and destination.per_cpu and len(source.cpus) != len(destination.cpus):
        found.append(
            f"{source.name} has {len(source.cpus)} CPU(s), {destination.name} "
            f"{len(destination.cpus)}."
        )
    return found


def compare_files(source_path: str, destination_path: str) -> tuple[Attempt, list[str]]:
    """Load both sides and compare them: the attempt and the notes for the report."""
    source = load_register_list(source_path)
    destination = load_register_list(destination_path)
    return build_attempt(source, destination), notes(source, destination)
