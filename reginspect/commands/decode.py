"""`reginspect decode ARG...`: register ids, QEMU keys, KVM text forms and names, both ways."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from typing import Any

from parsers.catalogue import RegisterInfo, describe, lookup_name
from parsers.regforms import describe_references, parse_reference
from parsers.regids import Accel, RegisterIdError, format_id
from reginspect.errors import EXIT_OK, EXIT_USAGE
from reginspect.textsafe import printable

HELP = (
    "Decode Arm CPU registers: a 64-bit KVM id (0x603000000013c103), QEMU's key "
    "('system register 0x1013c103'), a KVM text form ('op0:3 op1:0 crn:2 crm:0 op2:3', "
    "'fw feat reg 3'), or a name (tcr2_el1). '-' reads free text from stdin and decodes every "
    "register reference in it. Exit status 2 when an argument is not an Arm register."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "registers", nargs="+", metavar="ARG", help="ids, keys, text forms, names, or -"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list (a register list)")
    parser.add_argument(
        "--accel",
        choices=[accel.value for accel in Accel],
        default=None,
        help="name by this accelerator (KVM's timer ids differ); default: what the form implies",
    )


def info_json(info: RegisterInfo, given: str) -> dict[str, Any]:
    return {
        "id": format_id(info.kvm_id),
        "name": info.name,
        "aliases": list(info.aliases),
        "kind": info.kind,
        "encoding": info.encoding,
        "fields": dict(info.fields),
        "known": info.known,
        "qemu_key": None if info.qemu_key is None else f"0x{info.qemu_key:x}",
        "note": info.note,
        "input": given,
    }


def info_text(info: RegisterInfo) -> str:
    lines = [
        f"{format_id(info.kvm_id)}  {info.name}"
        + ("" if info.known else "  (not in the catalogue)")
    ]
    if info.aliases:
        lines.append(f"  also: {', '.join(info.aliases)}")
    lines.append(f"  kind: {info.kind}   encoding: {info.encoding}")
    if info.qemu_key is not None:
        lines.append(f"  QEMU key: 0x{info.qemu_key:x}")
    if info.note:
        lines.append(f"  note: {info.note}")
    return printable("\n".join(lines))  # printable() leaves newlines alone


def _text(results: list[tuple[str, RegisterInfo]]) -> str:
    """``info_text`` of every result, each description formatted once: a log names the same
    registers again and again. Keyed by identity (a RegisterInfo hashes all its fields, in
    Python): the results keep every description alive, so no id is reused, and
    describe_references hands out one per register."""
    texts: dict[int, str] = {}
    chunks: list[str] = []
    for _, info in results:
        text = texts.get(id(info))
        if text is None:
            text = texts[id(info)] = info_text(info) + "\n"
        chunks.append(text)
    return "".join(chunks)


def _json_list(results: list[tuple[str, RegisterInfo]]) -> str:
    """``json.dumps([info_json(info, given)...], indent=2)``, each description encoded once
    (as in ``_text``): json's indenting encoder is pure Python, slow on a large log's list."""
    if not results:
        return "[]"
    heads: dict[int, str] = {}
    items: list[str] = []
    for given, info in results:
        head = heads.get(id(info))
        if head is None:
            # The item one level in, up to its last key ("input"). JSON strings hold no raw
            # newline: indenting is two spaces after each newline.
            item = "  " + json.dumps(info_json(info, ""), indent=2).replace("\n", "\n  ")
            head = heads[id(info)] = item[: item.rindex('"input": ')]
        items.append(f'{head}"input": {json.dumps(given)}\n  }}')
    return "[\n" + ",\n".join(items) + "\n]"


def _decode_argument(text: str, accel: Accel | None) -> list[RegisterInfo]:
    """One argument to the register(s) it means; a name may mean several."""
    try:
        ref = parse_reference(text)
    except RegisterIdError:
        ids = lookup_name(text)
        if not ids:
            raise
        return [describe(kvm_id, accel or Accel.UNKNOWN) for kvm_id in ids]
    return [describe(ref.kvm_id, accel or ref.accel)]


def run(args: argparse.Namespace) -> int:
    # What decoding keeps (hits, descriptions, output lines) is acyclic and, for a large log,
    # hundreds of thousands of objects: full collections would walk them again and again and find
    # nothing (a fifth of the time of `decode -`). Reference counting still frees everything.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if enabled:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    accel = Accel(args.accel) if args.accel else None
    results: list[tuple[str, RegisterInfo]] = []
    status = EXIT_OK
    for argument in args.registers:
        if argument == "-":
            text = sys.stdin.read()
            results.extend((ref.text, info) for _, _, ref, info in describe_references(text, accel))
            continue
        try:
            results.extend((argument, info) for info in _decode_argument(argument, accel))
        except RegisterIdError as error:
            print(f"reginspect: decode: {printable(str(error))}", file=sys.stderr)
            status = EXIT_USAGE
    sys.stdout.write(_json_list(results) + "\n" if args.json else _text(results))
    return status
