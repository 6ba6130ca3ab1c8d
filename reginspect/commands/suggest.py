"""`reginspect suggest LOG...`: only the ready-to-paste fixes for the attempts of the logs."""

from __future__ import annotations

import argparse
import sys

from reginspect.commands.report import add_fix_arguments, load_attempts, suggestions_from_args
from reginspect.textsafe import printable

HELP = (
    "Print only the ready-to-paste fixes for the migration failures in QEMU logs: one aggregated "
    "value per x-mig property and side (merged with --have and with values the log shows), "
    "then remedies that work on stock QEMU."
)
FORMS = {"command-line": "command_line", "libvirt": "libvirt", "compat": "compat"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", metavar="LOG", help="log files; - reads stdin")
    parser.add_argument(
        "--form", choices=tuple(FORMS), default="command-line", help="which form to print"
    )
    add_fix_arguments(parser)


def run(args: argparse.Namespace) -> int:
    _, attempts, _ = load_attempts(args.logs)
    suggestions = suggestions_from_args(attempts, args)
    form = FORMS[args.form]
    printed = 0
    for suggestion in suggestions:
        text = suggestion.forms.get(form)
        if not text:
            continue
        sys.stdout.write(f"# {printable(suggestion.reason)}\n{printable(text)}\n")
        printed += 1
    if printed == 0:
        sys.stdout.write(f"# nothing to paste in the {args.form} form for these logs\n")
    return 1 if suggestions else 0
