"""`reginspect probe -- QEMU-COMMAND-LINE...`: the register list of a QEMU configuration."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from parsers.catalogue import describe
from parsers.regids import Accel, RegisterIdError, format_id
from reginspect.errors import EXIT_OK, UserError
from reginspect.probe import probe
from reginspect.textsafe import printable

HELP = (
    "Start a QEMU configuration paused with a private QMP socket, save its migration stream, "
    "quit it, and print its CPU register list (names, ids, values). Probe the source's and the "
    "destination's configurations, then `reginspect compare` the two --json outputs before any "
    "guest is at risk. Example: reginspect probe --json -- qemu-system-aarch64 -M virt -cpu max "
    "-nodefaults -display none"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the register list as JSON")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the QEMU command line")


def register_list(contents: Any) -> list[dict[str, Any]]:
    """The register-list JSON `compare` reads: one object per register and CPU."""
    items: list[dict[str, Any]] = []
    for cpu in contents.cpus:
        for kvm_id, value in zip(cpu.indexes, cpu.values, strict=True):
            try:
                name = describe(kvm_id, Accel.TCG).name
            except RegisterIdError:
                name = format_id(kvm_id)
            items.append(
                {
                    "cpu": cpu.instance,
                    "id": format_id(kvm_id),
                    "name": name,
                    "value": f"0x{value:x}",
                }
            )
    return items


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UserError("probe: give the QEMU command line after --.")
    result = probe(command, timeout=args.timeout)
    items = register_list(result.contents)
    if args.json:
        sys.stdout.write(json.dumps(items, indent=1) + "\n")
        return EXIT_OK
    cpus = len(result.contents.cpus)
    print(
        printable(
            f"{len(items) // max(cpus, 1)} registers per CPU, {cpus} CPU(s), machine "
            f"{result.contents.machine or '?'} ({result.seconds:.1f} s)"
        )
    )
    for item in items:
        if item["cpu"] == result.contents.cpus[0].instance:
            print(printable(f"{item['id']}  {item['name']:<28} {item['value']}"))
    return EXIT_OK
