"""`reginspect LOG...` / `reginspect tui LOG...`: the live TUI (Textual is imported only here)."""

from __future__ import annotations

import argparse

from reginspect.commands.report import add_fix_arguments, add_log_arguments

HELP = (
    "Open the live TUI: follow QEMU logs as they grow and show, per migration attempt and CPU, "
    "the missing, extra and matched registers with names, the raw lines, and the fixes. "
    "A log that does not exist yet is waited for; - follows a pipe."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_arguments(parser, "log files to follow; - for stdin")
    parser.add_argument(
        "--poll", action="store_true", help="poll the files instead of filesystem events"
    )
    add_fix_arguments(parser)


def run(args: argparse.Namespace) -> int:
    # The single place where the core reaches up into the TUI layer, lazily (see pyproject).
    from tui.app import run_app

    return run_app(args)
