"""The ``reginspect`` command: sub-commands for scripts, and the TUI by default."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Protocol, cast

from reginspect import __version__
from reginspect.errors import EXIT_USAGE, UserError

PROG = "reginspect"

# Sub-command name -> module defining ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
# Imported only when chosen, so ``report`` never pays for the TUI or for QEMU tooling.
COMMANDS: dict[str, str] = {
    "report": "reginspect.commands.report",
    "suggest": "reginspect.commands.suggest",
    "decode": "reginspect.commands.decode",
    "compare": "reginspect.commands.compare",
    "probe": "reginspect.commands.probe",
    "plan": "reginspect.commands.plan",
    "tui": "reginspect.commands.tui",
}

SUMMARIES: dict[str, str] = {
    "report": "summarise migration attempts of QEMU logs (text, JSON, Markdown)",
    "suggest": "print only the ready-to-paste fixes for a log",
    "decode": "turn register ids, QEMU keys, KVM text forms or names into each other",
    "compare": "compare two saved migration streams or register lists",
    "probe": "ask a QEMU configuration for its register list (pre-flight check)",
    "plan": "which host configurations migrate to which, and the one fix for the set",
    "tui": "open the live TUI on logs (the default: `reginspect LOG...`)",
}


class Command(Protocol):
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> Command:
    module: ModuleType = importlib.import_module(COMMANDS[name])
    return cast(Command, module)


def _top_parser() -> argparse.ArgumentParser:
    epilog = "sub-commands:\n" + "\n".join(
        f"  {name:<9} {summary}" for name, summary in SUMMARIES.items()
    )
    epilog += "\n\n`reginspect LOG...` is `reginspect tui LOG...`. Exit status: 0 nothing wrong, "
    epilog += "1 differences or failures found, 2 usage or input error."
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Name the CPU registers that break Arm live migration, and suggest the fix.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("command", nargs="?", help="a sub-command, or a log file to open")
    return parser


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal's width: its own way imports shutil (and with
    it three compression modules) for every command, help or not."""

    def __init__(self, prog: str) -> None:
        try:
            columns = os.get_terminal_size().columns
        except OSError:
            columns = 80
        super().__init__(prog, width=max(columns - 2, 40))


def _run_command(name: str, argv: Sequence[str]) -> int:
    command = _load(name)
    parser = argparse.ArgumentParser(
        prog=f"{PROG} {name}",
        description=command.HELP,
        formatter_class=_Formatter,
        allow_abbrev=False,  # --form is not --format
    )
    command.add_arguments(parser)
    args = parser.parse_args(list(argv))
    return command.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in COMMANDS:
            return _run_command(arguments[0], arguments[1:])
        if not arguments or arguments[0] in {"-h", "--help", "--version"}:
            _top_parser().parse_args(arguments)
            _top_parser().print_help()
            return EXIT_USAGE
        return _run_command("tui", arguments)
    except UserError as error:
        print(f"{PROG}: {error.message}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`reginspect report big.log | head`): not an error of ours.
        sys.stderr.close()
        return 0
