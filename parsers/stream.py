"""QEMU migration streams (format version 3): the register lists of each Arm vCPU.

Sans-I/O: ``parse_stream(buffer)`` reads a buffer it is handed (``bytes``, ``bytearray``,
``memoryview`` or an ``mmap``): the caller maps or reads the file, decompresses it if needed, and
does every other I/O. A buffer rather than ``feed()`` because the JSON description that says how
to skip each device sits at the *end* of the file, and is needed before the first device section.

The parser never raises on its input: every way a stream can be foreign, cut, damaged or of a kind
this module does not read becomes a ``StreamProblem`` with one sentence naming the byte offset.
The format facts relied on are in ``docs/stream-format.md``; QEMU's ``migration/savevm.c``,
``migration/vmstate.c``, ``migration/ram.c`` and ``scripts/analyze-migration.py`` are the sources.
"""

from __future__ import annotations

import functools
import itertools
import json
import mmap
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

Buffer = bytes | bytearray | memoryview | mmap.mmap

MAGIC: Final = 0x5145564D  # "QEVM"
VERSION: Final = 3
VERSION_COMPAT: Final = 2

# Record types (migration/savevm.h).
EOF: Final = 0x00
SECTION_START: Final = 0x01
SECTION_PART: Final = 0x02
SECTION_END: Final = 0x03
SECTION_FULL: Final = 0x04
SUBSECTION: Final = 0x05
VMDESCRIPTION: Final = 0x06
CONFIGURATION: Final = 0x07
COMMAND: Final = 0x08
SECTION_FOOTER: Final = 0x7E

# RAM record flags (migration/ram.h), in the bits below the target page size.
RAM_ZERO: Final = 0x002
RAM_MEM_SIZE: Final = 0x004
RAM_PAGE: Final = 0x008
RAM_EOS: Final = 0x010
RAM_CONTINUE: Final = 0x020
RAM_XBZRLE: Final = 0x040
RAM_HOOK: Final = 0x080
RAM_MULTIFD_FLUSH: Final = 0x200

# MIG_CMD_* (migration/savevm.c) that mean postcopy: the device state then travels inside a
# PACKAGED command, in a layout this module does not follow.
_POSTCOPY_COMMANDS: Final = {3: "POSTCOPY_ADVISE", 7: "PACKAGED"}

# The description is a few tens of KB; refuse to look further back for it than this.
MAX_DESCRIPTION: Final = 64 << 20
_MAX_DEPTH: Final = 64  # subsection nesting in a description (QEMU uses 2 or 3)
_CPREG_COUNT: Final = "cpreg_vmstate_array_len"
_CPREG_INDEXES: Final = "cpreg_vmstate_indexes"
_CPREG_VALUES: Final = "cpreg_vmstate_values"
_UNSUPPORTED_CAPABILITIES: Final = ("mapped-ram", "x-ignore-shared")
_BE64: Final = struct.Struct(">Q")
_CONTROL: Final = tuple(bytes([byte]) for byte in range(0x20))
_BE16: Final = struct.Struct(">H")
_BE32: Final = struct.Struct(">I")
_RUN: Final = 4096  # records checked at once when skipping a run of RAM records


@dataclass(frozen=True, slots=True)
class CpuRegisters:
    """One ``cpu`` section: the register ids (``cpreg_vmstate_indexes``) and their values."""

    instance: int
    indexes: tuple[int, ...]
    values: tuple[int, ...]
    offset: int  # where the section starts in the stream


@dataclass(frozen=True, slots=True)
class StreamProblem:
    offset: int
    message: str  # one sentence naming the offset
    fatal: bool = True  # the register lists cannot be trusted (or were not reached)


@dataclass(frozen=True, slots=True)
class StreamContents:
    size: int
    machine: str | None
    page_size: int | None
    capabilities: tuple[str, ...]
    cpus: tuple[CpuRegisters, ...]
    problems: tuple[StreamProblem, ...]

    @property
    def error(self) -> StreamProblem | None:
        """The first fatal problem, or None when the whole stream was read."""
        return next((problem for problem in self.problems if problem.fatal), None)


@functools.cache
def _match_table(part: int, want: int) -> bytes:
    """A translation table: 0 for the bytes whose ``part`` bits equal ``want``, else 1."""
    return bytes(0 if byte & part == want else 1 for byte in range(256))


def at(offset: int) -> str:
    return f"offset {offset} (0x{offset:x})"


def shown(name: str, limit: int = 64) -> str:
    """A name read from the stream, quoted for a one-line message: control and non-ASCII
    characters escaped, long names cut."""
    text = "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in name[:limit])
    return f"'{text}'" + ("…" if len(name) > limit else "")


def looks_like_stream(head: bytes) -> bool:
    """Whether a file's first bytes are a QEMU migration stream's magic."""
    return len(head) >= 4 and int.from_bytes(head[:4], "big") == MAGIC


def parse_stream(data: Buffer) -> StreamContents:
    """Read a whole migration stream; never raises on any content of ``data``."""
    parser = _Parser(data)
    try:
        parser.run()
    except _Stop as stop:
        parser.problems.append(StreamProblem(stop.offset, stop.message, True))
    return StreamContents(
        size=parser.size,
        machine=parser.machine,
        page_size=parser.page_size,
        capabilities=tuple(parser.capabilities),
        cpus=tuple(parser.cpus),
        problems=tuple(parser.problems),
    )


# -- the description -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    type: str
    size: int  # bytes written for one element (for the first one of a compressed array)
    count: int  # elements: array_len, or 1


@dataclass(frozen=True, slots=True)
class _Vmsd:
    name: str
    fields: tuple[_Field, ...]
    subsections: tuple[_Vmsd, ...]


@dataclass(frozen=True, slots=True)
class _Description:
    page_size: int | None
    configuration: _Vmsd | None
    devices: tuple[tuple[str, int, _Vmsd], ...]


class _BadDescription(Exception):
    pass


def _int(value: Any, what: str) -> int:
    # JSON true/false are ints to Python; a size of true is a damaged description.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _BadDescription(what)
    return value


def _vmsd(entry: Any, name: str, depth: int) -> _Vmsd:
    if not isinstance(entry, dict) or depth > _MAX_DEPTH:
        raise _BadDescription(name)
    raw_fields = entry.get("fields", [])
    raw_subsections = entry.get("subsections", [])
    if not isinstance(raw_fields, list) or not isinstance(raw_subsections, list):
        raise _BadDescription(name)
    fields = []
    for raw in raw_fields:
        if not isinstance(raw, dict):
            raise _BadDescription(name)
        field_name, kind = raw.get("name"), raw.get("type")
        if not isinstance(field_name, str) or not isinstance(kind, str):
            raise _BadDescription(name)
        size = _int(raw.get("size"), name)
        count = _int(raw.get("array_len", 1), name)
        fields.append(_Field(field_name, kind, size, count))
    subsections = []
    for raw in raw_subsections:
        sub_name = raw.get("vmsd_name") if isinstance(raw, dict) else None
        if not isinstance(sub_name, str):
            raise _BadDescription(name)
        subsections.append(_vmsd(raw, sub_name, depth + 1))
    return _Vmsd(name, tuple(fields), tuple(subsections))


def _description(text: bytes) -> _Description | None:
    """The typed description, or None when the JSON is not one QEMU wrote."""
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(tree, dict) or not isinstance(tree.get("devices"), list):
        return None
    try:
        page_size = tree.get("page_size")
        if page_size is not None:
            page_size = _int(page_size, "page_size")
        configuration = tree.get("configuration")
        config = None if configuration is None else _vmsd(configuration, "configuration", 0)
        devices = []
        for device in tree["devices"]:
            if not isinstance(device, dict) or not isinstance(device.get("name"), str):
                return None
            name = device["name"]
            devices.append((name, _int(device.get("instance_id"), name), _vmsd(device, name, 0)))
    except (_BadDescription, RecursionError):
        return None
    return _Description(page_size, config, tuple(devices))


def _find_description(data: Buffer, size: int) -> int | None:
    """Offset of the VMDESCRIPTION byte (0x06) when the file ends with a description.

    QEMU escapes control characters in its JSON, so the last byte below 0x20 in the file is the
    marker or one of the four length bytes after it (the length's own bytes may be 0x06 too).
    """
    chunk = 1 << 20
    end = size
    while end > 0 and size - end < MAX_DESCRIPTION + 5:
        start = max(0, end - chunk)
        piece = bytes(data[start:end])
        found = max(piece.rfind(_CONTROL[byte]) for byte in range(0x20))
        if found >= 0:
            last = start + found
            for marker in range(max(0, last - 4), last + 1):
                if data[marker] != VMDESCRIPTION or marker + 5 >= size:
                    continue
                length = int.from_bytes(data[marker + 1 : marker + 5], "big")
                if data[marker + 5] == ord("{") and marker + 5 + length == size:
                    return marker
            return None
        end = start
    return None


# -- the walk --------------------------------------------------------------------------------


class _Stop(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass(slots=True)
class _Section:
    section_id: int
    name: str
    instance: int
    offset: int


class _Parser:
    def __init__(self, data: Buffer) -> None:
        self.data = data
        self.size = len(data)
        self.end = self.size  # the walk stops before the description
        self.pos = 0
        self.section: _Section | None = None  # for "runs past the end" messages
        self.description: _Description | None = None
        self.machine: str | None = None
        self.page_size: int | None = None
        self.page_bits: int | None = None
        self.capabilities: list[str] = []
        self.cpus: list[CpuRegisters] = []
        self.problems: list[StreamProblem] = []
        self.footers: bool | None = None  # whether this stream writes section footers

    # -- primitives ---------------------------------------------------------------------------

    def need(self, count: int) -> None:
        if self.pos + count <= self.end:
            return
        # Before a description the data was walked wrongly (damage); at the file's end, it is cut.
        damaged = self.end < self.size
        limit = "the description that follows" if damaged else "the end of the file"
        verdict = "damaged" if damaged else "truncated"
        what = "the stream"
        if self.section is not None:
            section = self.section
            what = (
                f"section {shown(section.name)} (id {section.section_id}, instance "
                f"{section.instance}, at {at(section.offset)})"
            )
        raise _Stop(
            self.pos, f"{what} runs past {limit} at {at(self.end)}: the stream is {verdict}."
        )

    def u8(self) -> int:
        self.need(1)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def _big_endian(self, layout: struct.Struct) -> int:
        self.need(layout.size)
        value: int = layout.unpack_from(self.data, self.pos)[0]
        self.pos += layout.size
        return value

    def be16(self) -> int:
        return self._big_endian(_BE16)

    def be32(self) -> int:
        return self._big_endian(_BE32)

    def be64(self) -> int:
        return self._big_endian(_BE64)

    def raw(self, count: int) -> bytes:
        self.need(count)
        value = bytes(self.data[self.pos : self.pos + count])
        self.pos += count
        return value

    def skip(self, count: int) -> None:
        self.need(count)
        self.pos += count

    def name8(self) -> str:
        """A string with a one-byte length (section and RAM block names)."""
        return self.raw(self.u8()).decode("utf-8", "replace")

    # -- the stream ---------------------------------------------------------------------------

    def run(self) -> None:
        if self.size == 0:
            raise _Stop(0, "the file is empty (nothing at offset 0): not a QEMU migration stream.")
        if self.size < 4 or not looks_like_stream(bytes(self.data[:4])):
            raise _Stop(0, f'not a QEMU migration stream: no "QEVM" magic at {at(0)}.')
        self.pos = 4
        version = self.be32()
        if version == VERSION_COMPAT:
            raise _Stop(
                4,
                f"migration stream version 2 at {at(4)} is the obsolete format QEMU itself "
                "no longer loads; only version 3 is read.",
            )
        if version != VERSION:
            raise _Stop(4, f"unknown migration stream version {version} at {at(4)}.")
        marker = _find_description(self.data, self.size)
        if marker is not None:
            self.description = _description(bytes(self.data[marker + 5 : self.size]))
            if self.description is None:
                raise _Stop(
                    marker + 5,
                    f"the description at {at(marker + 5)} is not the JSON QEMU writes: the "
                    "stream is damaged.",
                )
            self.end = marker
            self.page_size = self.description.page_size
        self.walk()
        if self.description is None:
            raise self.no_description()
        if self.pos != self.end:
            self.problems.append(
                StreamProblem(
                    self.pos,
                    f"{self.end - self.pos} unexpected bytes between the end of the stream at "
                    f"{at(self.pos)} and its description at {at(self.end)}.",
                    False,
                )
            )

    def no_description(self) -> _Stop:
        return _Stop(
            self.size,
            f"no device description at the end of the file, {at(self.size)}: the stream was "
            "cut short or saved without one, and device sections cannot be read without it.",
        )

    def walk(self) -> None:
        devices: dict[tuple[str, int], deque[_Vmsd]] = {}
        if self.description is not None:
            for name, instance, vmsd in self.description.devices:
                devices.setdefault((name, instance), deque()).append(vmsd)
        iterative: dict[int, _Section] = {}
        while True:
            start = self.pos
            kind = self.u8()
            if kind == EOF:
                return
            if kind == CONFIGURATION:
                self.configuration(start)
            elif kind in (SECTION_START, SECTION_FULL):
                section = _Section(self.be32(), "", 0, start)
                self.section = section
                section.name = self.name8()
                section.instance = self.be32()
                version = self.be32()
                if kind == SECTION_START:
                    self.iterative_start(section, version)
                    iterative[section.section_id] = section
                else:
                    self.device(section, devices)
                self.footer(section)
            elif kind in (SECTION_PART, SECTION_END):
                section_id = self.be32()
                known = iterative.get(section_id)
                if known is None:
                    raise _Stop(
                        start,
                        f"a section continues at {at(start)} with id {section_id}, which no "
                        "section started: the stream is damaged.",
                    )
                section = _Section(section_id, known.name, known.instance, start)
                self.section = section
                self.ram()
                self.footer(section)
            elif kind == COMMAND:
                command, length = self.be16(), self.be16()
                if command in _POSTCOPY_COMMANDS:
                    raise _Stop(
                        start,
                        f"the command {_POSTCOPY_COMMANDS[command]} at {at(start)} marks a "
                        "postcopy stream, which is not supported: save the stream with a plain "
                        "migrate.",
                    )
                self.skip(length)
            else:
                raise _Stop(
                    start,
                    f"unexpected record type 0x{kind:02x} at {at(start)}: the stream is damaged "
                    "or does not match its description.",
                )
            self.section = None

    def footer(self, section: _Section) -> None:
        """Check the footer QEMU writes after each section (machine types since 2.5)."""
        if self.pos < self.end and self.data[self.pos] == SECTION_FOOTER:
            start = self.pos
            self.pos += 1
            found = self.be32()
            if found != section.section_id:
                raise _Stop(
                    start,
                    f"the footer at {at(start)} closes section id {found}, but section "
                    f"{shown(section.name)} (id {section.section_id}) began at "
                    f"{at(section.offset)}: the stream is damaged or does not match its "
                    "description.",
                )
            if self.footers is False:
                raise _Stop(start, f"a section footer at {at(start)} in a stream without them.")
            self.footers = True
        elif self.footers:
            raise _Stop(
                self.pos,
                f"section {shown(section.name)} (id {section.section_id}, at "
                f"{at(section.offset)}) has no footer at {at(self.pos)}: the stream is damaged "
                "or does not match its description.",
            )
        else:
            self.footers = False

    # -- configuration ------------------------------------------------------------------------

    def configuration(self, start: int) -> None:
        """The machine type, then optional subsections (page bits, capabilities, uuid).

        Parsed by its known layout rather than the description: QEMU before 9.x (7.2 here)
        writes no description of it.
        """
        length = self.be32()
        self.machine = self.raw(length).decode("utf-8", "replace")
        known = {}
        if self.description is not None and self.description.configuration is not None:
            known = {sub.name: sub for sub in self.description.configuration.subsections}
        while self.pos < self.end and self.data[self.pos] == SUBSECTION:
            sub_start = self.pos
            self.pos += 1
            name = self.name8()
            self.be32()  # the subsection's version
            if name == "configuration/target-page-bits":
                self.page_bits = self.be32()
            elif name == "configuration/capabilities":
                for _ in range(self.be32()):
                    self.capabilities.append(self.name8())
            elif name == "configuration/uuid":
                self.skip(16)
            elif name in known:
                self.fields(known[name], None)
            else:
                raise _Stop(
                    sub_start,
                    f"unknown configuration subsection {shown(name)} at {at(sub_start)}.",
                )
        for capability in _UNSUPPORTED_CAPABILITIES:
            if capability in self.capabilities:
                raise _Stop(
                    start,
                    f"the stream was saved with the {capability} capability (configuration at "
                    f"{at(start)}), whose RAM layout is not supported: save it without "
                    f"{capability}.",
                )
        if self.page_size is None and self.page_bits is not None and self.page_bits < 31:
            self.page_size = 1 << self.page_bits

    # -- RAM ----------------------------------------------------------------------------------

    def iterative_start(self, section: _Section, version: int) -> None:
        if section.name != "ram":
            raise _Stop(
                section.offset,
                f"the iterative section {shown(section.name)} at {at(section.offset)} is not "
                "supported (only 'ram' is).",
            )
        if version != 4:
            raise _Stop(
                section.offset,
                f"RAM section version {version} at {at(section.offset)} is not supported "
                "(only version 4 is).",
            )
        self.ram()

    def ram(self) -> None:
        """Records of ``be64 address | flags`` until the end-of-section flag (ram_load_precopy)."""
        page = self.page_size
        if page is None:
            if self.description is None:
                raise self.no_description()
            raise _Stop(self.pos, f"the target page size of the RAM at {at(self.pos)} is unknown.")
        if page < 1024 or page & (page - 1):
            raise _Stop(self.pos, f"the page size {page} of the RAM at {at(self.pos)} is invalid.")
        mask = page - 1
        # A 128 MB guest is ~33,000 records, mostly runs of zero pages: runs are skipped whole.
        data, end, unpack = self.data, self.end, _BE64.unpack_from
        while True:
            start = self.pos
            if start + 8 > end:
                self.need(8)
            word: int = unpack(data, start)[0]
            flags = word & mask
            if flags == RAM_ZERO | RAM_CONTINUE and start + 9 <= end:
                self.pos = self.run_of(start, 9, flags, mask)
                continue
            if flags == RAM_PAGE | RAM_CONTINUE and start + 8 + page <= end:
                self.pos = self.run_of(start, 8 + page, flags, mask)
                continue
            self.pos = start + 8
            kind = flags & ~RAM_CONTINUE
            if kind == RAM_EOS:
                return
            if kind == RAM_MEM_SIZE:
                self.ram_blocks(start, word & ~mask)
            elif kind == RAM_ZERO:
                if not flags & RAM_CONTINUE:
                    self.name8()
                self.skip(1)
            elif kind == RAM_PAGE:
                if not flags & RAM_CONTINUE:
                    self.name8()
                self.skip(page)
            elif kind == RAM_MULTIFD_FLUSH:
                continue
            elif kind in (RAM_XBZRLE, RAM_HOOK):
                what = "XBZRLE-compressed pages" if kind == RAM_XBZRLE else "RDMA hooks"
                raise _Stop(start, f"the RAM at {at(start)} uses {what}, which are not supported.")
            else:
                raise _Stop(
                    start,
                    f"unknown RAM record flags 0x{flags:x} at {at(start)}: the stream is damaged.",
                )

    def run_of(self, start: int, stride: int, flags: int, mask: int) -> int:
        """The end of the run of records of ``stride`` bytes from ``start`` (whose first record
        has these ``flags``) that all have exactly these flags.

        The flag bits sit in the last bytes of each record's be64 word: each such byte column is
        sliced out with a step of ``stride`` and checked in C through a translation table.
        """
        count = min(_RUN, (self.end - start) // stride)
        shift, column = 0, 7
        while count > 1 and mask >> shift:
            table = _match_table((mask >> shift) & 0xFF, (flags >> shift) & 0xFF)
            first = start + column
            bits = bytes(self.data[first : first + stride * count : stride])
            count = len(bits) - len(bits.translate(table).lstrip(b"\0"))
            shift, column = shift + 8, column - 1
        return start + stride * max(count, 1)

    def ram_blocks(self, start: int, total: int) -> None:
        """The block list: name and length of each block until the lengths cover ``total``."""
        while total > 0:
            self.name8()
            length = self.be64()
            if length > total:
                raise _Stop(
                    start,
                    f"the RAM block list at {at(start)} does not add up to its total size: the "
                    "stream is damaged.",
                )
            total -= length

    # -- devices ------------------------------------------------------------------------------

    def device(self, section: _Section, devices: dict[tuple[str, int], deque[_Vmsd]]) -> None:
        if self.description is None:
            raise self.no_description()
        queue = devices.get((section.name, section.instance))
        if not queue:
            raise _Stop(
                section.offset,
                f"section {shown(section.name)} instance {section.instance} at "
                f"{at(section.offset)} is not in the stream's description: the stream is damaged.",
            )
        vmsd = queue.popleft()
        if section.name != "cpu":
            self.fields(vmsd, None)
            return
        seen: dict[str, tuple[int, _Field]] = {}
        self.fields(vmsd, seen)
        self.cpu(section, seen)

    def fields(self, vmsd: _Vmsd, seen: dict[str, tuple[int, _Field]] | None) -> None:
        """Skip a vmstate by its description: fields by their written sizes, then subsections."""
        for field in vmsd.fields:
            if seen is not None and field.name not in seen:
                seen[field.name] = (self.pos, field)
            if field.type == "capability":
                # A compressed array of strings of different lengths: the size is the first's.
                for _ in range(field.count):
                    self.name8()
            else:
                self.skip(field.size * field.count)
        for sub in vmsd.subsections:
            start = self.pos
            if self.u8() != SUBSECTION or self.name8() != sub.name:
                raise _Stop(
                    start,
                    f"subsection {shown(sub.name)} expected at {at(start)} is not there: the "
                    "stream is damaged or does not match its description.",
                )
            self.be32()
            self.fields(sub, None)

    def cpu(self, section: _Section, seen: dict[str, tuple[int, _Field]]) -> None:
        count_at = seen.get(_CPREG_COUNT)
        if count_at is None or count_at[1].size != 4:
            self.problems.append(
                StreamProblem(
                    section.offset,
                    f"the cpu section at {at(section.offset)} (instance {section.instance}) "
                    "carries no register list: not an Arm CPU.",
                    False,
                )
            )
            return
        count: int = struct.unpack_from(">i", self.data, count_at[0])[0]
        lists: list[tuple[int, ...]] = []
        for name in (_CPREG_INDEXES, _CPREG_VALUES):
            found = seen.get(name)
            # QEMU describes an array of one without array_len, and of none not at all.
            listed = 0 if found is None else found[1].count
            if listed != count or (found is not None and found[1].size != 8):
                raise _Stop(
                    section.offset,
                    f"the cpu section at {at(section.offset)} says {count} registers, but its "
                    f"description lists {listed} {name}: the stream is damaged.",
                )
            lists.append(
                () if found is None else struct.unpack_from(f">{count}Q", self.data, found[0])
            )
        indexes, values = lists
        if any(b <= a for a, b in itertools.pairwise(indexes)):
            self.problems.append(
                StreamProblem(
                    section.offset,
                    f"the register ids of cpu {section.instance} (section at "
                    f"{at(section.offset)}) are not in ascending order, as QEMU writes them.",
                    False,
                )
            )
        if any(cpu.instance == section.instance for cpu in self.cpus):
            self.problems.append(
                StreamProblem(
                    section.offset,
                    f"cpu {section.instance} appears twice (again at {at(section.offset)}); "
                    "the first is used.",
                    False,
                )
            )
            return
        self.cpus.append(CpuRegisters(section.instance, indexes, values, section.offset))
