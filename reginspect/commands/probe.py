"""`reginspect probe -- QEMU-COMMAND-LINE...`: the register list of a QEMU configuration."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from parsers.catalogue import describe
from parsers.regids import Accel, RegisterIdError, format_id
from parsers.stream import StreamContents
from reginspect.commands.decode import info_json
from reginspect.errors import EXIT_OK
from reginspect.probe import probe
from reginspect.streams import ListKind, RegisterList
from reginspect.textsafe import printable

HELP = (
    "Start a QEMU configuration paused with a private QMP socket, save its migration stream, "
    "quit it, and print its CPU register list (names, ids, values). Probe the source's and the "
    "destination's configurations, then `reginspect compare` the two --json outputs before any "
    "guest is at risk. Options go before --, the QEMU command line after it. Example: "
    "reginspect probe --json -- qemu-system-aarch64 -M virt -cpu max -nodefaults -display none"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the register list as JSON (compare reads it)"
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="seconds to wait (default 60)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the QEMU command line")


def _accel(contents: StreamContents) -> Accel:
    """TCG or KVM, as the ids tell (the two name a few timer ids differently)."""
    cpus: dict[int, dict[int, int | None]] = {
        cpu.instance: dict.fromkeys(cpu.indexes) for cpu in contents.cpus
    }
    return RegisterList("probe", ListKind.STREAM, cpus).accel


def register_list(contents: StreamContents) -> list[dict[str, Any]]:
    """The register-list JSON `compare` reads: `decode --json` objects plus "cpu" and "value"."""
    accel = _accel(contents)
    items: list[dict[str, Any]] = []
    for cpu in contents.cpus:
        for kvm_id, value in zip(cpu.indexes, cpu.values, strict=True):
            try:
                item = info_json(describe(kvm_id, accel), format_id(kvm_id))
            except RegisterIdError:  # no register QEMU writes; kept so nothing is hidden
                item = {"id": format_id(kvm_id), "name": format_id(kvm_id), "known": False}
            item.pop("input", None)
            items.append({"cpu": cpu.instance, **item, "value": f"0x{value:x}"})
    return items


def text_lines(items: list[dict[str, Any]], header: str) -> list[str]:
    cpus = sorted({item["cpu"] for item in items})
    width = max((len(item["name"]) for item in items), default=0)
    lines = [header]
    for cpu in cpus:
        mine = [item for item in items if item["cpu"] == cpu]
        if len(cpus) > 1:
            lines.append(f"cpu {cpu}: {len(mine)} registers")
        lines.extend(f"  {item['id']}  {item['name']:<{width}}  {item['value']}" for item in mine)
    return [printable(line) for line in lines]


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    result = probe(command, timeout=args.timeout)
    for problem in result.contents.problems:  # fatal ones were errors already
        print(f"reginspect: note: {printable(problem.message)}", file=sys.stderr)
    items = register_list(result.contents)
    if args.json:
        sys.stdout.write(json.dumps(items, indent=1) + "\n")
        return EXIT_OK
    counts = sorted(
        {sum(1 for item in items if item["cpu"] == c.instance) for c in result.contents.cpus}
    )
    header = (
        f"QEMU {result.qemu_version}, machine {result.contents.machine or '?'}: "
        f"{len(result.contents.cpus)} CPU(s), {'/'.join(map(str, counts))} registers each "
        f"(stream saved and read in {result.seconds:.1f} s)"
    )
    sys.stdout.write("\n".join(text_lines(items, header)) + "\n")
    return EXIT_OK
